"""The "Custom rules" line (SPEC §8): one line naming every gate rule of a product that differs
from the defaults, with who set it and when, so a lowered bar is never silent. Pure: the
settings and the latest change of each key (from the audit) are passed in."""

from __future__ import annotations

from datetime import datetime

from bot.domain.settings import ProductSettings

CLI_ACTOR = "cli"
# Rules read as a percentage and the names people know them by.
_PERCENT = {"survey.threshold": "survey bar", "organic.min_share": "organic bar",
            "organic.untagged_paid_allowance": "untagged paid allowance"}
# Answers about the product's data, not rules: the time zone, whether referrals are rewarded and
# how an ambiguous source counts (``organic.classify.NAME``) are facts a manager tells the gate.
_NOT_RULES = {"timezone", "organic.referrals_rewarded"}
_NOT_RULE_PREFIXES = ("organic.classify.",)


def _show(key: str, value: object) -> str:
    if key in _PERCENT and isinstance(value, float):
        return f"{value * 100:.0f}%" if key != "organic.untagged_paid_allowance" else f"{value:g}"
    return str(value)


def custom_rules_line(settings: ProductSettings, changes: dict[str, tuple[str, datetime]]) -> str | None:
    """"Custom rules: survey bar 30% (default 40%), set by <@U2> on 2 Dec" — or None when every
    rule is the default. ``changes`` maps a setting key to (actor, when) of its latest change;
    ``cli`` (or no recorded change: only the server can do that) reads "set from the command line"."""
    defaults = ProductSettings().to_dict_all()
    parts = []
    for key, value in settings.to_dict().items():
        if key in _NOT_RULES or key.startswith(_NOT_RULE_PREFIXES):
            continue
        name = _PERCENT.get(key, key)
        default = defaults.get(key)
        was = f" (default {_show(key, default)})" if default is not None else " (default map)"
        actor, at = changes.get(key, (CLI_ACTOR, None))
        if actor == CLI_ACTOR or at is None:
            who = "set from the command line"
        else:
            who = f"set by <@{actor}> on {at.day} {at:%b}"
        parts.append(f"{name} {_show(key, value)}{was}, {who}")
    return ("Custom rules: " + "; ".join(parts)) if parts else None
