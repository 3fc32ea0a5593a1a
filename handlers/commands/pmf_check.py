"""The ``/pmf-check`` listener: parse the first word, ack at once, then run the subcommand.

The ack happens before any database or Slack call, so it always lands within Slack's 3 s: a
text that names no known subcommand is answered in the ack itself; anything else acks with a
"working on it" placeholder that the subcommand's first reply replaces. The subcommand then
runs on ``handlers.background``'s pool, off Bolt's listener threads, so a burst of reports
never delays the acks behind it; its errors are told to the user by ``handlers.errors``.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient

from bot.context import AppContext
from bot.errors import UserError
from bot.render import blocks
from bot.render.plain import channel_names
from bot.slack.respond import Responder
from handlers import background
from handlers.commands.router import CommandRequest, Router

COMMAND = "/pmf-check"
PLACEHOLDER = ":hourglass_flowing_sand: Working on `/pmf-check {text}`…"
# In a direct message there is no channel to bind, share in or survey: these work there (the report
# and lessons of a named product, the history, a digest into one's own DM, help).
DM_SUBCOMMANDS = ("help", "status", "lessons", "history", "digest")
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


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.command(COMMAND)
    def pmf_check(ack: Ack, command: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        text = (command.get("text") or "").strip()
        try:
            sub, words = router.split(text)
        except UserError as err:
            ack(response_type="ephemeral", **blocks.error_message(str(err), err.usage))
            return
        if in_dm(command) and sub.name not in DM_SUBCOMMANDS:
            ack(response_type="ephemeral", text=DM_TEXT.format(sub=sub.name))
            return
        # Inside the code span a channel mention would show as its raw id: show its name.
        shown = blocks.escape(channel_names(text or "status", unnamed="#channel"))
        ack(response_type="ephemeral", text=PLACEHOLDER.format(text=shown))
        req = CommandRequest(
            ctx=ctx, team_id=command["team_id"], channel_id=command["channel_id"],
            channel_name=command.get("channel_name"), user_id=command["user_id"], text=text, words=words,
            respond=Responder(command.get("response_url"), replace_first=True), client=client,
            response_url=command.get("response_url"), trigger_id=command.get("trigger_id"),
            base_url=base_url(request),
        )
        background.submit(ctx, lambda: sub.handler(req), body=command, client=client,
                          placeholder=f"/pmf-check {shown}")
