"""The trajectory chart: the gate's three numbers week by week — the Ellis score with its
interval against the survey's bar, the retention plateau level with its interval, and the organic
share with its interval against its bar — one panel each over a shared time axis, each point
drawn in its status's colour and shape. Figure API, deterministic bytes (``bot.render.charts``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from bot.domain.gate import STATUS_WORD
from bot.domain.types import GateReport, Status
from bot.domain.weeks import week_start
from bot.history.values import History
from bot.render import palette
from bot.render.blocks import PLATEAU_CI_LEVEL, SCORE_CI_LEVEL, SHARE_CI_LEVEL
from bot.render.charts import (
    _RULE,
    _SINGLE,
    STATUS_MARKER,
    _figure,
    _Fonts,
    _no_data,
    _percent_y,
    _png,
    _style,
)
from bot.render.names import TRAJECTORY_CHART

TRAJECTORY_SIZE = (8.0, 8.0)  # 800×800 px: three stacked panels

# Marker areas (pt²) that look the same size: an X fills less of its box than a dot or a diamond.
_AREA: dict[Status, float] = {"pass": 46.0, "borderline": 40.0, "fail": 70.0, "insufficient_data": 46.0}
_KEY: tuple[tuple[Status, str], ...] = tuple(STATUS_WORD.items())

Value = Callable[[GateReport], tuple[float | None, tuple[float, float] | None, Status]]


def _survey(r: GateReport) -> tuple[float | None, tuple[float, float] | None, Status]:
    return r.survey.score, r.survey.ci, r.survey.status


def _plateau(r: GateReport) -> tuple[float | None, tuple[float, float] | None, Status]:
    return r.retention.plateau_level, r.retention.plateau_level_ci, r.retention.status


def _organic(r: GateReport) -> tuple[float | None, tuple[float, float] | None, Status]:
    return r.organic.organic_share, r.organic.organic_share_ci, r.organic.status


def _panel(ax: Axes, xs: Sequence[int], reports: Sequence[GateReport], value: Value, *, title: str,
           colour: str, bar: float | None, bar_label: str, fonts: _Fonts, ci_level: int) -> None:
    _style(ax, fonts)
    points = [(x, *value(r)) for x, r in zip(xs, reports, strict=True)]
    known = [(x, v, ci, st) for x, v, ci, st in points if v is not None]
    top = max([1.0 if bar is None else min(1.0, bar * 2)] + [ci[1] for _, _, ci, _ in known if ci] +
              [v for _, v, _, _ in known])
    _percent_y(ax, min(1.0, top * 1.1) if top < 0.95 else 1.0)
    ax.set_title(title, loc="left", fontsize=fonts.label + 1, fontweight="bold", color=palette.TEXT)
    if bar is not None:
        ax.axhline(bar, color=palette.THRESHOLD, linestyle=":", linewidth=1.6, label=bar_label)
    if not known:
        ax.text(0.5, 0.5, f"no figure yet ({STATUS_WORD['insufficient_data']} in any week shown)", transform=ax.transAxes,
                ha="center", va="center", fontsize=fonts.annot, color=palette.NOTE)
    else:
        with_ci = [(x, ci) for x, _, ci, _ in known if ci is not None]
        if with_ci:
            ax.fill_between([x for x, _ in with_ci], [ci[0] for _, ci in with_ci], [ci[1] for _, ci in with_ci],
                            color=colour, alpha=0.15, linewidth=0, label=f"{ci_level}% interval")
        ax.plot([x for x, *_ in known], [v for _, v, _, _ in known], color=colour, linewidth=1.8, zorder=2)
        for status in ("pass", "borderline", "fail", "insufficient_data"):
            mine = [(x, v) for x, v, _, st in known if st == status]
            if mine:
                ax.scatter([x for x, _ in mine], [v for _, v in mine], color=palette.STATUS_COLOR[status],
                           marker=STATUS_MARKER[status], s=_AREA[status], zorder=3, edgecolors=palette.BACKGROUND,
                           linewidths=0.6)
    if bar is not None or known:
        ax.legend(loc="best", fontsize=fonts.legend, frameon=False)  # "best" is computed from the data: still deterministic


def trajectory_chart(history: History) -> bytes:
    """The history as one PNG. Point shapes: ● pass (green), ◆ borderline (orange), ✕ fail
    (vermillion), grey ● not enough data; the shaded band is each week's interval (95% for the
    score and the share, 90% for the plateau level, as the reports state them); a dashed line
    marks a week in which the product's gate rules changed (from the audit)."""
    fonts = _SINGLE
    last = history.latest
    subtitle = (f"week by week to {last.as_of.isoformat()} · each point in its week's status (key below)"
                if last is not None else f"no complete week yet · {_RULE}")
    if history.weeks_differing:
        subtitle += f" · {history.weeks_differing} week(s) read otherwise under the default rules"
    fig, body = _figure(TRAJECTORY_SIZE, history.product_name, TRAJECTORY_CHART, subtitle, fonts)
    if not history.weeks:
        _no_data(body.add_subplot(1, 1, 1), "No history yet",
                 "The trajectory starts once the product has a complete week of data.", fonts)
        return _png(fig)
    axes = body.subplots(3, 1, sharex=True)
    # The key: every status with the very marker (shape, colour, size) the panels draw.
    body.legend(handles=[Line2D([], [], linestyle="none", marker=STATUS_MARKER[st], color=palette.STATUS_COLOR[st],
                                markeredgecolor=palette.BACKGROUND, markeredgewidth=0.6, markersize=_AREA[st] ** 0.5,
                                label=word) for st, word in _KEY],
                loc="outside lower center", ncols=4, fontsize=fonts.legend, frameon=False)
    xs = list(range(len(history.weeks)))
    reports = [w.report for w in history.weeks]
    _panel(axes[0], xs, reports, _survey, title="Sean Ellis score (very disappointed)", colour=palette.TRAJECTORY_SCORE,
           bar=history.threshold, bar_label=f"{history.threshold:.0%} bar", fonts=fonts,
           ci_level=SCORE_CI_LEVEL)
    _panel(axes[1], xs, reports, _plateau, title="Retention plateau level", colour=palette.RETENTION, bar=None,
           bar_label="", fonts=fonts, ci_level=PLATEAU_CI_LEVEL)
    _panel(axes[2], xs, reports, _organic, title="Organic share of signups", colour=palette.TRAJECTORY_ORGANIC,
           bar=history.min_share, bar_label=f"{history.min_share:.0%} bar", fonts=fonts,
           ci_level=SHARE_CI_LEVEL)
    position = {w.week: i for i, w in enumerate(history.weeks)}
    last_week = history.weeks[-1].week
    for n, (week, what) in enumerate(history.rule_changes):
        # A change after the last week shown (every week is computed with today's rules) is
        # marked at the right edge, half a week on.
        x: float | None = position.get(week) if week <= last_week else len(xs) - 0.5
        if x is None:
            continue
        for ax in axes:
            ax.axvline(x, color=palette.RULE_CHANGE, linestyle="--", linewidth=1.2, zorder=1)
        label = "rules changed" if week <= last_week else "rules changed since"
        right = x > len(xs) / 2  # the label runs towards the middle, never off the chart
        axes[0].annotate(f"{label}: {what}", (x, 1.0), xycoords=("data", "axes fraction"),
                         xytext=(-3 if right else 3, -12 - 11 * (n % 3)), textcoords="offset points",
                         ha="right" if right else "left", fontsize=fonts.legend, color=palette.RULE_CHANGE)
    if any(week > last_week for week, _ in history.rule_changes):
        axes[2].set_xlim(-0.5, len(xs) - 0.3)
    step = max(1, -(-len(xs) // 6))  # at most six dates: a label a week would overlap
    ticks = xs[::step]
    axes[2].set_xticks(ticks, [week_start(history.weeks[i].week).strftime("%d %b") for i in ticks])
    axes[2].set_xlabel("week starting", fontsize=fonts.label)
    return _png(fig)
