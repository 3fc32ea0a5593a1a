"""Survey buttons: an answer click (records the clicker's answer, dated by the click's
``action_ts`` so an older click can never overwrite a newer one) and "Tell us more" (opens the
follow-up modal, pre-filled). A button naming no valid survey, or a survey of another workspace,
gets a polite ephemeral note and writes nothing."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.surveys import service as surveys
from bot.surveys import slack as survey_slack
from bot.surveys.answers import followup_form, record_answer
from bot.surveys.ids import ANSWER_ACTION, Action, answer_from_action_id, survey_id_from
from bot.surveys.modals import followup_modal
from handlers.commands.router import Router

UNAVAILABLE = "This survey is not available here (it may have been removed), so nothing was recorded."


def team_of(body: dict[str, Any]) -> str:
    """The requesting workspace of an interaction (checked for Slack's id shape by bot.webio)."""
    return str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "")


def _unavailable(respond: Any, body: dict[str, Any]) -> None:
    if body.get("response_url"):
        respond(text=UNAVAILABLE, response_type="ephemeral", replace_original=False)


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.action(ANSWER_ACTION)
    def answer(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack()
        user_id = body["user"]["id"]
        survey_id = survey_id_from(action.get("value"))
        if survey_id is None:
            _unavailable(respond, body)
            return
        outcome = record_answer(
            ctx.factory, survey_id=survey_id, channel_id=(body.get("channel") or {}).get("id"),
            user_id=user_id, answer=answer_from_action_id(action["action_id"]),  # type: ignore[arg-type]
            answered_at=surveys.slack_ts_to_datetime(action["action_ts"]), secret=ctx.secret_key, now=ctx.now(),
            team_id=team_of(body))
        if outcome.status == "not_found":
            _unavailable(respond, body)
            return
        survey_slack.after_answer(ctx, client, outcome, user_id, body.get("response_url"))

    @app.action(Action.FOLLOWUP)
    def tell_us_more(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack()
        survey_id = survey_id_from(action.get("value"))
        form = None if survey_id is None else followup_form(
            ctx.factory, survey_id=survey_id, user_id=body["user"]["id"], secret=ctx.secret_key, team_id=team_of(body))
        if form is None:
            _unavailable(respond, body)
            return
        client.views_open(trigger_id=body["trigger_id"], view=followup_modal(*form))
