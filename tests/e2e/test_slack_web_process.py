"""``pmfbot web`` for real: the gunicorn process, on loopback, against the fake Web API.

A signed ``/pmf-check`` is acked in well under 3 s, then the report reaches the response_url
and a real PNG chart reaches the user's DM; ``share`` puts both in the channel.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from tests.fakes.harness import sign
from tests.fakes.slack_api import PNG_MAGIC, FakeSlack

ROOT = Path(__file__).resolve().parents[2]


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
