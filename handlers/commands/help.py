"""``/pmf-check help``: the usage of every registered subcommand, the report's first."""

from __future__ import annotations

from slack_bolt import App

from bot.context import AppContext
from bot.render import blocks
from handlers.commands.args import expect_no_args
from handlers.commands.router import CommandRequest, Router

HELP_USAGE = [("/pmf-check help", "This list")]
# The everyday commands first; features registered later follow in registration order.
ORDER = ("status", "share", "history", "product", "survey", "digest", "config", "token", "help")


def register(app: App, ctx: AppContext, router: Router) -> None:
    def help_(req: CommandRequest) -> None:
        expect_no_args(req.words, "/pmf-check help")
        names = sorted(router.subcommands, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
        lines = [line for n in names for line in router.subcommands[n].usage]
        req.respond(**blocks.help_message(lines))

    router.add("help", help_, HELP_USAGE, aliases=("usage", "?"), in_dm=True)
