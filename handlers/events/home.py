"""App Home: on ``app_home_opened`` publish the verdict and signals of the workspace's
products, its digest subscriptions and open surveys (``views.publish``). Computing them means
reports, so the listener only stores the job ``pmf.home.publish`` (web processes never render);
the job claims the event once (a redelivered event_id is a no-op) and publishes."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.context import AppContext
from bot.home import service as slack_services
from bot.home.blocks import home_view
from bot.jobs.queue import queue_of
from bot.jobs.registry import INTERACTIVE, JobRun, Task
from bot.products import access
from bot.workspaces.service import claim_event
from handlers.commands.router import Router
from handlers.errors import tell_user

JOB = "pmf.home.publish"


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


def run_publish(ctx: AppContext, run: JobRun) -> None:
    a = run.args
    # The claim is a recorded step: a rerun after a crash still publishes (views.publish replaces).
    claimed = run.effects.once("claim", lambda: "1" if claim_event(ctx.factory, team_id=a["team_id"],
                                                                   event_id=a["event_id"]) else "0")
    if claimed == "1" and not run.effects.done("publish"):
        publish_home(ctx, ctx.client_for_team(a["team_id"]), a["team_id"], a["user_id"])
        run.effects.record("publish")


def register(app: App, ctx: AppContext, router: Router) -> None:
    ctx.jobs.add(Task(JOB, run=run_publish, queue=INTERACTIVE))

    @app.event("app_home_opened")
    def home_opened(body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id = str(context.team_id or body["team_id"])
        try:
            queue_of(ctx).defer(JOB, {"team_id": team_id, "user_id": event["user"], "event_id": body["event_id"]})
        except Exception as err:  # noqa: BLE001 - the Home tab says so instead of staying blank
            tell_user(err, body, client)
