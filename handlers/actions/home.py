"""App Home button "Run check": the report and its chart for that product, sent to the
user's DM with the app (the Home tab has no place for a one-off reply), and a fresh Home. The
listener acks and stores the job ``pmf.home.check``; a worker renders and posts (the DM post and
its chart are recorded steps, so a rerun never sends them twice)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.errors import UserError
from bot.home.ids import Action as HomeAction
from bot.jobs.queue import queue_of
from bot.jobs.registry import INTERACTIVE, JobRun, Task
from bot.products.managers import custom_rules
from bot.reports.blocks import gate_report_message
from bot.reports.service import product_report
from bot.reports.slack import share_report
from bot.slack import post
from handlers.commands.router import Router
from handlers.errors import ERROR_EVENT, describe, tell_user
from handlers.events.home import publish_home

log = logging.getLogger(__name__)

JOB = "pmf.home.check"
NOT_QUEUED = ":warning: PMF Gate could not start this check (its database did not answer). Please try again in a minute."


def run_check(ctx: AppContext, run: JobRun) -> None:
    a = run.args
    team_id, user_id = a["team_id"], a["user_id"]
    client = ctx.client_for_team(team_id)
    try:
        b = product_report(ctx.factory, cache=ctx.reports, team_id=team_id, slug=a["slug"],
                           single_workspace=ctx.single_workspace, now=ctx.now())
    except UserError as err:  # what to fix (e.g. the product is gone): the final answer, never retried
        log.info("user error in a Home check team=%s user=%s: %s", team_id, user_id, err)
        run.effects.once("error-dm", partial(_tell, ctx, run, err))
        return
    dm = run.effects.once("dm", lambda: client.conversations_open(users=user_id)["channel"]["id"])
    message = gate_report_message(b.report, chart_note="The chart of all three signals is below."
                                  if b.chart is not None else None,
                                  custom_rules=custom_rules(ctx.factory, product=b.product))
    share_report(client, str(dm), message, b.chart, filename=b.chart_filename, title=b.chart_title,
                 steps=run.effects, delivery=run.key, rerun=run.rerun)
    publish_home(ctx, client, team_id, user_id)


def _tell(ctx: AppContext, run: JobRun, error: BaseException) -> str | None:
    """The error by DM, named like every error DM (so an ambiguous failure is reconciled in the DM)."""
    ref = run.key[:8]
    return post.dm(ctx.client_for_team(run.args["team_id"]), run.args["user_id"], describe(error, ref),
                   meta=post.metadata(ERROR_EVENT, ref=ref))


def gave_up(ctx: AppContext, run: JobRun, error: BaseException) -> None:
    _tell(ctx, run, error)


def register(app: App, ctx: AppContext, router: Router) -> None:
    ctx.jobs.add(Task(JOB, run=run_check, queue=INTERACTIVE, gave_up=gave_up))

    @app.action(HomeAction.CHECK)
    def home_check(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            queue_of(ctx).defer(JOB, {"team_id": body["team"]["id"], "user_id": body["user"]["id"],
                                      "slug": action["value"]})
        except Exception as err:  # noqa: BLE001 - told by DM, like every Home error
            log.error("could not queue a Home check for team=%s: %s", body["team"]["id"], type(err).__name__)
            tell_user(RuntimeError(NOT_QUEUED), body, client)
