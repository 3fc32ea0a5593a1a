"""The gate's history as Block Kit (``/pmf-check history``) and as plain text (``pmfbot
history``): one line per week with the verdict and the three numbers, each with its interval."""

from __future__ import annotations

from typing import Any

from bot.domain.default_rules import default_rules_short, show
from bot.domain.weeks import week_start
from bot.history.values import History, HistoryWeek
from bot.render.blocks import (
    PLATEAU_CI_LEVEL,
    RULE,
    SCORE_CI_LEVEL,
    SHARE_CI_LEVEL,
    STATUS_EMOJI,
    STATUS_FOOTER,
    STATUS_LABEL,
    VERDICT_EMOJI,
    VERDICT_TEXT,
    _context,
    _header,
    _list_sections,
    _message,
    escape,
    num,
    pct,
    pct_ci,
    retention_n,
)

MAX_LINES = 40  # weeks listed in Slack (one section each at most); the chart shows them all


def _value(v: float | None, ci: tuple[float, float] | None, level: int) -> str:
    if v is None:
        return "—"
    return f"{pct(v)} ({pct_ci(ci, level)})"


def week_parts(w: HistoryWeek) -> tuple[str, str, str, str]:
    """(week, retention, organic, survey) of one week in words, statuses spelled out."""
    r = w.report
    ret = f"plateau {_value(r.retention.plateau_level, r.retention.plateau_level_ci, PLATEAU_CI_LEVEL)}"
    if r.retention.plateau_level is not None:
        ret += f", {retention_n(r.retention)}"
    org = f"organic {_value(r.organic.organic_share, r.organic.organic_share_ci, SHARE_CI_LEVEL)}"
    sur = f"score {_value(r.survey.score, r.survey.ci, SCORE_CI_LEVEL)}, n={num(r.survey.responses)}"
    return (f"week of {week_start(w.week).isoformat()}", ret, org, sur)


def _defaults_note(w: HistoryWeek) -> str:
    note = default_rules_short(w.report)
    return f" ({note})" if note else ""


def rules_summary(h: History) -> str | None:
    """Under custom rules, one plain line: which rules every week was computed with, in how many
    weeks the default rules read otherwise, and the next step (None when every rule is the default)."""
    if not h.custom_rules:
        return None
    rules = ", ".join(f"{c.key} {show(c.value)} (default {show(c.default)})" for c in h.custom_rules)
    differ = (f"with the default rules the verdict reads otherwise in {h.weeks_differing} of {len(h.weeks)} "
              "weeks (marked)" if h.weeks_differing else "the default rules give the same verdict every week")
    return (f"Every week is computed with your custom rules ({rules}); {differ}. "
            "See who set them with `/pmf-check config history`.")


def _changes(h: History) -> list[str]:
    last = h.weeks[-1].week if h.weeks else None
    return [f"Rules changed in the week of {week_start(week).isoformat()}: {what}"
            + (" (after the weeks shown: every week here is computed with the new rules)"
               if last is not None and week > last else "")
            for week, what in h.rule_changes]


def _line(w: HistoryWeek) -> str:
    r = w.report
    when, ret, org, sur = week_parts(w)
    return (f"{VERDICT_EMOJI[r.verdict]} *{when}* · {VERDICT_TEXT[r.verdict]}{escape(_defaults_note(w))}\n"
            f"   {STATUS_EMOJI[r.retention.status]} {ret} · {STATUS_EMOJI[r.organic.status]} {org} · "
            f"{STATUS_EMOJI[r.survey.status]} {sur}")


def _summary(h: History) -> str:
    if not h.weeks:
        return "No complete week of data yet: the history starts once a week has ended."
    first, last = h.weeks[0].report, h.weeks[-1].report
    parts = [f"{len(h.weeks)} week{'s' if len(h.weeks) != 1 else ''}"]
    if first.survey.score is not None and last.survey.score is not None and len(h.weeks) > 1:
        parts.append(f"Ellis score {pct(first.survey.score)} → {pct(last.survey.score)} "
                     f"(bar {pct(h.threshold, 0)})")
    parts.append(f"now: {VERDICT_TEXT[last.verdict]}")
    return " · ".join(parts)


def data_note(h: History) -> str | None:
    """The newest week's "the data ends in the week of …" warning (bot/domain/freshness.py), said
    once above the weeks: every week after the data ends would otherwise read as churn."""
    if not h.weeks:
        return None
    return next((w.message for w in h.weeks[-1].report.warnings if w.code == "stale_data"), None)


def history_message(h: History, *, chart_note: str | None = None) -> dict[str, Any]:
    """The history in Slack: a header, a one-line summary, the newest weeks first (as many as
    fit), the status key and where the trajectory chart is."""
    blocks: list[dict[str, Any]] = [_header(f"{h.product_name} · PMF week by week")]
    blocks.append(_context(escape(_summary(h))))
    if (stale := data_note(h)) is not None:
        blocks.append(_context(":warning: " + escape(stale)))
    if (rules := rules_summary(h)) is not None:
        blocks.append(_context(":warning: " + escape(rules)))
    if changes := _changes(h):
        blocks.append(_context(*[escape(c) for c in changes[-5:]]))
    lines = [_line(w) for w in reversed(h.weeks)][:MAX_LINES]
    if lines:
        blocks += _list_sections("", lines)
    if chart_note:
        blocks.append(_context(chart_note))  # mrkdwn written by us (a link to the chart)
    blocks.append(_context(STATUS_FOOTER, f"_{RULE}_"))
    return _message(f"{h.product_name}: PMF week by week — {_summary(h)}", blocks)


def history_text(h: History) -> str:
    """``pmfbot history`` without ``--json``: one line per week, oldest first."""
    out = [f"{h.product_name} · PMF week by week", _summary(h)]
    if (stale := data_note(h)) is not None:
        out.append(f"! {stale}")
    if (rules := rules_summary(h)) is not None:
        out.append(rules)
    out += _changes(h)
    out.append("")
    for w in h.weeks:
        r = w.report
        when, ret, org, sur = week_parts(w)
        out.append(f"{when}  {VERDICT_TEXT[r.verdict]}{_defaults_note(w)}")
        out.append(f"    retention {STATUS_LABEL[r.retention.status]}: {ret}")
        out.append(f"    organic   {STATUS_LABEL[r.organic.status]}: {org}")
        out.append(f"    survey    {STATUS_LABEL[r.survey.status]}: {sur}")
    return "\n".join(out)
