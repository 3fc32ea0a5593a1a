"""The audit made visible (SPEC §8): after a manager lowers the survey bar, the report, the digest
and the App Home card each say so in one "Custom rules" line; and ingest tokens end to end —
scoped when created, listed by prefix, creator and last use, revoked from Slack or the CLI, and
refused with 401 at once by both ``/api/v1/ingest`` and the Segment ``/v1/batch``."""

from __future__ import annotations

import base64
import json
import re
import time

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from storage.db import unit_of_work
from storage.models import IngestToken
from tests.fakes.slack_api import text_of

LINE = re.compile(r"Custom rules: survey bar 30% \(default 40%\), set by <@U1> on \d{1,2} [A-Z][a-z]{2}")


def test_a_lowered_survey_bar_is_said_on_the_report_the_digest_and_the_app_home(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    before = text_of(harness.pmf("status").reply())
    assert "Custom rules" not in before

    assert "Changed" in text_of(harness.pmf("config survey.threshold 0.3").reply())

    report = text_of(harness.pmf("status").reply())
    assert len(LINE.findall(report)) == 1, report
    harness.pmf("digest now").reply()
    (digest,) = [m for m in fake_slack.messages["C1"] if "Week of" in text_of(m)]
    assert len(LINE.findall(text_of(digest))) == 1
    harness.event({"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home",
                   "event_ts": str(time.time())})
    view = fake_slack.wait_calls("views.publish")[0].json_param("view")
    assert len(LINE.findall(text_of(view))) == 1


def _ingest(harness, token: str):
    body = json.dumps({"product": "acme", "events": [{"user_id": "u1", "occurred_at": "2026-11-10T09:00:00Z"}]})
    return harness.request("POST", "/api/v1/ingest", body.encode(),
                           {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})


def _batch(harness, token: str):
    body = json.dumps({"batch": [{"type": "track", "event": "x", "userId": "u1", "messageId": f"m{time.time_ns()}",
                                  "timestamp": "2026-11-17T09:00:00Z"}]})
    auth = "Basic " + base64.b64encode(f"{token}:".encode()).decode()
    return harness.request("POST", "/v1/batch", body.encode(), {"Content-Type": "application/json",
                                                               "Authorization": auth})


def _secret(reply: str) -> str:
    match = re.search(r"```(pmfgate_[^`]+)```", reply)
    assert match, reply
    return match.group(1)


def test_tokens_are_scoped_listed_revoked_and_refused_at_once(harness, seed_product, session_factory):
    seed_product("T1", "acme", "Acme", data=False)
    harness.pmf("product use acme").reply()
    created = text_of(harness.pmf("token").reply())  # the channel is bound: scoped to acme
    assert "it can write data for only product `acme`" in created
    secret = _secret(created)
    assert _ingest(harness, secret).status == 200
    assert _batch(harness, secret).status == 200

    listed = text_of(harness.pmf("token list").reply())
    assert f"`{secret[:16]}…` · product acme · by <@U1>" in listed
    assert "last used never" not in listed

    revoked = text_of(harness.pmf(f"token revoke {secret[:12]}").reply())
    assert f"Revoked `{secret[:16]}…`" in revoked
    assert _ingest(harness, secret).status == 401
    assert _batch(harness, secret).status == 401
    assert "revoked" in text_of(harness.pmf("token list").reply())
    history = text_of(harness.pmf("config history").reply())
    assert f"token `{secret[:16]}…`: new → created (product acme)" in history
    assert f"token `{secret[:16]}…`: live (product acme) → revoked" in history


def test_a_workspace_token_says_so_and_the_cli_lists_and_revokes(harness, seed_product, session_factory, db_url,
                                                                  monkeypatch):
    seed_product("T1", "acme", "Acme", data=False)
    seed_product("T1", "beta", "Beta", data=False)
    created = text_of(harness.pmf("token", channel="C2").reply())  # C2 is bound to nothing
    assert "every product of this workspace" in created
    secret = _secret(created)
    assert _ingest(harness, secret).status == 200

    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    out = runner.invoke(main, ["token", "list", "--workspace", "T1"])
    assert out.exit_code == 0, out.output
    assert secret[:16] in out.output and "workspace" in out.output and "by U1" in out.output
    out = runner.invoke(main, ["token", "revoke", secret[:14], "--workspace", "T1"])
    assert out.exit_code == 0, out.output
    assert _ingest(harness, secret).status == 401
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(IngestToken.revoked_at)) is not None
    out = runner.invoke(main, ["token", "revoke", secret[:14], "--workspace", "T1"])
    assert out.exit_code == 2  # nothing live starts with it any more
