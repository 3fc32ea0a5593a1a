"""The App Home view: each product's verdict and signals, its buttons, subscriptions and open
surveys, within the Home tab's 100 blocks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.domain.default_rules import default_rules_line
from bot.domain.lessons import Lessons
from bot.domain.types import (
    GateReport,
)
from bot.home.ids import Action as HomeAction
from bot.render import limits
from bot.render.blocks import (
    RULE,
    STATUS_EMOJI,
    STATUS_FOOTER,
    VERDICT_EMOJI,
    VERDICT_TEXT,
    _button,
    _context,
    _divider,
    _header,
    _list_sections,
    _section,
    _signals,
    escape,
    no_data_text,
    num,
    signal_line,
)
from bot.render.lessons import lessons_summary

# --------------------------------------------------------------------------- App Home

_GETTING_STARTED = [
    "1. Create a product: `/pmf-check product create SLUG [NAME]`",
    "2. Import your data: `pmfbot import signups FILE --product SLUG`, "
    "`pmfbot import events FILE --product SLUG` (or the ingest API, `/pmf-check token`)",
    "3. Check it: `/pmf-check` (only you see it) or `/pmf-check share`",
    "4. Ask your users: `/pmf-check survey start`",
    "5. Get a weekly digest: `/pmf-check digest weekly`",
]
_HOME_PRODUCT_BLOCKS = 4  # summary section, signals section, actions, divider


def _home_product(report: GateReport | None, slug: str, name: str, lessons: Lessons | None = None,
                  rules: str | None = None, manages: bool = True) -> list[dict[str, Any]]:
    title = f"*{escape(name)}* `{escape(slug)}`"
    note = f"\n:warning: {rules}" if rules else ""
    if report is None or not report.has_data:
        summary = _section(f"{title}\n{no_data_text(name, slug)}{note}")
        signals = _context("Retention, organic growth and the survey show here once there is data.")
    else:
        v = report.verdict
        both = default_rules_line(report)  # custom rules never hide (SPEC §5)
        summary = _section(
            f"{title} — {VERDICT_EMOJI[v]} *{VERDICT_TEXT[v]}* · as of {report.as_of.isoformat()}"
            + (f"\n:warning: {escape(both)}" if both else "") + note
        )
        lines = [f"{STATUS_EMOJI[s.status]} {signal_line(label, s)}" for label, s in _signals(report)]
        if lessons is not None and lessons.respondents.scored:
            # The survey's lessons in the same section (no extra block): who loves it most, what
            # they love, what holds others back — phrases and counts, never quotes.
            lines.append(lessons_summary(lessons))
        signals = _section("\n".join(lines))
    elements = [_button("Run check", HomeAction.CHECK, slug, style="primary")]
    if manages:  # the manager-only buttons only for those who may use them (SPEC §8)
        elements += [
            _button("Start survey", HomeAction.SURVEY, slug),
            # It sends this week's digest to the clicker's DM: a private preview, never a channel post.
            _button("Preview digest in my DM", HomeAction.DIGEST, slug),
        ]
    actions = {"type": "actions", "elements": elements}
    return [summary, signals, actions, _divider()]


def home_view(
    entries: list[tuple[GateReport | None, str, str]],
    *,
    subscriptions: list[str],
    open_surveys: list[str],
    lessons: Mapping[str, Lessons] | None = None,
    custom_rules: dict[str, str] | None = None,
    sources: Sequence[str] = (),
    manages: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """The App Home tab (``views.publish``): per product (report or None, slug, name) the verdict,
    the three signals and buttons (``ACTION_HOME_*``, value = slug); then the digest
    subscriptions and open surveys, one mrkdwn line each from the caller (escape user input).
    ``lessons`` (by slug) adds the survey's lessons under a product's signals; ``custom_rules`` maps a
    slug to its "Custom rules: …" line (mrkdwn), shown on that product's card.
    ``sources``: one mrkdwn line per SQL source (its last sync, or why it failed), shown when there are any.
    ``manages(slug)``: whether the viewer may use a product's manager-only buttons (default: yes).
    With no products it shows "Getting started"."""
    blocks: list[dict[str, Any]] = [
        _header("PMF Gate"),
        _context(f"Product-market fit from your own data. _{RULE}_"),
        _divider(),
    ]
    tail = _list_sections("Digest subscriptions", [f"• {s}" for s in subscriptions] or [
        "_None. Subscribe a channel with `/pmf-check digest weekly`._"
    ], max_sections=3)
    tail += _list_sections("Open surveys", [f"• {s}" for s in open_surveys] or [
        "_None. Start one with `/pmf-check survey start`._"
    ], max_sections=3)
    if sources:
        tail += _list_sections("SQL sources", [f"• {s}" for s in sources], max_sections=2)
    tail.append(_context(STATUS_FOOTER))

    if not entries:
        blocks += _list_sections("Getting started", _GETTING_STARTED)
        blocks.append(_divider())
    else:
        room = limits.MAX_BLOCKS["home"] - len(blocks) - len(tail) - 1  # 1 for "…and N more"
        fits = min(len(entries), room // _HOME_PRODUCT_BLOCKS)
        for report, slug, name in entries[:fits]:
            blocks += _home_product(report, slug, name, (lessons or {}).get(slug), (custom_rules or {}).get(slug),
                                    manages is None or manages(slug))
        if fits < len(entries):
            blocks.append(_context(
                f"…and {num(len(entries) - fits)} more products. List them with `/pmf-check product`."
            ))
    return {"type": "home", "blocks": blocks + tail}

