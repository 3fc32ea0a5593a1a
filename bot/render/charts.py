"""PNG charts of the PMF signals, drawn with matplotlib's ``Figure`` API on the Agg canvas.

Never pyplot: no global figure registry, no GUI backend, safe on Bolt's worker threads. Every
function takes domain values and returns PNG bytes; the same input gives the same bytes (no
date or software metadata, explicit font sizes instead of the global ``rcParams``). Charts are
sized for Slack's preview (about 800×500 px, the digest 1200×800 px), use the Okabe–Ito
colour-blind-safe palette (``bot.render.palette``, every colour named by its meaning), never rely on colour alone (statuses are also written out or drawn
with distinct marker shapes), and are titled with the product name and as-of date. Missing or
insufficient data gives a chart that says so instead of an exception.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.text import Text
from matplotlib.ticker import PercentFormatter

from bot.domain.types import Status
from bot.render import palette
from bot.render.blocks import STATUS_LABEL as STATUS_WORD

DPI = 100
SIZE = (8.0, 5.0)  # inches: 800×500 px at DPI
DIGEST_SIZE = (12.0, 8.0)  # 1200×800 px
HEATMAP_MAX_ROWS = 16
HEATMAP_MAX_COLS = 26
RECENT_COHORTS = 3
_COHORT_MARKERS = ("s", "^", "D", "v")  # with palette.RECENT_COHORTS, newest first
# Shape as well as colour (palette.STATUS_COLOR), so that a status reads without colour vision.
STATUS_MARKER: dict[Status, str] = {
    "pass": "o",
    "borderline": "D",
    "fail": "X",
    "insufficient_data": "o",
}


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


# --------------------------------------------------------------------------- figure plumbing

# The whole sentence: cut after "you don't" it reads as a sentence that was cut off.
_RULE = "if you are not sure you have product-market fit, you don't have it yet"


def _safe(text: str) -> str:
    """User text (product names) drawn literally: a "$" would otherwise start mathtext."""
    return text.replace("$", r"\$")


def _figure(
    size: tuple[float, float], product_name: str, what: str, subtitle: str, fonts: _Fonts
) -> tuple[Figure, SubFigure]:
    """A figure with a title strip "{product_name} · {what}" over the subtitle; returns the body
    subfigure to draw in. A long product name is shortened, never the rest of the title."""
    fig = Figure(figsize=size, dpi=DPI, layout="constrained", facecolor=palette.BACKGROUND)
    FigureCanvasAgg(fig)
    rows = fig.add_gridspec(2, 1, height_ratios=[fonts.header_in, size[1] - fonts.header_in])
    head, body = fig.add_subfigure(rows[0]), fig.add_subfigure(rows[1])
    _fit(fig, head.text(0.012, 0.93, "", fontsize=fonts.title, fontweight="bold", ha="left", va="top"),
         product_name, suffix=f" · {what}")
    _fit(fig, head.text(0.012, 0.18, "", fontsize=fonts.subtitle, color=palette.SUBTITLE, ha="left",
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
    from bot.render.placement import place_all

    place_all(fig)  # labels go where they cover no data, measured after the layout
    buffer = io.BytesIO()
    # No "Software" (matplotlib version) chunk and no timestamps: same input, same bytes.
    fig.savefig(buffer, format="png", dpi=DPI, facecolor=palette.BACKGROUND, metadata={"Software": None})
    return buffer.getvalue()


def _style(ax: Axes, fonts: _Fonts, *, ygrid: bool = True) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color(palette.AXES)
    ax.spines["bottom"].set_color(palette.AXES)
    ax.tick_params(labelsize=fonts.tick, color=palette.AXES)
    if ygrid:
        ax.grid(axis="y", color=palette.GRID, linewidth=0.8)
        ax.set_axisbelow(True)


def _percent_y(ax: Axes, top: float = 1.0) -> None:
    ax.set_ylim(0.0, top)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


def _no_data(ax: Axes, headline: str, detail: str, fonts: _Fonts) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.56, headline, transform=ax.transAxes, ha="center", va="center",
            fontsize=fonts.title + 2, color=palette.NOTE, fontweight="bold")
    ax.text(0.5, 0.40, textwrap.fill(detail, 60), transform=ax.transAxes, ha="center", va="center",
            fontsize=fonts.label, color=palette.NOTE)


def _panel_title(ax: Axes, name: str, status: Status, fonts: _Fonts) -> None:
    ax.set_title(f"{name} · {STATUS_WORD[status]}", loc="left", fontsize=fonts.label + 1.5,
                 fontweight="bold", color=palette.TEXT)


