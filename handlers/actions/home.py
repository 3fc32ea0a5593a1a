"""App Home button "Run check": the report and its chart for that product, sent to the
user's DM with the app (the Home tab has no place for a one-off reply), and a fresh Home."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.home.ids import Action as HomeAction
from bot.products.managers import custom_rules
from bot.reports.blocks import gate_report_message
from bot.reports.service import product_report
from bot.reports.slack import share_report
from handlers import background
from handlers.commands.router import Router
from handlers.events.home import publish_home


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.action(HomeAction.CHECK)
    def home_check(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, user_id = body["team"]["id"], body["user"]["id"]

        def check() -> None:
            b = product_report(ctx.factory, cache=ctx.reports, team_id=team_id, slug=action["value"],
                                              single_workspace=ctx.single_workspace, now=ctx.now())
            dm = client.conversations_open(users=user_id)["channel"]["id"]
            message = gate_report_message(b.report, chart_note="The chart of all three signals is below."
                                          if b.chart is not None else None,
                                          custom_rules=custom_rules(ctx.factory, product=b.product))
            share_report(client, dm, message, b.chart, filename=b.chart_filename, title=b.chart_title)
            publish_home(ctx, client, team_id, user_id)

        background.submit(ctx, check, body=body, client=client)
