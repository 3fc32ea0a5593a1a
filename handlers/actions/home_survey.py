"""The App Home's "Start survey" button: a modal asks which channel, anonymous or not, and for
how long; its submission starts the survey of the product the button named and posts it.
Problems the person can fix (a survey already open there, a DM chosen) are shown in the modal.
Only the product's managers may start one (SPEC §8): checked after the button's ack, and again on
submission (from the cache, or after the ack when it would need Slack)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.errors import UserError
from bot.home.ids import Action as HomeAction
from bot.products import access, managers
from bot.slack import post
from bot.surveys import blocks as ui
from bot.surveys import service as surveys
from bot.surveys import slack as survey_slack
from bot.surveys.ids import Callback, Metadata
from bot.surveys.modals import start_survey_errors, start_survey_from_state, start_survey_modal
from handlers.commands.router import Router
from handlers.errors import reported


def register(app: App, ctx: AppContext, router: Router) -> None:
    def _listed(team_id: str, user_id: str, slug: str) -> bool:
        try:
            product = managers.target_product(ctx.factory, team_id=team_id, single_workspace=ctx.single_workspace,
                                              channel_id="", slug=slug)
        except UserError:
            return True  # let start_survey say what is wrong, in the modal
        return managers.is_listed(ctx.factory, product_id=product.id, user_id=user_id)

    def _require(body: dict[str, Any], client: Any, slug: str) -> None:
        team_id, user_id = body["team"]["id"], body["user"]["id"]
        product = managers.target_product(ctx.factory, team_id=team_id, single_workspace=ctx.single_workspace,
                                          channel_id="", slug=slug)
        access.require_manager(ctx, client, team_id=team_id, user_id=user_id, product=product,
                               what=f"start surveys for `{product.slug}`")

    def _start_and_post(body: dict[str, Any], client: Any, slug: str, channel: str, anonymous: bool,
                        days: int) -> None:
        team_id, user_id = body["team"]["id"], body["user"]["id"]
        info = surveys.start_survey(ctx.factory, team_id=team_id, channel_id=channel, target_channel_id=channel,
                                    user_id=user_id, anonymous=anonymous, days=days, now=ctx.now(),
                                    single_workspace=ctx.single_workspace, product_slug=slug)
        posted = survey_slack.post_survey(ctx, client, info)
        _tell_started(client, user_id, posted)

    def _tell_started(client: Any, user_id: str, posted: Any) -> None:
        post.dm(client, user_id, ui.survey_started(posted),
                meta=post.metadata(Metadata.STARTED_DM, survey_id=posted.id))

    @app.action(HomeAction.SURVEY)
    def open_modal(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        with reported(body, client):
            _require(body, client, action["value"])  # a refusal is told in the DM; no modal
            client.views_open(trigger_id=body["trigger_id"], view=start_survey_modal(
                action["value"], default_days=surveys.DEFAULT_DAYS, max_days=surveys.MAX_DAYS))

    @app.view(Callback.START)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        slug, channel, anonymous, days = start_survey_from_state(view)
        if not slug or not channel or days is None:
            ack(response_action="errors", errors=start_survey_errors("Choose a channel and a number of days."))
            return
        team_id, user_id = body["team"]["id"], body["user"]["id"]
        if not (ctx.admins.get(team_id, user_id) or _listed(team_id, user_id, slug)):
            # Not known to be a manager without asking Slack: ack now (never wait on users.info
            # before an ack), then check and start after it; problems go to the DM.
            ack()
            with reported(body, client):
                _require(body, client, slug)
                _start_and_post(body, client, slug, channel, anonymous, days)
            return
        try:
            info = surveys.start_survey(ctx.factory, team_id=team_id, channel_id=channel, target_channel_id=channel,
                                        user_id=user_id, anonymous=anonymous, days=days, now=ctx.now(),
                                        single_workspace=ctx.single_workspace, product_slug=slug)
        except surveys.SurveyAlreadyOpen as err:
            n = err.survey.responses
            ack(response_action="errors", errors=start_survey_errors(
                f"This channel already has an open {err.survey.product_name} survey ({n} response"
                f"{'' if n == 1 else 's'} so far). Close it first with /pmf-check survey close there."))
            return
        except UserError as err:
            ack(response_action="errors", errors=start_survey_errors(str(err)))
            return
        ack()
        with reported(body, client):
            posted = survey_slack.post_survey(ctx, client, info)
            _tell_started(client, user_id, posted)
