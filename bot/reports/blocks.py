"""The gate report as Block Kit: the verdict, one section per signal, warnings, next steps and the
status key (``/pmf-check``, ``share``, the App Home's "Run check")."""

from __future__ import annotations

from typing import Any

from bot.domain.default_rules import default_rules_line
from bot.domain.types import (
    GateReport,
    Status,
)
from bot.render import limits
from bot.render.blocks import (
    HEADLINE,
    RULE,
    STATUS_EMOJI,
    STATUS_FOOTER,
    STATUS_LABEL,
    VERDICT_EMOJI,
    VERDICT_MEANING,
    VERDICT_TEXT,
    _bullets,
    _context,
    _divider,
    _header,
    _message,
    _plain,
    _section,
    _signal_parts,
    _signals,
    escape,
    no_data_fallback,
    no_data_text,
    pts,
    signal_line,
)

# --------------------------------------------------------------------------- gate report and digest


def _verdict_section(report: GateReport, previous: GateReport | None = None) -> dict[str, Any]:
    v = report.verdict
    text = f"{VERDICT_EMOJI[v]} *{VERDICT_TEXT[v]}*"
    if previous is not None and previous.verdict != v:
        text += f"  (last week: {VERDICT_TEXT[previous.verdict]})"
    if (both := default_rules_line(report)) is not None:  # custom rules never hide (SPEC §5)
        text += f"\n:warning: {escape(both)}"
    return _section(f"{text}\n{VERDICT_MEANING[v]}\n_{RULE}_")


def _change(
    now: float | None, before: float | None, status: Status, before_status: Status
) -> str:
    parts = []
    if now is not None and before is not None:
        delta = now - before
        parts.append("no change since last week" if abs(delta) < 0.0005 else f"{pts(delta)} since last week")
    elif now is not None:
        parts.append("new this week")
    if status != before_status:
        parts.append(f"was {STATUS_LABEL[before_status]}")
    return ", ".join(parts)


def _signal_changes(report: GateReport, previous: GateReport) -> list[str]:
    """Per signal, its headline value's change and any status change since ``previous``."""
    r, p = report, previous
    return [
        _change(r.retention.plateau_level, p.retention.plateau_level, r.retention.status, p.retention.status),
        _change(r.organic.organic_share, p.organic.organic_share, r.organic.status, p.organic.status),
        _change(r.survey.score, p.survey.score, r.survey.status, p.survey.status),
    ]


def _signal_sections(report: GateReport, previous: GateReport | None) -> list[dict[str, Any]]:
    changes = _signal_changes(report, previous) if previous is not None else ["", "", ""]
    out = []
    for (name, signal), change in zip(_signals(report), changes, strict=True):
        # One plain sentence on what it means for scaling, then the numbers (the domain's own
        # summary, which says them in words; the compact value line when there is none).
        label = f"{name} · {STATUS_LABEL[signal.status]}"
        text = f"{STATUS_EMOJI[signal.status]} *{label}* — {HEADLINE[name][signal.status]}"
        text += f"\n{escape(signal.summary) if signal.summary else _signal_parts(name, signal)[1].lstrip('— ')}"
        if change:
            text += f"\n_Change: {change}_"
        out.append(_section(text))
    return out


def _fallback(report: GateReport, title: str, previous: GateReport | None = None) -> str:
    name = escape(report.product_name)
    lines = [f"{title} — {name}, as of {report.as_of.isoformat()}: {VERDICT_TEXT[report.verdict]}. {RULE}"]
    if (both := default_rules_line(report)) is not None:
        lines.append(escape(both))
    changes = _signal_changes(report, previous) if previous is not None else ["", "", ""]
    for (label, signal), change in zip(_signals(report), changes, strict=True):
        lines.append(signal_line(label, signal) + (f" ({change})" if change else ""))
    for w in report.warnings:
        lines.append(f"Warning: {escape(w.message)}")
    if report.next_steps:
        lines.append("Next: " + " ".join(escape(s) for s in report.next_steps))
    return "\n".join(lines)


def _report_body(report: GateReport, previous: GateReport | None) -> list[dict[str, Any]]:
    blocks = [_verdict_section(report, previous), _divider(), *_signal_sections(report, previous)]
    if report.warnings:
        blocks.append(_bullets(":rotating_light: Warnings", [w.message for w in report.warnings]))
    if report.next_steps:
        blocks.append(_bullets("Next steps", report.next_steps))
    return blocks


def _chart_alt(report: GateReport) -> str:
    return limits.truncate(
        f"The three PMF signals of {report.product_name} as of {report.as_of.isoformat()}: "
        + "; ".join(signal_line(name, s) for name, s in _signals(report)),
        limits.IMAGE_ALT_TEXT,
    )


def gate_report_message(
    report: GateReport, *, image_url: str | None = None, chart_note: str | None = None,
    custom_rules: str | None = None,
) -> dict[str, Any]:
    """The gate report (``/pmf-check``, ``/pmf-check share``, ``pmfbot demo``): header, verdict,
    one section per signal, warnings, next steps, the chart (``image_url``, a publicly reachable
    PNG) or a context line ``chart_note`` (mrkdwn, e.g. "Chart posted in the thread"), and a
    footer explaining the statuses. ``custom_rules`` (mrkdwn) is the product's one "Custom rules:
    …" line (SPEC §8), shown under the header whenever it is given."""
    blocks = [_header(f"PMF Gate · {report.product_name} · {report.as_of.isoformat()}")]
    if custom_rules:
        blocks.append(_context(f":warning: {custom_rules}"))
    if not report.has_data:
        return no_data_message(report, blocks)
    blocks += _report_body(report, None)
    if image_url:
        blocks.append({
            "type": "image",
            "image_url": image_url,
            "alt_text": _chart_alt(report),
            "title": _plain("Retention, organic growth and the survey", limits.IMAGE_TITLE),
        })
    elif chart_note:
        blocks.append(_context(chart_note))
    blocks.append(_context(STATUS_FOOTER))
    return _message(_fallback(report, "PMF Gate"), blocks)




def no_data_message(report: GateReport, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """A product with no data yet (``report.has_data`` false): ``blocks`` (a header), then "No data
    for Acme yet" and the ways to get data in; no verdict, no next steps, no chart."""
    message = _message(no_data_fallback(report.product_name, report.product),
                       [*blocks, _section(no_data_text(report.product_name, report.product))])
    limits.validate_message(message)
    return message
