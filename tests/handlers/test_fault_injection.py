"""Fault injection on the Slack side (issue 10), through the real WSGI app against the fake Slack:
forged and malformed requests act on nothing, oversized bodies are refused unread, signed
payloads the app cannot use get a polite answer and write nothing, a survey id of another
workspace is refused, and acks never wait on ``auth.test``. Every test that touches the database
is marked ``db`` (conftest) and runs on SQLite and PostgreSQL."""

from __future__ import annotations

import http.client
import io
import json
import sys
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.guard import MAX_SLACK_BODY_BYTES
from storage.models import Survey, SurveyResponse
from tests.fakes.harness import Harness, sign
from tests.fakes.slack_api import FakeSlack
from tests.handlers.survey_helpers import click, modal_values, submit_modal, survey_ts, tell_us_more

FORM = "application/x-www-form-urlencoded"


def _command_body(fake: FakeSlack, text: str = "share", **fields: str) -> bytes:
    form = {"token": "legacy", "team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/pmf-check",
            "text": text, "response_url": fake.response_url("forged"), "trigger_id": "trig.1", **fields}
    return urlencode(form).encode()


def _action_body(fake: FakeSlack, **overrides: Any) -> bytes:
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1", "team_id": "T1"},
        "response_url": fake.response_url("forged"), "trigger_id": "trig.1", "container": {"type": "view"},
        "actions": [{"type": "button", "action_id": "pmf.survey.answer.very", "value": "1", "action_ts": "1.0"}],
    }
    payload.update(overrides)
    return urlencode({"payload": json.dumps(payload)}).encode()


def _signed(h: Harness, body: bytes, content_type: str = FORM) -> Any:
    return h.post_signed(body, content_type)


# ----------------------------------------------------------------------------- refuse before acting
@pytest.mark.parametrize("timestamp", ["abc", "1e9", "", " 1700000000", "-1", "17000000000000000000"])
@pytest.mark.parametrize("kind", ["command", "action"])
def test_a_malformed_timestamp_is_401_and_nothing_acts(harness: Harness, fake_slack: FakeSlack,
                                                       timestamp: str, kind: str) -> None:
    body = _command_body(fake_slack) if kind == "command" else _action_body(fake_slack)
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": sign(body)["X-Slack-Signature"]}
    r = harness.request("POST", "/slack/events", body, headers)
    assert r.status == 401
    assert fake_slack.calls == []  # no response_url post, no DM, no Home publish


@pytest.mark.parametrize("signature", ["", "v0=", "v0=xyz", "v1=" + "0" * 64, "v0=" + "A" * 64, "garbage"])
def test_a_malformed_signature_is_401_and_nothing_acts(harness: Harness, fake_slack: FakeSlack,
                                                       signature: str) -> None:
    body = _action_body(fake_slack)
    r = harness.request("POST", "/slack/events", body, {"Content-Type": FORM, **sign(body),
                                                        "X-Slack-Signature": signature})
    assert r.status == 401
    assert fake_slack.calls == []


def test_bolts_error_handler_never_acts_on_an_unverified_request(harness: Harness, fake_slack: FakeSlack,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """The second line: Bolt's own handler, reached without our gate, with a timestamp that makes
    slack_sdk's verifier raise: its error handler must not post, DM or publish, nor log the ids."""
    body = _action_body(fake_slack, user={"id": "UVICTIM", "team_id": "T1"})
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "QUERY_STRING": "",
               "CONTENT_TYPE": FORM, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               "HTTP_X_SLACK_REQUEST_TIMESTAMP": "abc", "HTTP_X_SLACK_SIGNATURE": "v0=" + "0" * 64,
               "wsgi.errors": sys.stderr, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http"}
    statuses: list[str] = []
    with caplog.at_level("INFO"):
        b"".join(harness.web.slack(environ, lambda status, headers, *a: statuses.append(status)))
    assert statuses and not statuses[0].startswith("2")
    assert fake_slack.calls == []
    assert not any("UVICTIM" in rec.getMessage() for rec in caplog.records if rec.levelno > 10)


def _send_headers_only(h: Harness, path: str, length: int, headers: dict[str, str]) -> int:
    url = urlparse(h.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.putrequest("POST", path)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(length))
        conn.endheaders()  # the body is never sent: the answer must come from the headers alone
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_body_over_1_mb_on_slack_events_is_413_before_it_is_read(harness: Harness, fake_slack: FakeSlack) -> None:
    status = _send_headers_only(harness, "/slack/events", 150 * 1024 * 1024, {"Content-Type": FORM, **sign(b"x")})
    assert status == 413
    assert fake_slack.calls == []


def test_a_chunked_body_over_1_mb_is_refused_after_reading_at_most_the_limit(harness: Harness) -> None:
    class Stream(io.RawIOBase):
        read_total = 0

        def read(self, size: int = -1) -> bytes:
            size = 65536 if size is None or size < 0 else size
            Stream.read_total += size
            return b"a" * size

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "CONTENT_TYPE": FORM,
               "wsgi.input": Stream(), "wsgi.input_terminated": True, **{
                   "HTTP_" + k.upper().replace("-", "_"): v for k, v in sign(b"a").items()}}
    statuses: list[str] = []
    b"".join(harness.web(environ, lambda status, headers, *a: statuses.append(status)))
    assert statuses == ["413 Payload Too Large"]
    assert Stream.read_total <= MAX_SLACK_BODY_BYTES + 1


