"""The App Home's "Start survey" button: a modal asks which channel, anonymous or not, and for
how long; its submission starts the survey of the product the button named and posts it.
Problems the person can fix (a survey already open there, a DM chosen) are shown in the modal."""

from __future__ import annotations

from typing import Any

from bot import survey_slack, surveys
from bot.context import AppContext
from bot.errors import UserError
from bot.render import survey_blocks as ui
from handlers import ids
from handlers.commands.router import Router
from handlers.errors import reported


def register(app: Any, ctx: AppContext, router: Router) -> None:
    @app.action(ids.HOME_SURVEY)
    def open_modal(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        ack()
        with reported(body, client):
            client.views_open(trigger_id=body["trigger_id"], view=ui.start_survey_modal(
                action["value"], default_days=surveys.DEFAULT_DAYS, max_days=surveys.MAX_DAYS))

    @app.view(ids.SURVEY_START_MODAL)
    def submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        slug, channel, anonymous, days = ui.start_survey_from_state(view)
        if not slug or not channel or days is None:
            ack(response_action="errors", errors={ui.BLOCK_START_CHANNEL: "Choose a channel and a number of days."})
            return
        team_id, user_id = body["team"]["id"], body["user"]["id"]
        try:
            info = surveys.start_survey(ctx.factory, team_id=team_id, channel_id=channel, target_channel_id=channel,
                                        user_id=user_id, anonymous=anonymous, days=days, now=ctx.now(),
                                        single_workspace=ctx.single_workspace, product_slug=slug)
        except UserError as err:
            ack(response_action="errors", errors={ui.BLOCK_START_CHANNEL: str(err)[:150]})
            return
        ack()
        with reported(body, client):
            posted = survey_slack.post_survey(ctx, client, info)
            dm = client.conversations_open(users=user_id)["channel"]["id"]
            client.chat_postMessage(channel=dm, **ui.survey_started(posted))
