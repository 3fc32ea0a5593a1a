"""Issue 19: signed Slack payloads that lack what the app needs (a button without ``action_ts`` or
``value``, a command without ``channel_id`` or ``response_url``, ``app_home_opened`` without a
user, an ``event_id`` of 100 characters) get a plain "This button or command is out of date — try
again." (nothing, for events), with no traceback and no ERROR line; commands with text the
database cannot hold (a NUL in a product name, a 40-character channel id) get a clear reply.
The "internal problem" message stays for real internal problems (tests/handlers/test_slack_resilience.py)."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine

from handlers.shape import missing
from tests.fakes.harness import Harness
from tests.fakes.slack_api import FakeSlack, text_of

OUT_OF_DATE = "This button or command is out of date — try again."


def _no_error_lines(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [(r.name, r.getMessage()) for r in bad]


def _command_form(h: Harness, text: str = "", **drop_or_set: Any) -> bytes:
    form: dict[str, Any] = {
        "token": "legacy", "team_id": "T1", "team_domain": "t1", "channel_id": "C1", "channel_name": "general",
        "user_id": "U1", "user_name": "u1", "command": "/pmf-check", "text": text, "api_app_id": "A1",
        "response_url": h.fake.response_url("cmd"), "trigger_id": "trig.1",
    }
    for key, value in drop_or_set.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return urlencode(form).encode()


def _button(h: Harness, action: dict[str, Any], *, response_url: bool = True) -> bytes:
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": "T1", "domain": "t1"}, "user": {"id": "U1", "team_id": "T1"},
        "api_app_id": "A1", "token": "legacy", "trigger_id": "trig.2",
        "container": {"type": "message", "message_ts": "1700000001.000001", "channel_id": "C1"},
        "channel": {"id": "C1", "name": "general"}, "message": {"ts": "1700000001.000001", "type": "message"},
        "actions": [action],
    }
    if response_url:
        payload["response_url"] = h.fake.response_url("btn")
    return urlencode({"payload": json.dumps(payload)}).encode()


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("drop", ["channel_id", "response_url"])
def test_a_command_without_what_it_needs_is_out_of_date(harness: Harness, seed_product: Any,
                                                        caplog: pytest.LogCaptureFixture, drop: str) -> None:
    seed_product("T1", "acme", "Acme", data=False)
    r = harness.post_signed(_command_form(harness, "", **{drop: None}), FORM)
    assert r.status == 200 and r.json()["text"] == OUT_OF_DATE
    harness.settle()
    _no_error_lines(caplog)


@pytest.mark.parametrize("case", ["no action_ts", "no value"])
def test_a_button_without_what_it_needs_is_out_of_date(harness: Harness, fake_slack: FakeSlack, seed_product: Any,
                                                       caplog: pytest.LogCaptureFixture, case: str) -> None:
    seed_product("T1", "acme", "Acme", data=False)
    action = {"type": "button", "action_id": "pmf.survey.answer.very", "block_id": "pmf.survey.answers",
              "value": "7", "action_ts": str(time.time())}
    if case == "no action_ts":
        del action["action_ts"]
    else:
        del action["value"]
    r = harness.post_signed(_button(harness, action), FORM)
    assert r.status == 200
    (reply,) = fake_slack.wait_response("btn")
    assert text_of(reply.params) == OUT_OF_DATE and reply.params.get("response_type", "ephemeral") == "ephemeral"
    harness.settle()
    _no_error_lines(caplog)


def test_a_home_button_without_a_value_is_out_of_date_in_the_dm(harness: Harness, fake_slack: FakeSlack,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    action = {"type": "button", "action_id": "pmf.home.check", "block_id": "b", "action_ts": str(time.time())}
    r = harness.post_signed(_button(harness, action, response_url=False), FORM)
    assert r.status == 200
    (dm,) = fake_slack.wait_calls("chat.postMessage", channel="DU1")
    assert text_of(dm.params) == OUT_OF_DATE
    harness.settle()
    _no_error_lines(caplog)


@pytest.mark.parametrize("case", ["app_home_opened without a user", "event_id of 100 characters"])
def test_an_event_without_what_it_needs_is_dropped_quietly(harness: Harness, fake_slack: FakeSlack,
                                                           caplog: pytest.LogCaptureFixture, case: str) -> None:
    event: dict[str, Any] = {"type": "app_home_opened", "tab": "home", "channel": "D1"}
    event_id = None
    if case.startswith("event_id"):
        event["user"] = "U1"
        event_id = "Ev" + "X" * 98
    r = harness.event(event, event_id=event_id)
    assert r.status == 200
    harness.settle()
    assert not fake_slack.calls_to("views.publish") and not fake_slack.calls_to("chat.postMessage")
    _no_error_lines(caplog)


def test_a_nul_in_a_product_name_gets_a_clear_reply(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    r = harness.post_signed(_command_form(harness, "product create nul-2 bad\x00name"), FORM)
    assert r.status == 200
    text = (r.json() or {}).get("text") or text_of(harness.fake.wait_response("cmd")[0].params)
    assert "NUL" in text or "control character" in text
    assert "internal problem" not in text
    harness.settle()
    _no_error_lines(caplog)


def test_digest_weekly_with_a_40_character_channel_id_gets_a_clear_reply(
        harness: Harness, seed_product: Any, caplog: pytest.LogCaptureFixture) -> None:
    seed_product("T1", "acme", "Acme", data=False)
    long_id = "C" + "A" * 39
    r = harness.pmf(f"digest weekly <#{long_id}|x>")
    reply = text_of(r.reply())
    assert "internal problem" not in reply and "channel" in reply.lower() and long_id[:20] in reply
    harness.settle()
    _no_error_lines(caplog)


def test_a_real_internal_problem_still_says_so(harness: Harness, seed_product: Any,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """The plain "out of date" answer is only for malformed payloads: a failure of ours still
    reads as an internal problem with a reference. With the database gone the command's job
    cannot be stored, so the ack itself says so (SPEC §11), with the reference the log has."""
    seed_product("T1", "acme", "Acme", data=False)
    real = harness.ctx.factory.kw["bind"]
    harness.ctx.factory.configure(bind=create_engine("sqlite:////nonexistent/dir/x.db"))  # the database is gone
    try:
        ack = harness.pmf("").ack()["text"]
    finally:
        harness.ctx.factory.configure(bind=real)
    assert "internal problem" in ack and OUT_OF_DATE not in ack
    ref = re.search(r"Reference `([0-9a-f]{8})`", ack)
    assert ref and any(f"ref={ref.group(1)}" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("body", "why"), [
    ({"command": "/pmf-check", "team_id": "T1", "user_id": "U1", "channel_id": "C1", "response_url": "https://x"}, None),
    ({"command": "/pmf-check", "team_id": "T1", "user_id": "U1", "channel_id": "C1"}, "the command has no response_url"),
    ({"type": "block_actions", "actions": [{"action_id": "pmf.home.check", "action_ts": "1.2", "value": "acme"}]}, None),
    ({"type": "block_actions", "actions": [{"action_id": "pmf.home.check", "action_ts": "1.2", "value": " "}]},
     "action pmf.home.check has no value"),
    ({"type": "block_actions", "actions": [{"action_id": "pmf.survey.answer.na", "action_ts": "x", "value": "1"}]},
     "action pmf.survey.answer.na has no usable action_ts"),
    ({"type": "block_actions", "actions": [{"action_id": "pmf.survey.followup", "action_ts": "1"}]},
     "action pmf.survey.followup has no value"),
    ({"type": "block_actions", "actions": []}, "the payload has no action"),
    ({"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_home_opened", "user": "U1"}}, None),
    ({"type": "event_callback", "event_id": "Ev-1", "event": {"type": "message"}}, "the event_id is not a Slack event id"),
])
def test_what_a_payload_must_carry(body: dict[str, Any], why: str | None) -> None:
    assert missing(body) == why
