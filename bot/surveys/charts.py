"""The survey chart: the four answers and the very-disappointed score with its interval against
the bar, in the status the gate gives it."""

from __future__ import annotations

from datetime import date

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from bot.domain.settings import DEFAULT_SURVEY_THRESHOLD
from bot.domain.types import (
    Status,
    SurveyCounts,
    SurveySignal,
)
from bot.render import palette
from bot.render.blocks import (
    SCORE_CI_LEVEL,
    pct,
    pct_ci,
)
from bot.render.blocks import STATUS_LABEL as STATUS_WORD
from bot.render.charts import (
    _SINGLE,
    SIZE,
    STATUS_MARKER,
    _figure,
    _Fonts,
    _no_data,
    _png,
    _style,
)
from bot.render.names import SURVEY_CHART


def survey_chart(
    counts: SurveyCounts,
    *,
    product_name: str,
    as_of: date,
    signal: SurveySignal,
    threshold: float = DEFAULT_SURVEY_THRESHOLD,
) -> bytes:
    """The four answers (each a count out of the scored answers) and the very-disappointed score with
    its Wilson 95% interval against the ``threshold`` line. The status drawn is the survey
    signal's own (the domain's rule: minimum responses, the pass bound), never re-derived here
    from the interval, so the chart always says what the gate says."""
    return _png(survey_figure(counts, product_name=product_name, as_of=as_of, signal=signal, threshold=threshold))


def survey_figure(counts: SurveyCounts, *, product_name: str, as_of: date, signal: SurveySignal,
                  threshold: float = DEFAULT_SURVEY_THRESHOLD) -> Figure:
    """The figure behind ``survey_chart`` (tests read its texts)."""
    total = counts.scored + counts.na
    score, ci, shown = signal.score, signal.ci, signal.status
    subtitle = (
        f"as of {as_of.isoformat()} · n={counts.scored:,} scored answers, {counts.na:,} N/A · "
        f"{STATUS_WORD[shown]}"
    )
    fig, body = _figure(SIZE, product_name, SURVEY_CHART, subtitle, _SINGLE)
    if total == 0:
        _no_data(body.subplots(), STATUS_WORD["insufficient_data"].capitalize(), "No survey responses so far.", _SINGLE)
        return fig
    bars, gauge = body.subplots(2, 1, height_ratios=[3.0, 1.25])
    _draw_answers(bars, counts, _SINGLE)
    bars.set_title("“How would you feel if you could no longer use it?”", loc="left",
                   fontsize=_SINGLE.label, style="italic")
    _draw_score(gauge, score, ci, threshold, counts.scored, _SINGLE, status=shown, weighted=signal.weighted)
    return fig


# --------------------------------------------------------------------------- survey

_ANSWER_ROWS: tuple[tuple[str, str], ...] = (
    ("very", "Very disappointed"),
    ("somewhat", "Somewhat disappointed"),
    ("not_", "Not disappointed"),
    ("na", "N/A (no longer uses it)"),
)


def _answer_colours() -> list[str]:
    """The answers' colours in ``_ANSWER_ROWS`` order, read from the palette when drawn."""
    return [palette.VERY_DISAPPOINTED, palette.SOMEWHAT_DISAPPOINTED, palette.NOT_DISAPPOINTED,
            palette.NO_LONGER_USES]


def _draw_answers(ax: Axes, counts: SurveyCounts, fonts: _Fonts, *, compact: bool = False) -> None:
    values = [getattr(counts, attr) for attr, _ in _ANSWER_ROWS]
    ys = list(range(len(values)))[::-1]
    bars = ax.barh(ys, values, color=_answer_colours(), height=0.68)
    bars[-1].set_hatch("//")
    bars[-1].set_edgecolor(palette.NO_LONGER_USES_EDGE)
    peak = max(values) or 1
    for y, v, (attr, _) in zip(ys, values, _ANSWER_ROWS, strict=True):
        # One number and what it is out of (the score's own base: the scored answers), never a
        # second percentage beside the score.
        if attr == "na":
            text = f"{v:,} · not scored"
        else:
            text = f"{v:,} of {counts.scored:,}"  # the subtitle says they are the scored answers
        ax.text(v + peak * 0.015, y, text, va="center", fontsize=fonts.annot)
    ax.set_yticks(ys)
    ax.set_yticklabels([label.split(" ")[0] if compact else label for _, label in _ANSWER_ROWS])
    ax.set_xlim(0, peak * (1.6 if compact else 1.45))
    ax.xaxis.set_visible(False)
    _style(ax, fonts, ygrid=False)
    ax.spines["bottom"].set_visible(False)
    ax.tick_params(axis="y", labelsize=fonts.label, length=0)


def _draw_score(
    ax: Axes, score: float | None, ci: tuple[float, float] | None, threshold: float, n: int,
    fonts: _Fonts, *, status: Status, previous: float | None = None, compact: bool = False, weighted: bool = False,
) -> None:
    """A horizontal 0–100% gauge: the score with its Wilson 95% error bar against the
    threshold line (and last week's score as a hollow marker when given)."""
    _style(ax, fonts, ygrid=False)
    ax.spines["left"].set_visible(False)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(-1.0, 1.0)
    ax.set_yticks([])
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.grid(axis="x", color=palette.GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.axvline(threshold, color=palette.THRESHOLD, linestyle="--", linewidth=1.8)
    ax.text(threshold, 0.97, f" bar {threshold * 100:.0f}%", ha="left", va="top", fontsize=fonts.annot,
            color=palette.THRESHOLD)
    if score is None:
        ax.text(0.5, -0.1, f"Not enough responses yet (n={n:,})", ha="center", va="center",
                fontsize=fonts.label, color=palette.NOTE, transform=ax.transAxes)
        return
    colour = palette.STATUS_COLOR[status]
    if compact:  # the panel is narrow; the verdict panel beside it says the rest
        title = f"score {pct(score)} ({pct_ci(ci, SCORE_CI_LEVEL)})"
    else:
        what = "weighted score" if weighted else "score"
        title = f"{what[0].upper()}{what[1:]}: {pct(score)} very disappointed ({pct_ci(ci, SCORE_CI_LEVEL)})"
    ax.set_title(title, loc="left", fontsize=fonts.annot, fontweight="bold")
    if previous is not None:
        ax.plot([previous], [-0.15], marker="o", markersize=11, markerfacecolor=palette.BACKGROUND,
                markeredgecolor=palette.NOTE, markeredgewidth=2, linestyle="none", zorder=4)
        # Beside the marker, on the side away from the threshold line, over a white patch.
        left = previous < threshold
        ax.text(previous + (0.01 if not left else -0.01), -0.6, f"last week {pct(previous)}",
                ha="right" if left else "left", va="top", fontsize=fonts.legend, color=palette.NOTE, zorder=6,
                bbox={"facecolor": palette.BACKGROUND, "edgecolor": "none", "pad": 1.0})
    xerr = None if ci is None else [[score - ci[0]], [ci[1] - score]]
    ax.errorbar([score], [-0.15], xerr=xerr, fmt=STATUS_MARKER[status], color=colour, markersize=11,
                elinewidth=3, capsize=7, capthick=2.5, zorder=5, markeredgewidth=2,
                markerfacecolor=palette.BACKGROUND if status == "insufficient_data" else colour)


