"""The "Custom rules" line (SPEC §8): one line naming every gate rule of a product that differs
from the defaults, with who set it and when, so a lowered bar is never silent. Pure: the
settings and the latest change of each key (from the audit) are passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.domain.default_rules import custom_settings, show
from bot.domain.settings import ProductSettings
from bot.domain.types import CustomSetting

CLI_ACTOR = "cli"
# Rules read as a percentage and the names people know them by.
_PERCENT = {"survey.threshold": "survey bar", "organic.min_share": "organic bar",
            "organic.untagged_paid_allowance": "untagged paid allowance"}


def _show(key: str, value: object) -> str:
    if key in _PERCENT and isinstance(value, float):
        return f"{value * 100:.0f}%" if key != "organic.untagged_paid_allowance" else f"{value:g}"
    return show(value)


def set_by(actor: str | None, at: datetime | None, *, mention: bool = True) -> str:
    """"set by <@U2> on 2 Dec" ("set by U2 on 2 Dec" in plain text); ``cli`` (or no recorded
    change: only the server can do that) reads "set from the command line"."""
    if actor is None or actor == CLI_ACTOR or at is None:
        return "set from the command line"
    who = f"<@{actor}>" if mention else actor
    return f"set by {who} on {at.day} {at:%b}"


def custom_rules_text(custom: Sequence[CustomSetting], changes: Mapping[str, tuple[str, datetime]], *,
                      mention: bool = True) -> str | None:
    """"Custom rules: survey bar 30% (default 40%), set by <@U2> on 2 Dec" for the settings that
    differ from the defaults (None when none does). ``changes`` maps a setting key to (actor,
    when) of its latest change; ``mention`` False writes user ids plainly (the CLI)."""
    parts = []
    for c in custom:
        name = _PERCENT.get(c.key, c.key)
        was = f" (default {_show(c.key, c.default)})" if c.default is not None else " (default map)"
        if c.key == "retention.active_events":
            was = " (default: every event counts)"
        actor, at = changes.get(c.key, (CLI_ACTOR, None))
        parts.append(f"{name} {_show(c.key, c.value)}{was}, {set_by(actor, at, mention=mention)}")
    return ("Custom rules: " + "; ".join(parts)) if parts else None


def custom_rules_line(settings: ProductSettings, changes: Mapping[str, tuple[str, datetime]], *,
                      mention: bool = True) -> str | None:
    """The line for a product's settings (see ``custom_rules_text``)."""
    return custom_rules_text(custom_settings(settings), changes, mention=mention)
