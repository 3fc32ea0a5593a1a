"""Survey buttons: an answer click (records the clicker's answer, dated by the click's
``action_ts`` so an older click can never overwrite a newer one) and "Tell us more" (opens the
follow-up modal, pre-filled)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.surveys import service as surveys
from bot.surveys import slack as survey_slack
from bot.surveys.answers import followup_form, record_answer
from bot.surveys.ids import ANSWER_ACTION, Action, answer_from_action_id
from bot.surveys.modals import followup_modal
from handlers.commands.router import Router


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.action(ANSWER_ACTION)
    def answer(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        outcome = record_answer(
            ctx.factory, survey_id=int(action["value"]), channel_id=(body.get("channel") or {}).get("id"),
            user_id=user_id, answer=answer_from_action_id(action["action_id"]),  # type: ignore[arg-type]
            answered_at=surveys.slack_ts_to_datetime(action["action_ts"]), secret=ctx.secret_key, now=ctx.now())
        survey_slack.after_answer(ctx, client, outcome, user_id, body.get("response_url"))

    @app.action(Action.FOLLOWUP)
    def tell_us_more(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        form = followup_form(ctx.factory, survey_id=int(action["value"]), user_id=body["user"]["id"],
                                     secret=ctx.secret_key)
        if form is not None:
            client.views_open(trigger_id=body["trigger_id"], view=followup_modal(*form))
