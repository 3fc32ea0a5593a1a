"""The weekly digest's chart: the verdict and all three signals on one 1200×800 image, with last
week's values beside this week's."""

from __future__ import annotations

import textwrap
from typing import Any

from matplotlib.axes import Axes

from bot.domain.settings import DEFAULT_ORGANIC_MIN_SHARE, DEFAULT_ORGANIC_WINDOW_WEEKS, DEFAULT_SURVEY_THRESHOLD
from bot.domain.types import (
    GateReport,
    Status,
)
from bot.render import palette
from bot.render.blocks import (
    PLATEAU_CI_LEVEL,
    SCORE_CI_LEVEL,
    SHARE_CI_LEVEL,
    VERDICT_TEXT,
    pct,
    pct_ci,
    pts,
    retention_n,
)
from bot.render.blocks import STATUS_LABEL as STATUS_WORD
from bot.render.charts import (
    _DIGEST,
    _RULE,
    DIGEST_SIZE,
    _figure,
    _Fonts,
    _no_data,
    _panel_title,
    _png,
)
from bot.render.names import DIGEST_CHART, SURVEY_CHART
from bot.reports.charts import _draw_organic, _draw_retention
from bot.surveys.charts import _draw_answers, _draw_score


def digest_chart(
    report: GateReport,
    *,
    previous: GateReport | None = None,
    min_share: float = DEFAULT_ORGANIC_MIN_SHARE,
    threshold: float = DEFAULT_SURVEY_THRESHOLD,
    window_weeks: int = DEFAULT_ORGANIC_WINDOW_WEEKS,
    name: str = DIGEST_CHART,
) -> bytes:
    """One composite figure for the weekly digest: retention curve, organic share, survey score
    against its threshold, and the verdict with each signal's status and change since
    ``previous``. Pass the product's ``min_share``/``threshold``/``window_weeks`` settings; ``name``
    is the chart's name in its title (``SIGNALS_CHART`` for ``/pmf-check``)."""
    fonts = _DIGEST
    fig, body = _figure(DIGEST_SIZE, report.product_name, name, digest_subtitle(report), fonts)
    grid = body.add_gridspec(2, 2)
    verdict_ax = body.add_subplot(grid[0, 0])
    ret_ax = body.add_subplot(grid[0, 1])
    org_ax = body.add_subplot(grid[1, 0])
    survey_grid = grid[1, 1].subgridspec(2, 1, height_ratios=[1.5, 1.0])
    answers_ax, gauge_ax = body.add_subplot(survey_grid[0]), body.add_subplot(survey_grid[1])

    _draw_verdict(verdict_ax, report, previous, fonts)

    _panel_title(ret_ax, "Retention", report.retention.status, fonts)
    if report.cohort_table is None:
        _no_data(ret_ax, "No cohort table", "Retention curve not available for this report.", fonts)
    else:
        _draw_retention(ret_ax, report.cohort_table, report.retention, fonts, cohorts=0, legend=False)

    _panel_title(org_ax, "Organic share of signups", report.organic.status, fonts)
    _draw_organic(org_ax, report.organic, report.as_of, min_share, window_weeks, fonts, legend=False)

    s = report.survey
    _panel_title(answers_ax, SURVEY_CHART, s.status, fonts)
    if s.counts.scored + s.counts.na == 0:
        _no_data(answers_ax, "No responses yet", "Start one with /pmf-check survey start.", fonts)
        gauge_ax.set_axis_off()
    else:
        _draw_answers(answers_ax, s.counts, fonts, compact=True)
        before = previous.survey.score if previous is not None else None
        _draw_score(gauge_ax, s.score, s.ci, threshold, s.responses, fonts, previous=before,
                    compact=True, status=s.status, weighted=s.weighted)
    return _png(fig)


def digest_subtitle(report: GateReport) -> str:
    return f"as of {report.as_of.isoformat()} · {_RULE}"


# --------------------------------------------------------------------------- verdict panel


_GLYPH: dict[Status, str] = {"pass": "●", "borderline": "◆", "fail": "✖", "insufficient_data": "○"}


def _signal_rows(report: GateReport, previous: GateReport | None) -> list[tuple[Status, str, str]]:
    """(status, headline, numbers) for each signal: "Retention · pass · +0.4 pts vs last week",
    "plateau 30.0% (90% CI 26.9–32.9%), 474 users in 3 cohorts" (the tail's; the panel is narrow)."""
    r, o, s, p = report.retention, report.organic, report.survey, previous
    rows = [
        (r.status, "Retention", "plateau", r.plateau_level, r.plateau_level_ci, PLATEAU_CI_LEVEL,
         retention_n(r, total=False), p.retention.plateau_level if p else None),
        (o.status, "Organic growth", "organic", o.organic_share, o.organic_share_ci, SHARE_CI_LEVEL,
         f"n={o.organic_signups + o.paid_signups:,} signups", p.organic.organic_share if p else None),
        (s.status, "Survey", "very disappointed", s.score, s.ci, SCORE_CI_LEVEL, f"n={s.responses:,}",
         p.survey.score if p else None),
    ]
    out = []
    for status, name, what, value, ci, level, n, before in rows:
        head = f"{name} · {STATUS_WORD[status]}"
        if p is not None and value is not None:
            head += " · new this week" if before is None else f" · {pts(value - before)} vs last week"
        numbers = f"{n} so far" if value is None else f"{what} {pct(value)} ({pct_ci(ci, level)}), {n}"
        out.append((status, head, numbers))
    return out


def _draw_verdict(ax: Axes, report: GateReport, previous: GateReport | None, fonts: _Fonts) -> None:
    """Verdict box, then one two-line row per signal, then the first warning; laid out in points
    from the top-left corner so the spacing does not depend on the panel's size."""
    ax.set_axis_off()

    def put(text: str, y_pt: float, x_pt: float = 4, **kw: Any) -> None:
        ax.annotate(text, xy=(0, 1), xycoords="axes fraction", xytext=(x_pt, -y_pt),
                    textcoords="offset points", ha="left", va="top", **kw)

    v = report.verdict
    put(VERDICT_TEXT[v], 6, x_pt=8, fontsize=fonts.title + 2, fontweight="bold", color=palette.TEXT_ON_COLOUR,
        bbox={"boxstyle": "round,pad=0.45", "facecolor": palette.verdict_color(v), "edgecolor": "none"})
    y = 52.0
    if previous is not None and previous.verdict != v:
        put(f"last week: {VERDICT_TEXT[previous.verdict]}", y, fontsize=fonts.annot, color=palette.NOTE)
        y += 18
    line = fonts.annot * 1.35
    for status, head, numbers in _signal_rows(report, previous):
        put(_GLYPH[status], y - 1, fontsize=fonts.annot + 3, color=palette.STATUS_COLOR[status])
        put(head, y, x_pt=24, fontsize=fonts.annot, fontweight="bold")
        put(numbers, y + line, x_pt=24, fontsize=fonts.annot)
        y += 2 * line + 9
    if report.warnings:
        more = f" (+{len(report.warnings) - 1} more)" if len(report.warnings) > 1 else ""
        lines = textwrap.wrap(f"⚠ {report.warnings[0].message}{more}", 66)
        if len(lines) > 3:
            lines = [*lines[:2], lines[2][:62] + "…"]
        put("\n".join(lines), y, fontsize=fonts.annot - 1, color=palette.WARNING, linespacing=1.25)