# ----------------------------------------------------------------------------- signed but unusable
@pytest.mark.parametrize("body", [
    urlencode({"payload": "{not json"}).encode(),
    urlencode({"payload": "[1, 2]"}).encode(),
    urlencode({"payload": "[" * 100_000 + "]" * 100_000}).encode(),
    urlencode({"payload": json.dumps({"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"},
                                      "view": {"callback_id": "pmf.survey.followup_modal"}})}).encode(),
    urlencode({"payload": json.dumps({"team": {"id": "T1"}, "user": {"id": "U1"}, "actions": []})}).encode(),
    urlencode({"payload": '{"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1\\ud800"}, '
                          '"actions": []}'}).encode(),
    urlencode({"payload": json.dumps({"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"},
                                      "actions": [{"action_id": "x", "value": "a\x00b"}]})}).encode(),
    urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": []})}).encode(),
], ids=["bad-json", "not-an-object", "100k-deep", "view-without-type", "no-type", "lone-surrogate", "nul",
        "no-team"])
def test_a_signed_payload_that_cannot_be_read_is_400_not_500(harness: Harness, fake_slack: FakeSlack,
                                                             body: bytes) -> None:
    r = _signed(harness, body)
    assert r.status == 400 and "Traceback" not in r.text
    assert fake_slack.calls == []


@pytest.mark.parametrize("fields", [
    {"team_id": ""}, {"user_id": ""}, {"team_id": "T" * 40}, {"user_id": "U1'; DROP TABLE"},
    {"channel_id": "c1-lower"}, {"text": "config set ke\x00y 5"},
], ids=["no-team", "no-user", "team-too-long", "user-not-an-id", "bad-channel", "nul"])
def test_a_signed_command_that_cannot_be_used_gets_a_polite_ephemeral_and_writes_nothing(
        harness: Harness, fake_slack: FakeSlack, session_factory: sessionmaker[Session], seed_product: Any,
        fields: dict[str, str]) -> None:
    seed_product("T1", "acme", data=False)
    body = _command_body(fake_slack, **fields) if "text" in fields else _command_body(fake_slack, "config", **fields)
    r = _signed(harness, body)
    assert r.status == 200
    assert r.json()["response_type"] == "ephemeral" and "nothing was done" in r.json()["text"]
    assert fake_slack.calls == []


def test_a_nul_in_a_config_key_is_never_stored(harness: Harness, fake_slack: FakeSlack, seed_product: Any,
                                               session_factory: sessionmaker[Session]) -> None:
    from storage.models import Product

    seed_product("T1", "acme", data=False)
    r = harness.pmf("config set survey.thre\x00shold 0.01")
    assert r.status == 200 and "nothing was done" in r.text
    with session_factory() as s:
        assert [p.settings for p in s.scalars(select(Product))] == [{}]
    assert fake_slack.responses() == []


# ----------------------------------------------------------------------------- surveys and workspaces
@pytest.fixture
def started(harness: Harness, fake_slack: FakeSlack, seed_product: Any,
            session_factory: sessionmaker[Session]) -> tuple[int, str]:
    seed_product("T1", "acme", "Acme", data=False)
    harness.ctx.tuning = replace(harness.ctx.tuning, count_update_interval=timedelta(0))
    harness.pmf("survey start").reply()
    with session_factory() as s:
        return s.scalars(select(Survey.id)).one(), survey_ts(fake_slack)


def _responses(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(SurveyResponse)) or 0)


