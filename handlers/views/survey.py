"""The "Tell us more" modal's submission: saved on the submitter's response before the ack, so
a survey that closed meanwhile (or an answer that is missing) is reported inside the modal; so is
a survey id that is not valid or belongs to another workspace (nothing is written)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.surveys import slack as survey_slack
from bot.surveys.answers import save_followup
from bot.surveys.ids import Callback
from bot.surveys.modals import followup_errors, followup_from_state, followup_survey_id
from handlers.actions.survey import team_of
from handlers.commands.router import Router

PROBLEMS = {
    "closed": "This survey has closed, so these answers can no longer be saved. Thank you all the same!",
    "no_answer": "Answer the survey question first (a button or a reply in its thread), then tell us more.",
    "not_found": "This survey no longer exists.",
}


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.view(Callback.FOLLOWUP)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user_id = body["user"]["id"]
        survey_id = followup_survey_id(view.get("private_metadata", ""))
        values = (view.get("state") or {}).get("values")
        if survey_id is None or not isinstance(values, dict):
            ack(response_action="errors", errors=followup_errors(PROBLEMS["not_found"]))
            return
        status, info = save_followup(
            ctx.factory, survey_id=survey_id, user_id=user_id, secret=ctx.secret_key,
            followup=followup_from_state(values), now=ctx.now(), team_id=team_of(body))
        if status != "saved" or info is None:
            ack(response_action="errors", errors=followup_errors(PROBLEMS.get(status, PROBLEMS["not_found"])))
            return
        ack()
        survey_slack.thank_for_followup(client, info, user_id)
