"""The real ``pmfbot web`` (gunicorn) as a subprocess on loopback, against the fake Slack Web API:
the e2e tests' one way to start it. On PostgreSQL a ``pmfbot worker`` runs beside it, as the
Procfile deploys them: web only stores the job and acks, the worker runs it (SPEC §11)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import pytest

from tests.fakes.harness import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET
from tests.fakes.processes import free_port, stop_process_group
from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def web_process(db_url: str, fake_slack: FakeSlack, session_factory, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": fake_slack.api_url, "PMFBOT_SECRET_KEY": SECRET_KEY, "PORT": str(port),
           "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "WEB_THREADS": "4", "LOG_LEVEL": "WARNING"}
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    log = open(tmp_path / "web.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "web"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    worker = None
    if db_url.startswith("postgresql"):
        worker = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urlopen(url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (URLError, ConnectionError, OSError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail("pmfbot web did not start:\n" + (tmp_path / "web.log").read_text()[-3000:])
            time.sleep(0.1)
        yield url
    finally:
        stop_process_group(proc, timeout=20)
        if worker is not None:
            stop_process_group(worker, timeout=20)
        log.close()