def _as_team(h: Harness, body_fn: Any, *args: Any, team: str, **kwargs: Any) -> Any:
    """Send what ``body_fn`` sends, but as a signed payload from ``team``."""
    original = h.post_signed

    def post(body: bytes, content_type: str, **kw: Any) -> Any:
        form = dict(parse_qsl(body.decode()))
        payload = json.loads(form["payload"])
        payload["team"] = {"id": team}
        payload["user"] = {**payload.get("user", {}), "team_id": team}
        return original(urlencode({"payload": json.dumps(payload)}).encode(), content_type, **kw)

    h.post_signed = post  # type: ignore[method-assign]
    try:
        return body_fn(h, *args, **kwargs)
    finally:
        h.post_signed = original  # type: ignore[method-assign]


def _wait_unavailable(fake: FakeSlack) -> None:
    fake.wait_for(lambda: [c for c in fake.responses() if "not available" in str(c.params.get("text"))],
                  what="the polite 'not available' note")


def test_another_workspaces_survey_id_is_refused_and_nothing_is_written(
        harness: Harness, fake_slack: FakeSlack, started: tuple[int, str],
        session_factory: sessionmaker[Session]) -> None:
    survey_id, ts = started
    r = _as_team(harness, click, ts, "U2", "very", "1763899300.000100", survey_id=survey_id, team="T2")
    assert r.status == 200
    _wait_unavailable(fake_slack)
    r = _as_team(harness, tell_us_more, "U2", survey_id, team="T2")
    assert r.status == 200
    assert fake_slack.calls_to("views.open") == []
    r = _as_team(harness, submit_modal, "U2", survey_id, modal_values(who="founders"), team="T2")
    assert r.status == 200 and r.json()["response_action"] == "errors"
    assert _responses(session_factory) == 0


@pytest.mark.parametrize("value", ["99999999999999999999999", "abc", "-1", "1.5", "", "0"])
def test_a_huge_or_non_integer_survey_id_gets_a_polite_note(harness: Harness, fake_slack: FakeSlack,
                                                           started: tuple[int, str], value: str,
                                                           session_factory: sessionmaker[Session]) -> None:
    _, ts = started
    r = click(harness, ts, "U2", "very", "1763899300.000100", survey_id=0,
              payload_override={"actions": [{"type": "button", "action_id": "pmf.survey.answer.very",
                                             "block_id": "b", "value": value, "action_ts": "1763899300.1"}]})
    assert r.status == 200
    _wait_unavailable(fake_slack)
    r = submit_modal(harness, "U2", 0, {})
    assert r.status == 200 and r.json()["response_action"] == "errors"
    assert _responses(session_factory) == 0


# ----------------------------------------------------------------------------- acks never wait on Slack
def test_the_ack_does_not_wait_for_a_slow_auth_test(harness: Harness, fake_slack: FakeSlack) -> None:
    fake_slack.delay("auth.test", 3)
    r = harness.pmf("help")
    identity = harness.ctx.bot_identity
    assert identity is not None
    assert r.status == 200 and identity.known is None  # acked while auth.test was still delayed
    harness.wait(lambda: identity.known is not None, what="auth.test to finish after the ack")
    assert identity.known["user_id"] == fake_slack.bot_user_id


def test_slack_unreachable_for_auth_test_still_acks_and_the_failure_is_cached(harness: Harness,
                                                                               fake_slack: FakeSlack) -> None:
    fake_slack.fail("auth.test", error="invalid_auth", times=5)
    identity = harness.ctx.bot_identity
    assert identity is not None
    first = harness.pmf("help")
    assert first.status == 200
    harness.wait(lambda: identity.failing, what="auth.test to fail")
    second = harness.pmf("help")
    assert second.status == 200 and "Traceback" not in second.text
    assert len(fake_slack.attempts("auth.test")) == 1  # the failure is cached, not retried per request


# ----------------------------------------------------------------------------- CLI
def test_export_into_a_missing_folder_exits_2_with_a_clear_message(db_url: str, seed_product: Any,
                                                                   tmp_path: Any) -> None:
    from bot.cli import main

    seed_product("local", "acme", data=False)
    target = tmp_path / f"missing-{uuid.uuid4().hex[:6]}" / "out.csv"
    result = CliRunner().invoke(main, ["export", "responses", "--product", "acme", "--out", str(target)],
                                env={"DATABASE_URL": db_url}, catch_exceptions=False)
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and not target.parent.exists()
