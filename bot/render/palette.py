"""Every colour the charts draw, named by what it means (issue 21, item 14: one fact, one place).

To recolour something, change its meaning here: "make the organic line another colour" is
``ORGANIC``, and every chart that draws the organic share follows. Chart modules read these
names at draw time (``palette.ORGANIC``), never a hue and never a colour literal; a test keeps it
so (tests/render/test_palette.py).

The hues are Okabe & Ito's (2008) "Color Universal Design" palette, distinguishable with every
common colour-vision deficiency. They stay private: a hue says nothing about what it marks.
"""

from __future__ import annotations

from bot.domain.types import Status, Verdict

# --------------------------------------------------------------------------- hues (private)

_BLACK = "#000000"
_ORANGE = "#E69F00"
_SKY = "#56B4E9"
_GREEN = "#009E73"
_BLUE = "#0072B2"
_VERMILLION = "#D55E00"
_PURPLE = "#CC79A7"
_GREY = "#7F7F7F"
_LIGHT_GREY = "#BBBBBB"
_WHITE = "white"

# --------------------------------------------------------------------------- the page

BACKGROUND = _WHITE  # the figure, hollow markers' faces, label patches, halos round markers
TEXT = _BLACK  # titles, panel titles, the numbers written on a chart
TEXT_ON_COLOUR = _WHITE  # text over a dark fill: the verdict box, dark heat-map cells
SUBTITLE = "#444444"  # the line under a chart's title
NOTE = _GREY  # what annotates rather than shows data: "not enough data yet", "tail", "last week"
AXES = _LIGHT_GREY  # spines and ticks
GRID = "#E5E5E5"

# --------------------------------------------------------------------------- statuses

# One map: a status is drawn in one colour on every chart (markers, the plateau box's edge, the
# organic window's share, the digest's verdict panel). Never colour alone: shapes and words too.
STATUS_COLOR: dict[Status, str] = {
    "pass": _GREEN,
    "borderline": _ORANGE,
    "fail": _VERMILLION,
    "insufficient_data": _GREY,
}
# The verdict box takes the colour of the status it corresponds to.
_VERDICT_STATUS: dict[Verdict, Status] = {"ready": "pass", "not_ready": "fail", "unclear": "borderline"}


def verdict_color(verdict: Verdict) -> str:
    return STATUS_COLOR[_VERDICT_STATUS[verdict]]


WARNING = _VERMILLION  # the digest's first warning

# --------------------------------------------------------------------------- the gate's marks

THRESHOLD = _BLACK  # a bar a signal must clear: the survey threshold, the organic min share
WINDOW = _BLACK  # shading of the weeks a verdict is judged on (retention tail, organic window)
PLATEAU = _BLACK  # the plateau level line and its interval box
RULE_CHANGE = _GREY  # trajectory: a week in which the product's gate rules changed

# --------------------------------------------------------------------------- signals

RETENTION = _BLUE  # the retention curve, its band, weeks not used; the plateau on the trajectory
RECENT_COHORTS: tuple[str, ...] = (_SKY, _ORANGE, _PURPLE, _GREEN)  # thin lines, newest first
HEATMAP = "viridis"  # colormap of the cohort heat map; weeks not complete yet are BACKGROUND
ORGANIC = _BLUE  # the weekly organic share line
ORGANIC_TREND = _ORANGE  # the organic share's trend line and its CI fan
ORGANIC_TREND_TEXT = "#8A5F00"  # the trend's in-place label: ORGANIC_TREND darkened to read as text
# The trajectory's other two panels (they differ from ORGANIC and VERY_DISAPPOINTED today).
TRAJECTORY_SCORE = _PURPLE
TRAJECTORY_ORGANIC = _GREEN

# --------------------------------------------------------------------------- survey answers

VERY_DISAPPOINTED = _BLUE
SOMEWHAT_DISAPPOINTED = _SKY
NOT_DISAPPOINTED = _ORANGE
NO_LONGER_USES = _LIGHT_GREY  # the N/A answer (not scored), hatched
NO_LONGER_USES_EDGE = _GREY
