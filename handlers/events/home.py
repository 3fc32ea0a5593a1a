"""App Home: on ``app_home_opened`` publish the verdict and signals of the workspace's
products, its digest subscriptions and open surveys (``views.publish``)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.context import AppContext
from bot.home import service as slack_services
from bot.home.blocks import home_view
from bot.products import access
from bot.workspaces.service import claim_event
from handlers import background
from handlers.commands.router import Router


def publish_home(ctx: AppContext, client: WebClient, team_id: str, user_id: str) -> None:
    # Where a SQL source is (host, database) shows only to the people who manage its product.
    admin, mine = access.managed(ctx, client, team_id=team_id, user_id=user_id)
    data = slack_services.home_data(ctx.factory, cache=ctx.reports, team_id=team_id, single_workspace=ctx.single_workspace,
                                    now=ctx.now(), manages=lambda product_id: admin or product_id in mine)

    def manages(slug: str) -> bool:
        return admin or data.product_ids.get(slug) in mine

    client.views_publish(user_id=user_id, view=home_view(
        data.entries, subscriptions=data.subscriptions, open_surveys=data.open_surveys, lessons=data.lessons,
        custom_rules=data.custom_rules, sources=data.sources, manages=manages))


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.event("app_home_opened")
    def home_opened(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id = str(context.team_id or body["team_id"])

        def publish() -> None:
            # A redelivered event (same event_id) is a no-op: the first one already published.
            if claim_event(ctx.factory, team_id=team_id, event_id=body["event_id"]):
                publish_home(ctx, client, team_id, event["user"])

        background.submit(ctx, publish, body=body, client=client)
