"""Slack-shaped survey traffic for the harness: answer clicks on the survey message (with an
explicit ``action_ts``), thread replies, edits and deletions as Events API deliveries, and the
follow-up modal's submission; plus readers for what the app posted."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bot.surveys import blocks as ui
from bot.surveys.ids import Action, Block, Callback, Metadata
from tests.fakes.fixtures import NOW
from tests.fakes.harness import Harness, HttpResponse
from tests.fakes.slack_api import Call, FakeSlack, text_of  # noqa: F401  (re-exported for the survey tests)

CHANNEL = "C1"


def slack_ts(seconds: float) -> str:
    """A Slack ts ``seconds`` after the harness clock's NOW."""
    at = NOW + timedelta(seconds=seconds)
    return f"{int(at.timestamp())}.{at.microsecond:06d}"


def survey_post(fake: FakeSlack, channel: str = CHANNEL) -> Call:
    """The survey's parent message (the first top-level post with answer buttons)."""
    def find() -> Call | None:
        for c in fake.calls_to("chat.postMessage", channel=channel):
            if not c.params.get("thread_ts") and Action.ANSWER_PREFIX in json.dumps(c.params.get("blocks")):
                return c
        return None

    return fake.wait_for(find, what="the survey message")


def survey_ts(fake: FakeSlack, channel: str = CHANNEL) -> str:
    post = survey_post(fake, channel)
    for m in fake.messages.get(channel, []):
        if m.get("text") == post.params.get("text") and not m.get("thread_ts"):
            return str(m["ts"])
    raise AssertionError("survey message not stored by the fake")


def click(h: Harness, ts: str, user: str, answer: str, action_ts: str, *, survey_id: int,
          channel: str = CHANNEL, payload_override: dict[str, Any] | None = None) -> HttpResponse:
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": "T1", "domain": "t1"}, "user": {"id": user, "team_id": "T1"},
        "api_app_id": "A1", "token": "legacy", "trigger_id": f"trig.{uuid.uuid4().hex[:8]}",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "general"}, "message": {"ts": ts, "type": "message"},
        "response_url": h.fake.response_url(),
        "actions": [{"type": "button", "action_id": ui.answer_action_id(answer), "block_id": Block.ANSWERS,  # type: ignore[arg-type]
                     "value": str(survey_id), "action_ts": action_ts}],
    }
    payload.update(payload_override or {})
    return h.post_signed(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")


def tell_us_more(h: Harness, user: str, survey_id: int, channel: str = CHANNEL) -> HttpResponse:
    payload = {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": user, "team_id": "T1"}, "api_app_id": "A1",
        "trigger_id": f"trig.{uuid.uuid4().hex[:8]}",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": channel, "is_ephemeral": True},
        "channel": {"id": channel}, "response_url": h.fake.response_url(),
        "actions": [{"type": "button", "action_id": Action.FOLLOWUP, "block_id": "b", "value": str(survey_id),
                     "action_ts": slack_ts(1)}],
    }
    return h.post_signed(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")


def modal_values(who: str | None = None, benefit: str | None = None, improve: str | None = None,
                 role: str | None = None, other: str | None = None) -> dict[str, Any]:
    def txt(v: str | None) -> dict[str, Any]:
        return {Action.INPUT: {"type": "plain_text_input", "value": v}}

    return {
        Block.WHO: txt(who), Block.BENEFIT: txt(benefit), Block.IMPROVE: txt(improve),
        Block.ROLE: {Action.INPUT: {"type": "static_select",
                                          "selected_option": {"value": role} if role else None}},
        Block.ROLE_OTHER: txt(other),
    }


def submit_modal(h: Harness, user: str, survey_id: int, values: dict[str, Any]) -> HttpResponse:
    return h.view_submission(Callback.FOLLOWUP, values, user=user,
                             private_metadata=json.dumps({"survey_id": survey_id}))


def thread_reply(h: Harness, ts: str, user: str, text: str, at: str, *, event_id: str | None = None,
                 retry_num: int | None = None, channel: str = CHANNEL, **extra: Any) -> HttpResponse:
    event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": at, "thread_ts": ts,
             "event_ts": at, "channel_type": "channel", **extra}
    return h.event(event, event_id=event_id, retry_num=retry_num)


def edit_reply(h: Harness, ts: str, user: str, reply_ts: str, old: str, new: str, edited_at: str) -> HttpResponse:
    event = {"type": "message", "subtype": "message_changed", "hidden": True, "channel": CHANNEL, "ts": edited_at,
             "event_ts": edited_at,
             "message": {"type": "message", "user": user, "text": new, "ts": reply_ts, "thread_ts": ts,
                         "edited": {"user": user, "ts": edited_at}},
             "previous_message": {"type": "message", "user": user, "text": old, "ts": reply_ts, "thread_ts": ts}}
    return h.event(event)


def delete_reply(h: Harness, ts: str, user: str, reply_ts: str, old: str, at: str) -> HttpResponse:
    event = {"type": "message", "subtype": "message_deleted", "hidden": True, "channel": CHANNEL, "ts": at,
             "event_ts": at, "deleted_ts": reply_ts,
             "previous_message": {"type": "message", "user": user, "text": old, "ts": reply_ts, "thread_ts": ts}}
    return h.event(event)


def ephemerals(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [c.params for c in fake.calls_to("chat.postEphemeral", user=user)]


def results_post(fake: FakeSlack, ts: str, channel: str = CHANNEL) -> Call:
    def find() -> Call | None:
        for c in fake.calls_to("chat.postMessage", channel=channel, thread_ts=ts):
            meta = c.json_param("metadata")
            if meta and meta.get("event_type") == Metadata.RESULTS:
                return c
        return None

    return fake.wait_for(find, what="the results post", timeout=20)


def moving_clock(h: Harness, start: datetime = NOW) -> None:
    """Make the harness clock tick in real time from ``start`` (the throttle needs time to pass)."""
    import time

    t0 = time.monotonic()
    h.ctx.now = lambda: start + timedelta(seconds=time.monotonic() - t0)
