"""The ``/pmf-check`` listener: parse the first word, ack at once, then run the subcommand.

The ack happens before any database or Slack call, so it always lands within Slack's 3 s: a
text that names no known subcommand is answered in the ack itself; anything else acks with a
"working on it" placeholder that the subcommand's first reply replaces. The subcommand then
runs on ``handlers.background``'s pool, off Bolt's listener threads, so a burst of reports
never delays the acks behind it; its errors are told to the user by ``handlers.errors``.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
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


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.command(COMMAND)
    def pmf_check(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        text = (command.get("text") or "").strip()
        try:
            sub, words = router.split(text)
        except UserError as err:
            ack(response_type="ephemeral", **blocks.error_message(str(err), err.usage))
            return
        # Inside the code span a channel mention would show as its raw id: show its name.
        shown = blocks.escape(channel_names(text or "status", unnamed="#channel"))
        ack(response_type="ephemeral", text=PLACEHOLDER.format(text=shown))
        req = CommandRequest(
            ctx=ctx, team_id=command["team_id"], channel_id=command["channel_id"],
            channel_name=command.get("channel_name"), user_id=command["user_id"], text=text, words=words,
            respond=Responder(command.get("response_url"), replace_first=True), client=client,
            response_url=command.get("response_url"), trigger_id=command.get("trigger_id"),
        )
        background.submit(ctx, lambda: sub.handler(req), body=command, client=client,
                          placeholder=f"/pmf-check {shown}")
