"""Plain-text and JSON presentations of domain values for the CLI and the demo.

The cohort JSON is the SPEC §4 contract; the report text is what ``pmfbot check`` prints and
reads the same as the Slack message, numbers always with their n and interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.default_rules import default_rules_line, same_verdict_note
from bot.domain.gate import STATUS_WORD, verdict_text
from bot.domain.types import CohortTable, GateReport
from bot.domain.weeks import week_start
from bot.products.rules import custom_rules_text

STATUS_MARK = {status: word.upper() for status, word in STATUS_WORD.items()}  # [PASS] ... [NOT ENOUGH DATA]


def cohorts_json(table: CohortTable, product: str, timezone: str) -> dict[str, Any]:
    return {
        "product": product,
        "as_of": table.as_of.isoformat(),
        "week_starts_on": "monday",
        "timezone": timezone,
        "cohorts": [{"week": week_start(c.week).isoformat(), "size": c.size, "active": list(c.active)}
                    for c in table.cohorts],
        "average": [{"week_offset": p.week_offset, "retention": round(p.retention, 4), "users": p.users,
                     "cohorts": p.cohorts} for p in table.average],
    }


def cohorts_text(table: CohortTable, max_offsets: int = 12) -> str:
    if not table.cohorts:
        return f"No complete cohorts as of {table.as_of.isoformat()}."
    lines = [f"Weekly cohorts as of {table.as_of.isoformat()} (% of the cohort active k weeks after signup)",
             "cohort       size  " + " ".join(f"{k:>5}" for k in range(max_offsets))]
    for c in table.cohorts:
        cells = " ".join(f"{100 * a / c.size:5.1f}" if c.size else "    -" for a in c.active[:max_offsets])
        lines.append(f"{week_start(c.week).isoformat()} {c.size:6d}  {cells}")
    avg = " ".join(f"{100 * p.retention:5.1f}" for p in table.average[:max_offsets])
    lines.append(f"{'average':10} {'':6}  {avg}")
    return "\n".join(lines)


def rules_lines(report: GateReport, changes: Mapping[str, tuple[str, datetime]] | None = None) -> list[str]:
    """Under custom rules (SPEC §5 "Custom rules never hide"), in plain text: both verdicts
    when they differ, with the way back to the defaults, and the "Custom rules: …" line with who
    set each rule and when; nothing when every rule is the default."""
    d = report.default_rules
    if d is None:
        return []
    both = default_rules_line(report)
    rules = custom_rules_text(d.custom, changes or {}, mention=False)
    if rules and both is None:
        rules += ". " + (same_verdict_note(report) or "")
    return [line for line in (both, rules) if line]


def report_text(report: GateReport, changes: Mapping[str, tuple[str, datetime]] | None = None) -> str:
    """``pmfbot check``; ``changes`` (setting key -> (actor, when), from the audit) names who set
    each custom rule."""
    r, o, s = report.retention, report.organic, report.survey
    lines = [
        f"PMF Gate — {report.product_name} as of {report.as_of.isoformat()}",
        f"Verdict: {verdict_text(report.verdict)}",
        *rules_lines(report, changes),
        "",
        f"  Retention plateau   [{STATUS_MARK[r.status]}] {r.summary}",
        *([f"                      {r.active_events.line()}"] if r.active_events else []),
        f"  Organic growth      [{STATUS_MARK[o.status]}] {o.summary}",
        f"  Sean Ellis survey   [{STATUS_MARK[s.status]}] {s.summary}",
    ]
    if report.warnings:
        lines += ["", "Warnings:"] + [f"  ! {w.message}" for w in report.warnings]
    if report.next_steps:
        lines += ["", "Next steps:"] + [f"  - {n}" for n in report.next_steps]
    return "\n".join(lines)
