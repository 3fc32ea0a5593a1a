"""The ``/pmf-check`` grammar: the first word picks a subcommand, each feature registers its
own. Parsing errors raise ``UserError`` with the right usage; nothing changes.

A subcommand handler gets a ``CommandRequest`` (who, where, the remaining words, and ``respond``)
and runs in the ``pmf.command`` job after the ack (``handlers.commands.pmf_check``).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from bot.context import AppContext
from bot.domain.suggest import did_you_mean
from bot.errors import UserError
from bot.jobs.effects import Effects, NoEffects
from bot.render.blocks import escape
from bot.slack.files import ChartMemo


@dataclass
class CommandRequest:
    ctx: AppContext
    team_id: str
    channel_id: str
    channel_name: str | None
    user_id: str
    text: str
    words: list[str]  # after the subcommand word
    respond: Callable[..., Any]
    client: WebClient  # the bot's WebClient for this team
    response_url: str | None = None
    trigger_id: str | None = None
    base_url: str | None = None  # where this app answers HTTP (from the request), None in Socket Mode
    # The job running this command (bot.jobs): its recorded effects, whether it ran before, and
    # the private-chart memo backed by those effects.
    effects: Effects = field(default_factory=NoEffects)
    rerun: bool = False
    chart_memo: ChartMemo | None = None

    @property
    def sent_charts(self) -> ChartMemo:
        return self.chart_memo if self.chart_memo is not None else self.ctx.sent_charts


Handler = Callable[[CommandRequest], None]


@dataclass(frozen=True)
class Subcommand:
    name: str
    handler: Handler
    usage: tuple[tuple[str, str], ...]  # (syntax, description) lines for `help`
    # Whether it also works in a direct message, where there is no channel to bind, share in or
    # survey (a product is then named in the words). Elsewhere in a DM, `pmf_check.DM_TEXT` explains.
    in_dm: bool = False


@dataclass
class Router:
    subcommands: dict[str, Subcommand] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, handler: Handler, usage: list[tuple[str, str]], aliases: tuple[str, ...] = (),
            *, in_dm: bool = False) -> None:
        self.subcommands[name] = Subcommand(name, handler, tuple(usage), in_dm)
        for a in aliases:
            self.aliases[a] = name

    def usage_lines(self) -> list[tuple[str, str]]:
        return [line for sub in self.subcommands.values() for line in sub.usage]

    def split(self, text: str) -> tuple[Subcommand, list[str]]:
        try:
            words = shlex.split(text or "")
        except ValueError:
            words = (text or "").split()
        name = words[0].lower() if words else "status"
        name = self.aliases.get(name, name)
        sub = self.subcommands.get(name)
        if sub is None:
            known = ", ".join(sorted(self.subcommands))
            hint = did_you_mean(name, [*self.subcommands, *(a for a in self.aliases if len(a) > 2)])
            raise UserError(f"Unknown subcommand `{escape(words[0])}`.{hint} Try one of: {known}.",
                            usage="/pmf-check help")
        return sub, words[1:]
