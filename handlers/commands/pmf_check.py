"""The ``/pmf-check`` listener: parse the first word, store the job, then ack.

A text that names no known subcommand is answered in the ack itself. Anything else is deferred
as the job ``pmf.command`` (its JSON arguments: who, where, the text, the ``response_url``) on
the request's own database transaction, and only once it is stored does the ack say "Working
on…" (SPEC §11); if it cannot be stored, the ack says so. A worker (PostgreSQL) or this process
(SQLite) runs the job: the router picks the subcommand's handler, whose replies go through
``bot.jobs.reply.JobResponder`` (each reply recorded once, so a rerun after a crash never
repeats one). Web processes never render reports or charts.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import Ack, App, BoltRequest
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.errors import UserError
from bot.jobs.effects import RecordedCharts
from bot.jobs.queue import queue_of
from bot.jobs.registry import INTERACTIVE, JobRun, Task
from bot.jobs.reply import JobResponder
from bot.render import blocks
from bot.render.plain import channel_names
from bot.slack.errors import PermanentSlackError, classify, error_code
from handlers.commands.router import CommandRequest, Router
from handlers.errors import describe

log = logging.getLogger(__name__)

COMMAND = "/pmf-check"
JOB = "pmf.command"
PLACEHOLDER = ":hourglass_flowing_sand: Working on `/pmf-check {text}`…"
NOT_QUEUED = (":warning: PMF Gate hit an internal problem: it could not queue `/pmf-check {text}` (its database "
              "did not answer), so nothing will happen. Please try again in a minute. Reference `{ref}`.")
DID_NOT_FINISH = ":warning: This did not finish: `/pmf-check {text}` failed {n} times. Please try again later."
# In a direct message only the subcommands registered with ``in_dm=True`` run (the report and
# lessons of a named product, the history, a digest into one's own DM, help); the rest get this.
DM_TEXT = (":information_source: `/pmf-check {sub}` works in a channel: run it in your product's channel "
           "(invite PMF Gate there with `/invite @PMF Gate`). Here in a direct message you can read a product "
           "by name: `/pmf-check status PRODUCT`, `/pmf-check lessons PRODUCT`, get the weekly digest with "
           "`/pmf-check digest weekly`, or see `/pmf-check help`.")


def base_url(request: BoltRequest | None) -> str | None:
    """This app's own address as the request reached it (``https://host``), for examples that
    must be copied as they are; None without an HTTP request (Socket Mode)."""
    if request is None or request.mode != "http":
        return None
    headers = request.headers or {}
    host = (headers.get("x-forwarded-host") or headers.get("host") or [""])[0].split(",")[0].strip()
    if not host:
        return None
    local = host.split(":")[0] in ("localhost", "127.0.0.1")
    scheme = (headers.get("x-forwarded-proto") or ["http" if local else "https"])[0].split(",")[0].strip()
    return f"{scheme}://{host}"


def in_dm(command: dict[str, Any]) -> bool:
    return str(command.get("channel_id", "")).startswith("D") or command.get("channel_name") == "directmessage"


def _responder(ctx: AppContext, run: JobRun) -> JobResponder:
    a = run.args
    return JobResponder(run, response_url=a.get("response_url"), client=ctx.client_for_team(a["team_id"]),
                        user_id=a["user_id"], now=ctx.now)


def run_command(ctx: AppContext, router: Router, run: JobRun) -> None:
    """The job: one subcommand, its replies recorded step by step."""
    a = run.args
    respond = _responder(ctx, run)
    try:
        sub, words = router.split(a["text"])
        req = CommandRequest(
            ctx=ctx, team_id=a["team_id"], channel_id=a["channel_id"], channel_name=a.get("channel_name"),
            user_id=a["user_id"], text=a["text"], words=words, respond=respond, client=respond.client,
            response_url=a.get("response_url"), base_url=a.get("base_url"), effects=run.effects, rerun=run.rerun,
            chart_memo=RecordedCharts(ctx.sent_charts, run.effects))
        sub.handler(req)
    except UserError as err:  # what to fix: the final reply, never retried
        log.info("user error team=%s channel=%s user=%s: %s", a["team_id"], a["channel_id"], a["user_id"], err)
        respond(**blocks.error_message(str(err), err.usage))
    except (SlackApiError, PermanentSlackError) as err:
        if classify(err).kind != "permanent":
            raise  # a 5xx, a timeout, a rate limit: the job is retried
        log.error("job %s: Slack refused a call team=%s channel=%s: %s", run.key, a["team_id"], a["channel_id"],
                  error_code(err))
        respond(**describe(err, run.key[:8]))  # a refusal is the answer: retrying would not change it


def gave_up(ctx: AppContext, run: JobRun, error: BaseException) -> None:
    shown = blocks.escape(channel_names(run.args["text"] or "status", unnamed="#channel"))
    message = describe(error, run.key[:8])
    message["text"] = DID_NOT_FINISH.format(text=shown, n=run.attempt + 1) + " " + message["text"]
    _responder(ctx, run)(**{**message, "blocks": None})


def register(app: App, ctx: AppContext, router: Router) -> None:
    ctx.jobs.add(Task(JOB, run=lambda c, r: run_command(c, router, r), queue=INTERACTIVE, gave_up=gave_up))

    @app.command(COMMAND)
    def pmf_check(ack: Ack, command: dict[str, Any], request: BoltRequest) -> None:
        text = (command.get("text") or "").strip()
        try:
            sub, _words = router.split(text)
        except UserError as err:
            ack(response_type="ephemeral", **blocks.error_message(str(err), err.usage))
            return
        if in_dm(command) and not sub.in_dm:
            ack(response_type="ephemeral", text=DM_TEXT.format(sub=sub.name))
            return
        # Inside the code span a channel mention would show as its raw id: show its name.
        shown = blocks.escape(channel_names(text or "status", unnamed="#channel"))
        args = {"team_id": command["team_id"], "enterprise_id": command.get("enterprise_id"),
                "channel_id": command["channel_id"], "channel_name": command.get("channel_name"),
                "user_id": command["user_id"], "text": text, "response_url": command.get("response_url"),
                "base_url": base_url(request)}
        try:
            queue_of(ctx).defer(JOB, args)
        except Exception as err:  # noqa: BLE001 - told in the ack; nothing was stored
            ref = uuid.uuid4().hex[:8]
            log.error("could not queue /pmf-check for team=%s channel=%s ref=%s: %s", command["team_id"],
                      command["channel_id"], ref, type(err).__name__)
            ack(response_type="ephemeral", text=NOT_QUEUED.format(text=shown, ref=ref))
            return
        ack(response_type="ephemeral", text=PLACEHOLDER.format(text=shown))
