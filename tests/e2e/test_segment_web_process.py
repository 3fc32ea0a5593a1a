"""The Segment-compatible API on ``pmfbot web`` for real: gunicorn on loopback, the real Segment and
RudderStack libraries, a 413 and a 401 the libraries can read."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import pytest
import requests
from sqlalchemy import func, select

from bot.products import service as product_service
from bot.products.tokens import create_cli_token
from storage.models import ActivityWeek, ProductUser
from tests.fakes.harness import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def gunicorn_url(db_url: str, fake_slack: FakeSlack, session_factory, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": fake_slack.api_url, "PMFBOT_SECRET_KEY": SECRET_KEY, "PORT": str(port),
           "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "WEB_THREADS": "4", "LOG_LEVEL": "WARNING"}
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    log = open(tmp_path / "web.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "web"], cwd=ROOT, env=env, stdout=log,
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
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.mark.slow
def test_pmfbot_web_takes_segment_and_rudderstack_batches(gunicorn_url: str, session_factory) -> None:
    import rudderstack.analytics as rudder_analytics
    from segment.analytics import Client as SegmentClient

    product_service.create_product(session_factory, slug="acme")
    key, _ = create_cli_token(session_factory, team_id=None, product_slug="acme")
    errors: list[object] = []
    at = datetime(2026, 11, 17, 9, tzinfo=UTC)
    segment = SegmentClient(key, host=gunicorn_url, on_error=lambda e, b: errors.append(e), max_retries=2)
    rudder = rudder_analytics.Client(key, host=gunicorn_url, gzip=True, on_error=lambda e, b: errors.append(e),
                                     max_retries=2)
    for i in range(300):
        client = segment if i % 2 else rudder
        client.identify(user_id=f"u{i}", traits={"createdAt": at.isoformat()}, timestamp=at)
        client.track(user_id=f"u{i}", event="Report Viewed", timestamp=at)
    for client in (segment, rudder):
        client.flush()
        client.join()
    assert errors == []
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProductUser)) == 300
        assert s.scalar(select(func.count()).select_from(ActivityWeek)) == 300

    big = json.dumps({"batch": [{"type": "track", "userId": "x", "properties": {"pad": "x" * 2000}}] * 300})
    r = requests.post(gunicorn_url + "/v1/batch", data=big, auth=(key, ""), timeout=10)
    assert r.status_code == 413 and r.json()["success"] is False
    r = requests.post(gunicorn_url + "/v1/batch", data=big, auth=("pmfgate_wrong", ""), timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
