"""PNG charts of the PMF signals, drawn with matplotlib's ``Figure`` API on the Agg canvas.

Never pyplot: no global figure registry, no GUI backend, safe on Bolt's worker threads. Every
function takes domain values and returns PNG bytes; the same input gives the same bytes (no
date or software metadata, explicit font sizes instead of the global ``rcParams``). Charts are
sized for Slack's preview (about 800×500 px, the digest 1200×800 px), use the Okabe–Ito
colour-blind-safe palette, never rely on colour alone (statuses are also written out or drawn
with distinct marker shapes), and are titled with the product name and as-of date. Missing or
insufficient data gives a chart that says so instead of an exception.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure, SubFigure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from bot.domain.survey import wilson
from bot.domain.types import (
    Cohort,
    CohortTable,
    GateReport,
    OrganicSignal,
    RetentionSignal,
    Status,
    SurveyCounts,
    Verdict,
)
from bot.domain.weeks import last_complete_week, week_start
from bot.render.blocks import (
    PLATEAU_CI_LEVEL,
    SCORE_CI_LEVEL,
    SHARE_CI_LEVEL,
    SLOPE_CI_LEVEL,
    TREND_CI_LEVEL,
    VERDICT_TEXT,
    pct,
    pct_ci,
    pts,
    pts_ci,
)
from bot.render.blocks import STATUS_LABEL as STATUS_WORD

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency.
BLACK = "#000000"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#7F7F7F"
LIGHT_GREY = "#BBBBBB"

STATUS_COLOR: dict[Status, str] = {
    "pass": GREEN,
    "borderline": ORANGE,
    "fail": VERMILLION,
    "insufficient_data": GREY,
}
# Shape as well as colour, so that a status reads without colour vision.
STATUS_MARKER: dict[Status, str] = {
    "pass": "o",
    "borderline": "D",
    "fail": "X",
    "insufficient_data": "o",
}
VERDICT_COLOR: dict[Verdict, str] = {"ready": GREEN, "not_ready": VERMILLION, "unclear": ORANGE}

DPI = 100
SIZE = (8.0, 5.0)  # inches: 800×500 px at DPI
DIGEST_SIZE = (12.0, 8.0)  # 1200×800 px
HEATMAP_MAX_ROWS = 16
HEATMAP_MAX_COLS = 26
RECENT_COHORTS = 3
_COHORT_STYLES = ((SKY, "s"), (ORANGE, "^"), (PURPLE, "D"), (GREEN, "v"))


@dataclass(frozen=True)
class _Fonts:
    title: float
    subtitle: float
    label: float
    tick: float
    annot: float
    legend: float
    header_in: float  # height of the title strip, inches


_SINGLE = _Fonts(title=17, subtitle=11.5, label=12.5, tick=11, annot=11, legend=10, header_in=0.8)
_DIGEST = _Fonts(title=20, subtitle=13.5, label=12.5, tick=11.5, annot=12.5, legend=10, header_in=0.95)


# --------------------------------------------------------------------------- public API


def retention_chart(table: CohortTable, signal: RetentionSignal, *, product_name: str) -> bytes:
    """The average retention curve by week since signup, with a per-week 95% band, a few recent
    cohorts as thin lines, the tail window shaded and the plateau level (with its CI) marked."""
    subtitle = f"as of {table.as_of.isoformat()} · {_retention_subtitle(table, signal)}"
    fig, body = _figure(SIZE, product_name, "weekly retention", subtitle, _SINGLE)
    ax = body.subplots()
    _draw_retention(ax, table, signal, _SINGLE, cohorts=RECENT_COHORTS, legend=True)
    return _png(fig)


def cohort_heatmap(table: CohortTable, *, product_name: str) -> bytes:
    """Cohorts (rows, by signup week and size) × weeks since signup (columns), coloured by the
    share of the cohort active; weeks not complete yet are blank."""
    cohorts = sorted(table.cohorts, key=lambda c: c.week)
    shown = cohorts[-HEATMAP_MAX_ROWS:]
    subtitle = f"as of {table.as_of.isoformat()} · share of each signup cohort active k weeks later"
    if len(shown) < len(cohorts):
        subtitle += f" · newest {len(shown)} of {len(cohorts)} cohorts"
    fig, body = _figure(SIZE, product_name, "retention by cohort", subtitle, _SINGLE)
    ax = body.subplots()
    ncols = min(HEATMAP_MAX_COLS, max((len(c.active) for c in shown), default=0))
    if not shown or ncols == 0:
        _no_data(ax, "Not enough data yet", "No complete week of cohort data so far.", _SINGLE)
        return _png(fig)

    data = np.full((len(shown), ncols), np.nan)
    for i, c in enumerate(shown):
        if c.size > 0:
            for k, active in enumerate(c.active[:ncols]):
                data[i, k] = active / c.size
    later = data[:, 1:]
    top = float(np.nanmax(later)) if later.size and not np.all(np.isnan(later)) else 1.0
    # Week 0 is 100% by definition; scaling to the later weeks keeps their differences visible.
    vmax = min(1.0, max(0.1, math.ceil(top * 10) / 10))
    cmap = colormaps["viridis"].with_extremes(bad="white")
    image = ax.imshow(
        np.ma.masked_invalid(data), cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto",
        interpolation="nearest",
    )
    if len(shown) <= HEATMAP_MAX_ROWS and ncols <= 18:
        size = 12.0 if len(shown) <= 8 and ncols <= 10 else 8.5
        for (i, k), v in np.ndenumerate(data):
            if not np.isnan(v):
                r, g, b = to_rgb(cmap(min(v, vmax) / vmax))
                ink = BLACK if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
                ax.text(k, i, f"{v * 100:.0f}", ha="center", va="center", fontsize=size, color=ink)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([f"{week_start(c.week).isoformat()} ({c.size:,})" for c in shown])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(ncols, 14)))
    ax.set_xlabel("weeks since signup", fontsize=_SINGLE.label)
    ax.set_ylabel("signup week (users)", fontsize=_SINGLE.label)
    ax.tick_params(axis="x", labelsize=_SINGLE.tick)
    ax.tick_params(axis="y", labelsize=9 if len(shown) > 10 else _SINGLE.tick)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = body.colorbar(image, ax=ax, extend="max" if vmax < 1.0 else "neither", pad=0.01)
    bar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    bar.ax.tick_params(labelsize=_SINGLE.tick)
    bar.set_label("active that week (blank: not complete yet)", fontsize=_SINGLE.tick)
    return _png(fig)


def organic_chart(
    signal: OrganicSignal,
    *,
    product_name: str,
    as_of: date,
    min_share: float,
    window_weeks: int = 4,
) -> bytes:
    """Weekly organic share of classified signups with its trend (and the trend's 90% CI), the
    ``min_share`` bar, and the last ``window_weeks`` complete weeks highlighted with the window's
    share."""
    subtitle = f"as of {as_of.isoformat()} · {_organic_subtitle(signal, window_weeks)}"
    fig, body = _figure(SIZE, product_name, "organic growth", subtitle, _SINGLE)
    ax = body.subplots()
    _draw_organic(ax, signal, as_of, min_share, window_weeks, _SINGLE)
    return _png(fig)


def survey_chart(
    counts: SurveyCounts,
    *,
    product_name: str,
    as_of: date,
    score: float | None,
    ci: tuple[float, float] | None,
    threshold: float = 0.40,
    status: Status | None = None,
) -> bytes:
    """The four answers (count and share of all answers) and the very-disappointed score with
    its Wilson 95% interval against the ``threshold`` line. ``status`` (the survey signal's) sets
    the marker; without it the status is read from the interval against the threshold."""
    total = counts.scored + counts.na
    shown = status or ("insufficient_data" if score is None else _score_status(ci, threshold))
    subtitle = (
        f"as of {as_of.isoformat()} · n={counts.scored:,} scored answers, {counts.na:,} N/A · "
        f"{STATUS_WORD[shown]}"
    )
    fig, body = _figure(SIZE, product_name, "Sean Ellis survey", subtitle, _SINGLE)
    if total == 0:
        _no_data(body.subplots(), "Not enough data yet", "No survey responses so far.", _SINGLE)
        return _png(fig)
    bars, gauge = body.subplots(2, 1, height_ratios=[3.0, 1.25])
    _draw_answers(bars, counts, _SINGLE)
    bars.set_title("“How would you feel if you could no longer use it?”", loc="left",
                   fontsize=_SINGLE.label, style="italic")
    _draw_score(gauge, score, ci, threshold, counts.scored, _SINGLE, status=shown)
    return _png(fig)


def digest_chart(
    report: GateReport,
    *,
    previous: GateReport | None = None,
    min_share: float = 0.5,
    threshold: float = 0.40,
    window_weeks: int = 4,
) -> bytes:
    """One composite figure for the weekly digest: retention curve, organic share, survey score
    against its threshold, and the verdict with each signal's status and change since
    ``previous``. Pass the product's ``min_share``/``threshold``/``window_weeks`` settings."""
    fonts = _DIGEST
    subtitle = f"as of {report.as_of.isoformat()} · {_RULE}"
    fig, body = _figure(DIGEST_SIZE, report.product_name, "weekly PMF digest", subtitle, fonts)
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
    _panel_title(answers_ax, "Sean Ellis survey", s.status, fonts)
    if s.counts.scored + s.counts.na == 0:
        _no_data(answers_ax, "No responses yet", "Start one with /pmf-check survey start.", fonts)
        gauge_ax.set_axis_off()
    else:
        _draw_answers(answers_ax, s.counts, fonts, compact=True)
        before = previous.survey.score if previous is not None else None
        _draw_score(gauge_ax, s.score, s.ci, threshold, s.responses, fonts, previous=before,
                    compact=True, status=s.status)
    return _png(fig)


# --------------------------------------------------------------------------- figure plumbing

_RULE = "if you are not sure you have product-market fit, you don't"


def _safe(text: str) -> str:
    """User text (product names) drawn literally: a "$" would otherwise start mathtext."""
    return text.replace("$", r"\$")


def _figure(
    size: tuple[float, float], product_name: str, what: str, subtitle: str, fonts: _Fonts
) -> tuple[Figure, SubFigure]:
    """A figure with a title strip "{product_name} · {what}" over the subtitle; returns the body
    subfigure to draw in. A long product name is shortened, never the rest of the title."""
    fig = Figure(figsize=size, dpi=DPI, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    rows = fig.add_gridspec(2, 1, height_ratios=[fonts.header_in, size[1] - fonts.header_in])
    head, body = fig.add_subfigure(rows[0]), fig.add_subfigure(rows[1])
    _fit(fig, head.text(0.012, 0.93, "", fontsize=fonts.title, fontweight="bold", ha="left", va="top"),
         product_name, suffix=f" · {what}")
    _fit(fig, head.text(0.012, 0.18, "", fontsize=fonts.subtitle, color="#444444", ha="left",
                        va="bottom"), subtitle)
    return fig, body


def _fit(fig: Figure, artist: Text, text: str, *, suffix: str = "") -> None:
    """Set ``text + suffix`` on ``artist``, ``text`` cut with "…" to the longest prefix that fits
    the figure's width (measured, so long product names never run off the image)."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    limit = fig.bbox.width - 10

    def fits(n: int) -> bool:
        artist.set_text(_safe(text if n >= len(text) else text[: n - 1].rstrip() + "…") + suffix)
        return bool(artist.get_window_extent(renderer).x1 <= limit)

    if fits(len(text)):
        return
    lo, hi = 1, len(text) - 1  # fits(lo) is assumed; find the largest n that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    fits(lo)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" (matplotlib version) chunk and no timestamps: same input, same bytes.
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def _style(ax: Axes, fonts: _Fonts, *, ygrid: bool = True) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color(LIGHT_GREY)
    ax.spines["bottom"].set_color(LIGHT_GREY)
    ax.tick_params(labelsize=fonts.tick, color=LIGHT_GREY)
    if ygrid:
        ax.grid(axis="y", color="#E5E5E5", linewidth=0.8)
        ax.set_axisbelow(True)


def _percent_y(ax: Axes, top: float = 1.0) -> None:
    ax.set_ylim(0.0, top)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


def _no_data(ax: Axes, headline: str, detail: str, fonts: _Fonts) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.56, headline, transform=ax.transAxes, ha="center", va="center",
            fontsize=fonts.title + 2, color=GREY, fontweight="bold")
    ax.text(0.5, 0.40, textwrap.fill(detail, 60), transform=ax.transAxes, ha="center", va="center",
            fontsize=fonts.label, color=GREY)


def _panel_title(ax: Axes, name: str, status: Status, fonts: _Fonts) -> None:
    ax.set_title(f"{name} · {STATUS_WORD[status]}", loc="left", fontsize=fonts.label + 1.5,
                 fontweight="bold", color=BLACK)


# --------------------------------------------------------------------------- retention


def _retention_subtitle(table: CohortTable, signal: RetentionSignal) -> str:
    text = f"{signal.users:,} users in {len(table.cohorts):,} cohorts · {STATUS_WORD[signal.status]}"
    if signal.status == "insufficient_data":
        text += f" ({signal.weeks_observed} usable weeks so far)"
    return text


def _draw_retention(
    ax: Axes, table: CohortTable, signal: RetentionSignal, fonts: _Fonts, *, cohorts: int, legend: bool
) -> None:
    """Average curve (size-weighted, from the table) with a per-week Wilson 95% band from that
    week's eligible users. The band treats weeks as independent, so it shows noise per point and
    is not the plateau test; the plateau's own CI (``plateau_level_ci``, which respects that
    points share users) is the grey box over the tail. With ``legend`` the key sits under the
    axes (it can never hide data); without it the tail window is labelled in place."""
    points = sorted((p for p in table.average if p.users > 0), key=lambda p: p.week_offset)
    if not points:
        _no_data(ax, "Not enough data yet", "No complete week of cohort data so far.", fonts)
        return
    if signal.tail_offsets:
        last_usable = max(signal.tail_offsets)
    elif signal.weeks_observed > 0:
        last_usable = points[min(signal.weeks_observed, len(points)) - 1].week_offset
    else:
        last_usable = -1
    used = [p for p in points if p.week_offset <= last_usable]
    thin = [p for p in points if p.week_offset >= last_usable]
    x = [p.week_offset for p in points]
    x_max = max(x)

    if signal.tail_offsets:
        lo_x, hi_x = min(signal.tail_offsets) - 0.5, max(signal.tail_offsets) + 0.5
        ax.axvspan(lo_x, hi_x, color=BLACK, alpha=0.05, linewidth=0, label="tail window")
        if not legend:
            ax.text((lo_x + hi_x) / 2, 0.99, "tail", ha="center", va="top", fontsize=fonts.legend, color=GREY)

    band = [wilson(p.active, p.users) for p in points]
    ax.fill_between(x, [b[0] for b in band], [b[1] for b in band], color=BLUE, alpha=0.15,
                    linewidth=0, label="95% band per week")

    for i, c in enumerate(_recent_cohorts(table, cohorts)):
        colour, marker = _COHORT_STYLES[i % len(_COHORT_STYLES)]
        ax.plot(range(len(c.active)), [a / c.size for a in c.active], color=colour, marker=marker,
                markersize=3.5, linewidth=1.2, alpha=0.9,
                label=f"{week_start(c.week):%b %d} cohort ({c.size:,})")

    if used:
        ax.plot([p.week_offset for p in used], [p.retention for p in used], color=BLUE, linewidth=2.8,
                marker="o", markersize=4.5, label="average (size-weighted)", zorder=4)
    if len(thin) > 1 or not used:
        ax.plot([p.week_offset for p in thin], [p.retention for p in thin], color=BLUE, linewidth=1.6,
                linestyle=":", marker="o", markersize=4, markerfacecolor="white",
                label="too few users (not used)", zorder=4)

    if signal.plateau_level is not None and signal.tail_offsets:
        level, level_ci = signal.plateau_level, signal.plateau_level_ci
        if level_ci is not None:
            ax.fill_between([lo_x, hi_x], [level_ci[0]] * 2, [level_ci[1]] * 2, color=BLACK, alpha=0.13,
                            linewidth=0, zorder=3, label=f"plateau {PLATEAU_CI_LEVEL}% CI")
        ax.hlines(level, lo_x, hi_x, colors=BLACK, linestyles="--", linewidth=2.0, zorder=5,
                  label="plateau level")
        label = f"plateau {pct(level)}\n{pct_ci(level_ci, PLATEAU_CI_LEVEL)}"
        if signal.tail_slope is not None:
            label += f"\nslope {pts(signal.tail_slope)}/week\n{pts_ci(signal.tail_slope_ci, SLOPE_CI_LEVEL)}"
        # Left of the tail and above the curve, where a flattening curve leaves room; a short
        # curve has no room on the left, so the box goes over the tail instead.
        top = max(level_ci[1] if level_ci else level, max((p.retention for p in points if p.week_offset >= lo_x - 3), default=level))
        left_room = lo_x > 0.45 * (x_max + 1)
        ax.text(lo_x - 0.3 if left_room else (lo_x + hi_x) / 2, min(top + 0.06, 0.62), label,
                ha="right" if left_room else "center", va="bottom", multialignment="center",
                fontsize=fonts.annot, color=BLACK, zorder=6,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": STATUS_COLOR[signal.status],
                      "linewidth": 1.5})

    _style(ax, fonts)
    _percent_y(ax, 1.03)
    ax.set_xlim(-0.5, x_max + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("weeks since signup", fontsize=fonts.label)
    ax.set_ylabel("users active that week", fontsize=fonts.label)
    if legend:
        _legend_below(ax, fonts, ncols=3)


def _legend_below(ax: Axes, fonts: _Fonts, *, ncols: int) -> None:
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=ncols, fontsize=fonts.legend,
              frameon=False, handlelength=1.8, columnspacing=1.2)


def _recent_cohorts(table: CohortTable, count: int) -> list[Cohort]:
    """The newest ``count`` cohorts with at least three complete weeks, newest first."""
    if count <= 0:
        return []
    candidates = [c for c in table.cohorts if c.size > 0 and len(c.active) >= 3]
    return sorted(candidates, key=lambda c: c.week, reverse=True)[:count]


# --------------------------------------------------------------------------- organic


def _organic_subtitle(signal: OrganicSignal, window_weeks: int) -> str:
    classified = signal.organic_signups + signal.paid_signups
    text = f"{classified:,} classified signups in the last {window_weeks} weeks"
    if signal.unknown_share is not None:
        text += f", {pct(signal.unknown_share)} unknown"
    return f"{text} · {STATUS_WORD[signal.status]}"


def _draw_organic(
    ax: Axes, signal: OrganicSignal, as_of: date, min_share: float, window_weeks: int, fonts: _Fonts,
    *, legend: bool = True,
) -> None:
    """Weekly share (gaps for weeks without classified signups), the trend drawn with the
    signal's own slope and its CI fan, the ``min_share`` bar and the window's share with its CI.
    With ``legend`` the key sits under the axes; without it the lines are labelled in place."""
    weeks = [w for w, _ in signal.weekly_shares]
    known = [(w, s) for w, s in signal.weekly_shares if s is not None]
    if not known:
        _no_data(ax, "Not enough data yet", "No week with classified signups so far.", fonts)
        return
    end = last_complete_week(as_of)
    start = end - window_weeks + 1
    x_lo, x_hi = min(min(weeks), start) - 0.7, max(max(weeks), end) + 0.7
    ax.axvspan(start - 0.5, end + 0.5, color=BLACK, alpha=0.06, linewidth=0,
               label=f"window: last {window_weeks} weeks")
    bar = f"bar: {min_share * 100:.0f}% organic"
    ax.axhline(min_share, color=BLACK, linestyle=":", linewidth=1.6, label=bar)

    ys = [np.nan if s is None else s for _, s in signal.weekly_shares]
    ax.plot(weeks, ys, color=BLUE, linewidth=2.4, marker="o", markersize=5, label="weekly share", zorder=4)

    trend = None
    if signal.trend_per_week is not None and len(known) >= 2:
        # Drawn through the centroid of the weekly points with the signal's own slope, so the
        # line shows exactly the trend that was tested; the fan spans the slope's CI.
        xm = sum(w for w, _ in known) / len(known)
        ym = sum(s for _, s in known) / len(known)
        xs = np.array([min(weeks), max(weeks)], dtype=float)
        if signal.trend_ci is not None:
            a, b = (ym + slope * (xs - xm) for slope in signal.trend_ci)
            ax.fill_between(xs, np.minimum(a, b), np.maximum(a, b), color=ORANGE, alpha=0.15, linewidth=0)
        trend = ym + signal.trend_per_week * (xs - xm)
        ax.plot(xs, trend, color=ORANGE, linewidth=2.2, linestyle="--", zorder=3,
                label=f"trend {pts(signal.trend_per_week)}/week ({pts_ci(signal.trend_ci, TREND_CI_LEVEL)})")

    window = None
    if signal.organic_share is not None:
        colour = STATUS_COLOR[signal.status]
        if signal.organic_share_ci is not None:
            lo, hi = signal.organic_share_ci
            ax.fill_between([start - 0.5, end + 0.5], [lo, lo], [hi, hi], color=colour, alpha=0.2, linewidth=0)
        window = f"last {window_weeks} weeks: {pct(signal.organic_share)}"
        ax.hlines(signal.organic_share, start - 0.5, end + 0.5, colors=colour, linewidth=3.5, zorder=5,
                  label=f"window share {pct(signal.organic_share)} "
                        f"({pct_ci(signal.organic_share_ci, SHARE_CI_LEVEL)})")

    if not legend:
        small: dict[str, Any] = {"fontsize": fonts.legend, "zorder": 6,
                 "bbox": {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0}}
        below = min_share > 0.15
        ax.text(x_lo + 0.2, min_share + (-0.03 if below else 0.03), bar, ha="left",
                va="top" if below else "bottom", color=BLACK, **small)
        if trend is not None:
            ax.text(min(weeks), float(trend[0]) + 0.07, f"trend {pts(signal.trend_per_week or 0.0)}/week",
                    ha="left", va="bottom", color="#8A5F00", **small)
        if window is not None and signal.organic_share is not None:
            upper = signal.organic_share_ci[1] if signal.organic_share_ci else signal.organic_share
            ax.text(end + 0.5, min(upper + 0.12, 0.97), window, ha="right", va="bottom", color=BLACK,
                    **small)

    _style(ax, fonts)
    _percent_y(ax, 1.03)
    ax.set_xlim(x_lo, x_hi)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{week_start(int(round(v))):%b %d}"))
    ax.set_xlabel("signup week", fontsize=fonts.label)
    ax.set_ylabel("organic share", fontsize=fonts.label)
    if legend:
        _legend_below(ax, fonts, ncols=2)


# --------------------------------------------------------------------------- survey

_ANSWER_ROWS: tuple[tuple[str, str, str], ...] = (
    ("very", "Very disappointed", BLUE),
    ("somewhat", "Somewhat disappointed", SKY),
    ("not_", "Not disappointed", ORANGE),
    ("na", "N/A (no longer uses it)", LIGHT_GREY),
)


def _draw_answers(ax: Axes, counts: SurveyCounts, fonts: _Fonts, *, compact: bool = False) -> None:
    total = counts.scored + counts.na
    values = [getattr(counts, attr) for attr, _, _ in _ANSWER_ROWS]
    ys = list(range(len(values)))[::-1]
    bars = ax.barh(ys, values, color=[c for _, _, c in _ANSWER_ROWS], height=0.68)
    bars[-1].set_hatch("//")
    bars[-1].set_edgecolor(GREY)
    peak = max(values) or 1
    for y, v, (attr, _, _) in zip(ys, values, _ANSWER_ROWS, strict=True):
        share = f"{v / total * 100:.0f}%" if compact else f"{v / total * 100:.0f}% of all"
        note = " · not scored" if attr == "na" else ""
        ax.text(v + peak * 0.015, y, f"{v:,} ({share}){note}", va="center", fontsize=fonts.annot)
    ax.set_yticks(ys)
    ax.set_yticklabels([label.split(" ")[0] if compact else label for _, label, _ in _ANSWER_ROWS])
    ax.set_xlim(0, peak * (1.6 if compact else 1.45))
    ax.xaxis.set_visible(False)
    _style(ax, fonts, ygrid=False)
    ax.spines["bottom"].set_visible(False)
    ax.tick_params(axis="y", labelsize=fonts.label, length=0)


def _score_status(ci: tuple[float, float] | None, threshold: float) -> Status:
    if ci is None:
        return "insufficient_data"
    if ci[0] >= threshold:
        return "pass"
    if ci[1] < threshold:
        return "fail"
    return "borderline"


def _draw_score(
    ax: Axes, score: float | None, ci: tuple[float, float] | None, threshold: float, n: int,
    fonts: _Fonts, *, previous: float | None = None, compact: bool = False,
    status: Status | None = None,
) -> None:
    """A horizontal 0–100% gauge: the score with its Wilson 95% error bar against the
    threshold line (and last week's score as a hollow marker when given)."""
    _style(ax, fonts, ygrid=False)
    ax.spines["left"].set_visible(False)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(-1.0, 1.0)
    ax.set_yticks([])
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.grid(axis="x", color="#E5E5E5", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.axvline(threshold, color=BLACK, linestyle="--", linewidth=1.8)
    ax.text(threshold, 0.97, f" bar {threshold * 100:.0f}%", ha="left", va="top", fontsize=fonts.annot,
            color=BLACK)
    if score is None:
        ax.text(0.5, -0.1, f"Not enough responses yet (n={n:,})", ha="center", va="center",
                fontsize=fonts.label, color=GREY, transform=ax.transAxes)
        return
    status = status or _score_status(ci, threshold)
    colour = STATUS_COLOR[status]
    if compact:
        title = f"score {pct(score)} · {pct_ci(ci, SCORE_CI_LEVEL)} · n={n:,}"
    else:
        title = f"Very disappointed: {pct(score)} ({pct_ci(ci, SCORE_CI_LEVEL)}, n={n:,})"
    ax.set_title(title, loc="left", fontsize=fonts.annot, fontweight="bold")
    if previous is not None:
        ax.plot([previous], [-0.15], marker="o", markersize=11, markerfacecolor="white",
                markeredgecolor=GREY, markeredgewidth=2, linestyle="none", zorder=4)
        # Beside the marker, on the side away from the threshold line, over a white patch.
        left = previous < threshold
        ax.text(previous + (0.01 if not left else -0.01), -0.6, f"last week {pct(previous)}",
                ha="right" if left else "left", va="top", fontsize=fonts.legend, color=GREY, zorder=6,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
    xerr = None if ci is None else [[score - ci[0]], [ci[1] - score]]
    ax.errorbar([score], [-0.15], xerr=xerr, fmt=STATUS_MARKER[status], color=colour, markersize=11,
                elinewidth=3, capsize=7, capthick=2.5, zorder=5, markeredgewidth=2,
                markerfacecolor="white" if status == "insufficient_data" else colour)


# --------------------------------------------------------------------------- verdict panel


_GLYPH: dict[Status, str] = {"pass": "●", "borderline": "◆", "fail": "✖", "insufficient_data": "○"}


def _signal_rows(report: GateReport, previous: GateReport | None) -> list[tuple[Status, str, str]]:
    """(status, headline, numbers) for each signal: "Retention · pass · +0.4 pts vs last week",
    "plateau 30.0% (90% CI 26.9–32.9%), n=3,099 users"."""
    r, o, s, p = report.retention, report.organic, report.survey, previous
    rows = [
        (r.status, "Retention", "plateau", r.plateau_level, r.plateau_level_ci, PLATEAU_CI_LEVEL,
         f"n={r.users:,} users", p.retention.plateau_level if p else None),
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
    put(VERDICT_TEXT[v], 6, x_pt=8, fontsize=fonts.title + 2, fontweight="bold", color="white",
        bbox={"boxstyle": "round,pad=0.45", "facecolor": VERDICT_COLOR[v], "edgecolor": "none"})
    y = 52.0
    if previous is not None and previous.verdict != v:
        put(f"last week: {VERDICT_TEXT[previous.verdict]}", y, fontsize=fonts.annot, color=GREY)
        y += 18
    line = fonts.annot * 1.35
    for status, head, numbers in _signal_rows(report, previous):
        put(_GLYPH[status], y - 1, fontsize=fonts.annot + 3, color=STATUS_COLOR[status])
        put(head, y, x_pt=24, fontsize=fonts.annot, fontweight="bold")
        put(numbers, y + line, x_pt=24, fontsize=fonts.annot)
        y += 2 * line + 9
    if report.warnings:
        more = f" (+{len(report.warnings) - 1} more)" if len(report.warnings) > 1 else ""
        lines = textwrap.wrap(f"⚠ {report.warnings[0].message}{more}", 66)
        if len(lines) > 3:
            lines = [*lines[:2], lines[2][:62] + "…"]
        put("\n".join(lines), y, fontsize=fonts.annot - 1, color=VERMILLION, linespacing=1.25)
