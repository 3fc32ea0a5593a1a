"""Small parsers for ``/pmf-check`` arguments, shared by every subcommand.

Slack escapes channel mentions in command text (``should_escape: true``): ``#general`` arrives
as ``<#C0123ABCD|general>`` (or ``<#C0123ABCD>``). A bare ``#name`` means Slack could not
resolve it, so we say so instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.errors import UserError
from bot.render.blocks import escape

MAX_ID = 20  # Slack's ids are shorter (bot.slack.guard.SLACK_ID); the columns hold 32
CHANNEL_RE = re.compile(r"^<#([CGD][A-Z0-9]{2,})(?:\|[^>]*)?>$")


def usage_text(lines: Sequence[tuple[str, str]]) -> str:
    """The usage block of a subcommand: its syntax lines, aligned."""
    width = max((len(syntax) for syntax, _ in lines), default=0)
    return "\n".join(f"{syntax.ljust(width)}  {desc}" for syntax, desc in lines)


def is_channel(word: str) -> bool:
    return bool(CHANNEL_RE.match(word)) or word.startswith("#")


def parse_channel(word: str, *, usage: str | None = None) -> str:
    """The channel id in an escaped mention; UserError for anything else."""
    m = CHANNEL_RE.match(word.strip())
    if m and len(m.group(1)) > MAX_ID:
        raise UserError(f"`{escape(m.group(1))}` is not a Slack channel id (at most {MAX_ID} characters): pick the "
                        "channel from the autocomplete list (type `#`).", usage=usage)
    if m:
        return m.group(1)
    if word.startswith("#"):
        raise UserError(f"Slack did not recognise the channel `{escape(word)}`: pick it from the autocomplete list "
                        "(type `#` and choose the channel) so the command receives a link to it.", usage=usage)
    raise UserError(f"`{escape(word)}` is not a channel; mention one like `#general`.", usage=usage)


def expect_no_args(words: Sequence[str], usage: str) -> None:
    if words:
        raise UserError(f"Unexpected `{escape(' '.join(words))}`.", usage=usage)


USER_RE = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")


def parse_user(word: str, *, usage: str | None = None) -> str:
    """The user id in an escaped mention (``<@U0123|alice>``); UserError for anything else."""
    m = USER_RE.match(word.strip())
    if m and len(m.group(1)) > MAX_ID:
        raise UserError(f"`{escape(m.group(1))}` is not a Slack user id (at most {MAX_ID} characters): pick the "
                        "person from the list (type `@`).", usage=usage)
    if m:
        return m.group(1)
    raise UserError(f"`{escape(word)}` is not a person; mention one like `@alice` (pick them from the list).",
                    usage=usage)
