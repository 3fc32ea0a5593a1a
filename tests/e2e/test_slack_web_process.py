"""``pmfbot web`` for real: the gunicorn process, on loopback, against the fake Web API.

A signed ``/pmf-check`` is acked in well under 3 s, then the report reaches the response_url
and a real PNG chart reaches the user's DM; ``share`` puts both in the channel.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from tests.fakes.harness import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET, sign
from tests.fakes.slack_api import PNG_MAGIC, FakeSlack

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def web_process(db_url: str, fake_slack: FakeSlack, session_factory, tmp_path: Path) -> Iterator[str]:
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


def _command(url: str, fake: FakeSlack, text: str, response_id: str) -> tuple[int, float]:
    form = urlencode({"team_id": "T1", "team_domain": "t1", "channel_id": "C1", "channel_name": "general",
                      "user_id": "U1", "command": "/pmf-check", "text": text, "api_app_id": "A1",
                      "response_url": fake.response_url(response_id), "trigger_id": "t.1"}).encode()
    req = Request(url + "/slack/events", data=form, method="POST",
                  headers={"Content-Type": "application/x-www-form-urlencoded", **sign(form)})
    started = time.perf_counter()
    with urlopen(req, timeout=10) as r:
        r.read()
        return r.status, time.perf_counter() - started


@pytest.mark.slow
def test_pmfbot_web_answers_a_signed_command_then_delivers_report_and_png(web_process, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    status, ack_seconds = _command(web_process, fake_slack, "", "status1")
    assert status == 200 and ack_seconds < 3.0
    reply = fake_slack.wait_response("status1", timeout=30)[0].params
    assert "Acme" in reply["text"]
    pngs = fake_slack.uploaded_png("DU1")
    assert len(pngs) == 1 and pngs[0].startswith(PNG_MAGIC) and len(pngs[0]) > 10_000

    status, ack_seconds = _command(web_process, fake_slack, "share", "share1")
    assert status == 200 and ack_seconds < 3.0
    assert "Posted the report" in fake_slack.wait_response("share1", timeout=30)[0].params["text"]
    assert "Acme" in fake_slack.messages["C1"][0]["text"]
    assert fake_slack.uploaded_png("C1")[0].startswith(PNG_MAGIC)


@pytest.mark.slow
def test_pmfbot_web_refuses_a_forged_signature(web_process):
    req = Request(web_process + "/slack/events", data=b"command=%2Fpmf-check", method="POST",
                  headers={"Content-Type": "application/x-www-form-urlencoded",
                           "X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"})
    with pytest.raises(URLError) as err:
        urlopen(req, timeout=10)
    assert err.value.code == 401  # type: ignore[attr-defined]
