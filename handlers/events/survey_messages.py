"""The app's one ``message`` listener (Bolt runs only the first listener that matches an event):
replies in survey threads.

What counts, decided here and documented in the README:
- a human reply in a survey's thread (also ``thread_broadcast`` and ``file_share`` replies):
  an answer when its whole text names an option, else a comment on the author's response, else
  (the author has not answered) an ephemeral hint on how to answer;
- an edit (``message_changed``) of such a reply is read again: an edit naming an option
  becomes the answer, dated at the edit; an edited comment replaces the comment; an edit that
  only adds a link preview (same text) is ignored;
- a deletion (``message_deleted``) deletes the comment it was; a deleted answer stays recorded
  (answers change by answering again);
- top-level messages, replies in other threads, bots' messages (``bot_id`` or ``bot_message``)
  and every other subtype are ignored without touching the database.
Each handled event is claimed (``team_id``, ``event_id``) in the same transaction as its effect,
so Slack's retries do nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.surveys import service as surveys
from bot.surveys import slack as survey_slack
from bot.surveys.answers import delete_reply, record_reply
from handlers.commands.router import Router

REPLY_SUBTYPES = (None, "thread_broadcast", "file_share")


@dataclass(frozen=True)
class ThreadReply:
    channel_id: str
    thread_ts: str
    ts: str
    user_id: str | None
    text: str
    kind: str  # "new" | "edit" | "delete"
    at: str  # the Slack ts the answer is dated by (the reply, or the edit)


def _human_reply(m: dict[str, Any]) -> bool:
    thread_ts, ts = m.get("thread_ts"), m.get("ts")
    return bool(thread_ts and ts and thread_ts != ts and m.get("user") and not m.get("bot_id")
                and m.get("subtype") in REPLY_SUBTYPES)


def classify(event: dict[str, Any]) -> ThreadReply | None:
    """The thread reply an event is about, or None when it can be ignored outright."""
    subtype, channel = event.get("subtype"), str(event.get("channel") or "")
    if subtype == "message_changed":
        m, before = event.get("message") or {}, event.get("previous_message") or {}
        if not _human_reply(m) or m.get("text") == before.get("text"):
            return None
        at = (m.get("edited") or {}).get("ts") or event.get("event_ts") or event.get("ts")
        return ThreadReply(channel, m["thread_ts"], m["ts"], m["user"], m.get("text") or "", "edit", str(at))
    if subtype == "message_deleted":
        before = event.get("previous_message") or {}
        if not (before.get("thread_ts") and event.get("deleted_ts") and before["thread_ts"] != event["deleted_ts"]):
            return None
        return ThreadReply(channel, before["thread_ts"], str(event["deleted_ts"]), None, "", "delete", "")
    if not _human_reply(event):
        return None
    return ThreadReply(channel, event["thread_ts"], event["ts"], event["user"], event.get("text") or "", "new",
                       event["ts"])


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.event("message")
    def on_message(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        reply = classify(event)
        if reply is None:
            return
        common = dict(team_id=body.get("team_id") or "", event_id=body.get("event_id"), channel_id=reply.channel_id,
                      thread_ts=reply.thread_ts, secret=ctx.secret_key)
        if reply.kind == "delete":
            delete_reply(ctx.factory, deleted_ts=reply.ts, **common)  # type: ignore[arg-type]
            return
        assert reply.user_id is not None
        outcome = record_reply(ctx.factory, ts=reply.ts, user_id=reply.user_id, text=reply.text,
                                       now=ctx.now(), answered_at=surveys.slack_ts_to_datetime(reply.at),
                                       **common)  # type: ignore[arg-type]
        if reply.kind == "new" or outcome.status != "not_respondent":
            survey_slack.after_answer(ctx, client, outcome, reply.user_id)
