"""The first middleware: a signed payload that lacks what the listeners need is answered as out of
date, before any listener runs.

Slack always sends a button's ``action_ts``, a command's ``channel_id`` and ``response_url``, an
``app_home_opened``'s user. A payload without them is a stale client, a replay of an old shape
or someone testing the app with a valid signature; it is not an internal problem, so it gets
neither a traceback in the log nor "PMF Gate hit an internal problem". A command gets "This button
or command is out of date — try again." as its ephemeral answer; a button gets the same in an
ephemeral reply (its ``response_url``) or the user's DM (Home tab buttons have no response_url),
after the ack; an event is acked and dropped. One INFO line says what was missing.

The checks of ``bot.slack.guard`` (NUL bytes, lone surrogates, Slack ids, depth) run here too:
Socket Mode payloads never pass through ``bot.webio``'s gate.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.context import AppContext
from bot.digests.ids import Action as DigestAction
from bot.home.ids import Action as HomeAction
from bot.slack import guard, post
from bot.slack.respond import Responder
from bot.surveys.ids import ANSWER_ACTION
from bot.surveys.ids import Action as SurveyAction

log = logging.getLogger(__name__)

OUT_OF_DATE = "This button or command is out of date — try again."
_ACTION_TS = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,9})?$")
_EVENT_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")  # Slack's are ~12 ("Ev0PV52K21"); the receipts column holds 64
# Buttons whose value is a product slug, and those whose value is a survey id.
_SLUG_VALUE = frozenset({HomeAction.CHECK, HomeAction.SURVEY, HomeAction.DIGEST, DigestAction.DETAILS})
_SURVEY_VALUE = frozenset({SurveyAction.FOLLOWUP})


def missing(body: dict[str, Any]) -> str | None:
    """What a (signed) payload lacks that a listener needs, or None when it is usable. Pure;
    ``guard.check_payload`` has passed."""
    if "command" in body:
        for key in ("team_id", "user_id", "channel_id", "response_url"):
            if not isinstance(body.get(key), str) or not body[key]:
                return f"the command has no {key}"
        if not isinstance(body.get("text", ""), str):
            return "the command's text is not text"
        return None
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions") or []
        if not actions:
            return "the payload has no action"
        for action in actions:
            action_id = action.get("action_id")
            if not isinstance(action_id, str) or not action_id:
                return "an action has no action_id"
            if not isinstance(action.get("action_ts"), str) or not _ACTION_TS.match(action["action_ts"]):
                return f"action {action_id[:64]} has no usable action_ts"
            value = action.get("value")
            if action_id in _SLUG_VALUE and (not isinstance(value, str) or not value.strip()):
                return f"action {action_id} has no value"
            if (action_id in _SURVEY_VALUE or ANSWER_ACTION.match(action_id)) and value is None:
                # (A value that is no survey id gets the survey listener's own "not available" note.)
                return f"action {action_id[:64]} has no value"
        return None
    if kind == "event_callback":
        event_id = body.get("event_id")
        if not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
            return "the event_id is not a Slack event id"
        event = body.get("event") or {}
        if event.get("type") == "app_home_opened" and not event.get("user"):
            return "app_home_opened has no user"
    return None


def register(app: App, ctx: AppContext) -> None:
    @app.use
    def out_of_date(body: dict[str, Any], client: WebClient, next: Any) -> Any:  # noqa: A002 - Bolt's name
        body = body or {}
        text = OUT_OF_DATE
        try:
            guard.check_payload(body)  # Socket Mode: bot.webio's gate has not seen it
            why = missing(body)
        except guard.Refused as err:
            why = str(err)
            text = guard.REFUSED_TEXT.format(why=why)  # not stale: something in it cannot be taken
        if why is None:
            return next()
        kind = "command" if "command" in body else str(body.get("type"))
        log.info("unusable %s payload answered (team=%s): %s", kind, _team(body), why)
        if "command" in body:
            return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": text}),
                                headers={"Content-Type": "application/json;charset=utf-8"})
        if kind in ("block_actions", "view_submission", "shortcut", "message_action"):
            ctx.work.submit(lambda: _tell(body, client))
        return BoltResponse(status=200, body="")


def _team(body: dict[str, Any]) -> str:
    team = body.get("team_id")
    if team is None and isinstance(body.get("team"), dict):
        team = body["team"].get("id")
    return team if isinstance(team, str) and guard.SLACK_ID.match(team) else "?"


def _tell(body: dict[str, Any], client: WebClient) -> None:
    """The out-of-date answer, where the user will see it; never raises."""
    message = {"text": OUT_OF_DATE}
    try:
        url = body.get("response_url")
        user = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else None
        if isinstance(url, str) and url:
            Responder(url)(text=OUT_OF_DATE, response_type="ephemeral", replace_original=False)
        elif isinstance(user, str) and guard.SLACK_ID.match(user):
            post.dm(client, user, message, meta=post.metadata("pmf_out_of_date", action_ts=_first_ts(body)))
    except Exception as err:  # noqa: BLE001 - a courtesy; the request itself was already answered
        log.info("could not tell the user the payload was out of date: %s", type(err).__name__)


def _first_ts(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("action_ts") or "")
