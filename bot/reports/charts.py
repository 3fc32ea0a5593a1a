"""The report's charts: the retention curve with its tail and plateau, the cohort heat map, and the
organic share over time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from bot.domain.settings import DEFAULT_ORGANIC_WINDOW_WEEKS
from bot.domain.survey import wilson
from bot.domain.types import (
    Cohort,
    CohortTable,
    OrganicSignal,
    RetentionSignal,
)
from bot.domain.weeks import last_complete_week, week_start
from bot.render import palette
from bot.render.blocks import (
    PLATEAU_CI_LEVEL,
    SHARE_CI_LEVEL,
    SLOPE_CI_LEVEL,
    TREND_CI_LEVEL,
    pct,
    pct_ci,
    pts,
    pts_ci,
)
from bot.render.blocks import STATUS_LABEL as STATUS_WORD
from bot.render.charts import (
    _COHORT_MARKERS,
    _SINGLE,
    HEATMAP_MAX_COLS,
    HEATMAP_MAX_ROWS,
    RECENT_COHORTS,
    SIZE,
    _figure,
    _Fonts,
    _no_data,
    _percent_y,
    _png,
    _style,
)
from bot.render.names import HEATMAP_CHART, ORGANIC_CHART, RETENTION_CHART
from bot.render.placement import label

# --------------------------------------------------------------------------- public API


def retention_chart(table: CohortTable, signal: RetentionSignal, *, product_name: str) -> bytes:
    """The average retention curve by week since signup, with a per-week 95% band, a few recent
    cohorts as thin lines, the tail window shaded and the plateau level (with its CI) marked."""
    subtitle = f"as of {table.as_of.isoformat()} · {_retention_subtitle(table, signal)}"
    fig, body = _figure(SIZE, product_name, RETENTION_CHART, subtitle, _SINGLE)
    ax = body.subplots()
    _draw_retention(ax, table, signal, _SINGLE, cohorts=RECENT_COHORTS, legend=True)
    return _png(fig)


def heatmap_rows(cohorts: Sequence[Cohort], judged: Sequence[int]) -> list[Cohort]:
    """The cohorts a heatmap shows (at most ``HEATMAP_MAX_ROWS``, by week): every cohort the
    retention verdict rests on (``judged``), then the newest others."""
    ordered = sorted(cohorts, key=lambda c: c.week)
    keep = {c.week for c in ordered if c.week in set(judged)}
    for c in reversed(ordered):
        if len(keep) >= HEATMAP_MAX_ROWS:
            break
        keep.add(c.week)
    return [c for c in ordered if c.week in keep]


def cohort_heatmap(table: CohortTable, *, product_name: str, judged: Sequence[int] = ()) -> bytes:
    """Cohorts (rows, by signup week and size) × weeks since signup (columns), coloured by the
    share of the cohort active; weeks not complete yet are blank. The cohorts the retention
    verdict rests on (``judged``: ``RetentionSignal.tail_cohorts``) are always shown, marked ▶."""
    cohorts = sorted(table.cohorts, key=lambda c: c.week)
    shown = heatmap_rows(cohorts, judged)
    subtitle = f"as of {table.as_of.isoformat()} · share of each signup cohort active k weeks later"
    if judged:
        subtitle = f"as of {table.as_of.isoformat()} · share of each cohort active · ▶ cohorts the verdict rests on"
    if len(shown) < len(cohorts):
        subtitle += f" · {len(shown)} of {len(cohorts)}"
    fig, body = _figure(SIZE, product_name, HEATMAP_CHART, subtitle, _SINGLE)
    ax = body.subplots()
    ncols = min(HEATMAP_MAX_COLS, max((len(c.active) for c in shown), default=0))
    if not shown or ncols == 0:
        _no_data(ax, STATUS_WORD["insufficient_data"].capitalize(), "No complete week of cohort data so far.", _SINGLE)
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
    cmap = colormaps[palette.HEATMAP].with_extremes(bad=palette.BACKGROUND)
    image = ax.imshow(
        np.ma.masked_invalid(data), cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto",
        interpolation="nearest",
    )
    if len(shown) <= HEATMAP_MAX_ROWS and ncols <= 18:
        size = 12.0 if len(shown) <= 8 and ncols <= 10 else 8.5
        for (i, k), v in np.ndenumerate(data):
            if not np.isnan(v):
                r, g, b = to_rgb(cmap(min(v, vmax) / vmax))
                ink = palette.TEXT if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else palette.TEXT_ON_COLOUR
                ax.text(k, i, f"{v * 100:.0f}", ha="center", va="center", fontsize=size, color=ink)
    for i in range(1, len(shown)):
        if shown[i].week != shown[i - 1].week + 1:  # cohorts left out between these rows
            ax.axhline(i - 0.5, color=palette.BACKGROUND, linewidth=4)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([f"{'▶ ' if c.week in set(judged) else ''}{week_start(c.week).isoformat()} ({c.size:,})"
                        for c in shown])
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
    window_weeks: int = DEFAULT_ORGANIC_WINDOW_WEEKS,
) -> bytes:
    """Weekly organic share of classified signups with its trend (and the trend's 90% CI), the
    ``min_share`` bar, and the last ``window_weeks`` complete weeks highlighted with the window's
    share."""
    subtitle = f"as of {as_of.isoformat()} · {_organic_subtitle(signal, window_weeks)}"
    fig, body = _figure(SIZE, product_name, ORGANIC_CHART, subtitle, _SINGLE)
    ax = body.subplots()
    _draw_organic(ax, signal, as_of, min_share, window_weeks, _SINGLE)
    return _png(fig)


# --------------------------------------------------------------------------- retention


def _retention_subtitle(table: CohortTable, signal: RetentionSignal) -> str:
    text = f"{signal.users:,} users in {len(table.cohorts):,} cohorts · {STATUS_WORD[signal.status]}"
    if signal.tail_cohorts:
        cohorts = len(signal.tail_cohorts)
        text = (f"level judged on {signal.tail_users:,} users in {cohorts} cohort{'s' if cohorts != 1 else ''} "
                f"({signal.users:,} in all) · {STATUS_WORD[signal.status]}")
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
        _no_data(ax, STATUS_WORD["insufficient_data"].capitalize(), "No complete week of cohort data so far.", fonts)
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
        ax.axvspan(lo_x, hi_x, color=palette.WINDOW, alpha=0.05, linewidth=0, label="tail window")
        if not legend:
            label(ax, "tail", [((lo_x + hi_x) / 2, 0.99, "center", "top", "data"),
                               ((lo_x + hi_x) / 2, 0.05, "center", "bottom", "data")],
                  fontsize=fonts.legend, color=palette.NOTE)

    band = [wilson(p.active, p.users) for p in points]
    ax.fill_between(x, [b[0] for b in band], [b[1] for b in band], color=palette.RETENTION, alpha=0.15,
                    linewidth=0, label="95% band per week")

    for i, c in enumerate(_recent_cohorts(table, cohorts)):
        colour = palette.RECENT_COHORTS[i % len(palette.RECENT_COHORTS)]
        marker = _COHORT_MARKERS[i % len(_COHORT_MARKERS)]
        ax.plot(range(len(c.active)), [a / c.size for a in c.active], color=colour, marker=marker,
                markersize=3.5, linewidth=1.2, alpha=0.9,
                label=f"{week_start(c.week):%b %d} cohort ({c.size:,})")

    if used:
        ax.plot([p.week_offset for p in used], [p.retention for p in used], color=palette.RETENTION, linewidth=2.8,
                marker="o", markersize=4.5, label="average (size-weighted)", zorder=4)
    if len(thin) > 1 or not used:
        # The dotted line joins the last used week; only the weeks not used get hollow markers.
        unused = [p for p in thin if p.week_offset > last_usable] if used else thin
        ax.plot([p.week_offset for p in thin], [p.retention for p in thin], color=palette.RETENTION, linewidth=1.6,
                linestyle=":", zorder=3)
        ax.plot([p.week_offset for p in unused], [p.retention for p in unused], color=palette.RETENTION,
                linestyle="none", marker="o", markersize=4, markerfacecolor=palette.BACKGROUND, zorder=4,
                # After the tail, too few cohorts have reached a week for it to be judged, however
                # many users those few cohorts hold; before there is a tail, too few users.
                label="not used (too few cohorts)" if signal.tail_offsets else "too few users (not used)")

    if signal.plateau_level is not None and signal.tail_offsets:
        level, level_ci = signal.plateau_level, signal.plateau_level_ci
        if level_ci is not None:
            ax.fill_between([lo_x, hi_x], [level_ci[0]] * 2, [level_ci[1]] * 2, color=palette.PLATEAU, alpha=0.13,
                            linewidth=0, zorder=3, label=f"plateau {PLATEAU_CI_LEVEL}% CI")
        ax.hlines(level, lo_x, hi_x, colors=palette.PLATEAU, linestyles="--", linewidth=2.0, zorder=5,
                  label="plateau level")
        text = f"plateau {pct(level)}\n{pct_ci(level_ci, PLATEAU_CI_LEVEL)}"
        if signal.tail_slope is not None:
            text += f"\nslope {pts(signal.tail_slope)}/week\n{pts_ci(signal.tail_slope_ci, SLOPE_CI_LEVEL)}"
        # Left of the tail and above the curve, where a flattening curve leaves room; a short
        # curve has no room on the left, so the box goes over the tail instead.
        top = max(level_ci[1] if level_ci else level, max((p.retention for p in points if p.week_offset >= lo_x - 3), default=level))
        left_room = lo_x > 0.45 * (x_max + 1)
        preferred = (lo_x - 0.3 if left_room else (lo_x + hi_x) / 2, min(top + 0.06, 0.62),
                     "right" if left_room else "center", "bottom", "data")
        label(ax, text, [preferred, (lo_x - 0.3, min(top + 0.2, 0.8), "right", "bottom", "data")],
              multialignment="center", fontsize=fonts.annot, color=palette.TEXT, zorder=6,
              bbox={"boxstyle": "round,pad=0.3", "facecolor": palette.BACKGROUND,
                    "edgecolor": palette.STATUS_COLOR[signal.status], "linewidth": 1.5})

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
        _no_data(ax, STATUS_WORD["insufficient_data"].capitalize(), "No week with classified signups so far.", fonts)
        return
    end = last_complete_week(as_of)
    start = end - window_weeks + 1
    x_lo, x_hi = min(min(weeks), start) - 0.7, max(max(weeks), end) + 0.7
    ax.axvspan(start - 0.5, end + 0.5, color=palette.WINDOW, alpha=0.06, linewidth=0,
               label=f"window: last {window_weeks} weeks")
    bar = f"bar: {min_share * 100:.0f}% organic"
    ax.axhline(min_share, color=palette.THRESHOLD, linestyle=":", linewidth=1.6, label=bar)

    ys = [np.nan if s is None else s for _, s in signal.weekly_shares]
    ax.plot(weeks, ys, color=palette.ORGANIC, linewidth=2.4, marker="o", markersize=5, label="weekly share", zorder=4)

    trend = None
    if signal.trend_per_week is not None and len(known) >= 2:
        # Drawn through the centroid of the weekly points with the signal's own slope, so the
        # line shows exactly the trend that was tested; the fan spans the slope's CI.
        xm = sum(w for w, _ in known) / len(known)
        ym = sum(s for _, s in known) / len(known)
        xs = np.array([min(weeks), max(weeks)], dtype=float)
        if signal.trend_ci is not None:
            a, b = (ym + slope * (xs - xm) for slope in signal.trend_ci)
            ax.fill_between(xs, np.minimum(a, b), np.maximum(a, b), color=palette.ORGANIC_TREND, alpha=0.15, linewidth=0)
        trend = ym + signal.trend_per_week * (xs - xm)
        ax.plot(xs, trend, color=palette.ORGANIC_TREND, linewidth=2.2, linestyle="--", zorder=3,
                label=f"trend {pts(signal.trend_per_week)}/week ({pts_ci(signal.trend_ci, TREND_CI_LEVEL)})")

    window = None
    if signal.organic_share is not None:
        colour = palette.STATUS_COLOR[signal.status]
        if signal.organic_share_ci is not None:
            lo, hi = signal.organic_share_ci
            ax.fill_between([start - 0.5, end + 0.5], [lo, lo], [hi, hi], color=colour, alpha=0.2, linewidth=0)
        window = f"last {window_weeks} weeks: {pct(signal.organic_share)}"
        ax.hlines(signal.organic_share, start - 0.5, end + 0.5, colors=colour, linewidth=3.5, zorder=5,
                  label=f"window share {pct(signal.organic_share)} "
                        f"({pct_ci(signal.organic_share_ci, SHARE_CI_LEVEL)})")

    if not legend:
        # Placed once the layout is done, where they cover no line (bot.render.placement).
        small: dict[str, Any] = {"fontsize": fonts.legend, "zorder": 6}
        if window is not None and signal.organic_share is not None:
            upper = signal.organic_share_ci[1] if signal.organic_share_ci else signal.organic_share
            label(ax, window, [(end + 0.5, min(upper + 0.12, 0.97), "right", "bottom", "data")], color=palette.TEXT,
                  **small)
        label(ax, bar, [(x_lo + 0.2, min_share - 0.04, "left", "top", "data"),
                        (x_lo + 0.2, min_share + 0.04, "left", "bottom", "data")], color=palette.THRESHOLD, **small)
        if trend is not None:
            label(ax, f"trend {pts(signal.trend_per_week or 0.0)}/week",
                  [(min(weeks), float(trend[0]) + 0.09, "left", "bottom", "data"),
                   (min(weeks), float(trend[0]) - 0.09, "left", "top", "data")], color=palette.ORGANIC_TREND_TEXT, **small)

    _style(ax, fonts)
    _percent_y(ax, 1.03)
    ax.set_xlim(x_lo, x_hi)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{week_start(int(round(v))):%b %d}"))
    ax.set_xlabel("signup week", fontsize=fonts.label)
    ax.set_ylabel("organic share", fontsize=fonts.label)
    if legend:
        _legend_below(ax, fonts, ncols=2)


