"""The weekly digest's buttons: "Run a PMF survey" starts a survey in the digest's channel,
"Details" answers with the full gate report, visible only to whoever clicked; and the App Home
button "Preview digest in my DM", which sends the digest to the clicker's DM with the app (a
preview that posts nowhere public; subscribing a channel is ``/pmf-check digest weekly``). A button in a shared message never replaces that message. The survey
and the preview buttons are for the product's managers (SPEC §8), checked after the ack."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.digests import service as digests
from bot.digests.ids import Action as DigestAction
from bot.digests.slack import send_digest_now
from bot.home.ids import Action as HomeAction
from bot.products import access, managers
from bot.reports.blocks import gate_report_message
from bot.reports.service import product_report
from bot.slack.respond import Responder
from handlers.commands.router import Router
from handlers.errors import reported

SURVEY_HINT = ("Start a survey in this channel with `/pmf-check survey start [#channel] [anonymous] [days N]`.")


def _reply(body: dict[str, Any], message: dict[str, Any]) -> None:
    Responder(body.get("response_url"))(**message, response_type="ephemeral", replace_original=False)


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.action(DigestAction.SURVEY)
    def run_survey(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        with reported(body, client):
            try:
                from bot.surveys import blocks as survey_blocks
                from bot.surveys import service as surveys
                from bot.surveys import slack as survey_slack
            except ImportError:
                _reply(body, {"text": SURVEY_HINT})
                return
            team_id, channel_id = body["team"]["id"], body["channel"]["id"]
            product = managers.target_product(ctx.factory, team_id=team_id, single_workspace=ctx.single_workspace,
                                              channel_id=channel_id)
            access.require_manager(ctx, client, team_id=team_id, user_id=body["user"]["id"], product=product,
                                   what=f"start surveys for `{product.slug}`")
            info = surveys.start_survey(ctx.factory, team_id=body["team"]["id"], channel_id=body["channel"]["id"],
                                        target_channel_id=None, user_id=body["user"]["id"], anonymous=False,
                                        days=surveys.DEFAULT_DAYS, now=ctx.now(),
                                        single_workspace=ctx.single_workspace)
            _reply(body, survey_blocks.survey_started(survey_slack.post_survey(ctx, client, info)))

    @app.action(DigestAction.DETAILS)
    def details(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        with reported(body, client):
            bundle = product_report(ctx.factory, cache=ctx.reports, team_id=body["team"]["id"], slug=action["value"],
                                                   single_workspace=ctx.single_workspace, now=ctx.now(),
                                                   with_chart=False)
            _reply(body, gate_report_message(bundle.report, chart_note="The digest's chart is in the channel.",
                                             custom_rules=managers.custom_rules(ctx.factory, product=bundle.product)))

    @app.action(HomeAction.DIGEST)
    def home_digest(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        with reported(body, client):
            team_id, user_id = body["team"]["id"], body["user"]["id"]
            product = digests.product_by_slug(ctx.factory, team_id=team_id, single_workspace=ctx.single_workspace,
                                              slug=action["value"])
            access.require_manager(ctx, client, team_id=team_id, user_id=user_id, product=product,
                                   what=f"send the digest of `{product.slug}`")
            dm = client.conversations_open(users=user_id)["channel"]["id"]
            send_digest_now(ctx, team_id=team_id, channel_id=dm, product=product, client=client)
