"""Labels that never cover data: a label inside a chart's axes is put at the first of its
candidate places where its box (measured after layout, in pixels) touches no drawn line, marker,
bar or other label; when none is clear it goes above the axes, outside the data area.

"Data" here is every line of the axes (curves, bars' outlines, reference lines like the 40% bar,
error bars), every line collection (``hlines``) and every bar; shaded spans and interval bands
are backdrops and may be written on. ``covered`` is what the tests use to check every chart.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import Bbox

LABEL_GID = "pmf-label"  # texts placed here (and those the tests check)
PAD_PX = 3.0


def _polylines(ax: Axes) -> Iterator[tuple[np.ndarray, float]]:
    """Each drawn line of ``ax`` in display pixels, with its half marker size (pixels)."""
    dpi = ax.figure.dpi  # type: ignore[union-attr]
    for line in ax.lines:
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        marker = 0.0 if line.get_marker() in (None, "None", "", " ") else float(line.get_markersize()) * dpi / 144
        yield xy, marker + float(line.get_linewidth()) * dpi / 144
    for coll in ax.collections:
        if isinstance(coll, LineCollection) and coll.get_visible():
            transform = coll.get_transform()
            widths = coll.get_linewidth()
            width = float(np.max(widths)) if np.size(widths) else 1.0
            for seg in coll.get_segments():
                yield transform.transform(np.asarray(seg, dtype=float)), width * dpi / 144
    for container in ax.containers:
        if isinstance(container, BarContainer):
            for bar in container:
                box = bar.get_window_extent()
                yield np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1],
                                [box.x0, box.y0]]), 0.0


def covered(ax: Axes, box: Bbox) -> bool:
    """Whether ``box`` (display pixels) touches any data drawn in ``ax``."""
    for xy, pad in _polylines(ax):
        grown = box.padded(pad + PAD_PX)
        for part in np.split(xy, np.flatnonzero(~np.isfinite(xy).all(axis=1))):
            part = part[np.isfinite(part).all(axis=1)]
            if len(part) == 0:
                continue
            if len(part) == 1:
                if grown.contains(*part[0]):
                    return True
            elif Path(part).intersects_bbox(grown, filled=False):
                return True
    return False


def text_box(text: Text) -> Bbox:
    """A text's box in pixels, with its background patch when it has one."""
    renderer = text.figure.canvas.get_renderer()  # type: ignore[union-attr,attr-defined]
    box = text.get_window_extent(renderer)
    patch = text.get_bbox_patch()
    if patch is not None:
        text.update_bbox_position_size(renderer)
        box = Bbox.union([box, patch.get_window_extent(renderer)])
    return box


Candidate = tuple[float, float, str, str, str]  # x, y, ha, va, "data" | "axes"
_PENDING = "_pmf_pending_labels"


def label(ax: Axes, text: str, candidates: Sequence[Candidate], **style: object) -> Text:
    """A label for ``ax``, placed when the figure is saved (``place_all``) at the first clear
    candidate; ``style`` goes to ``Axes.text``."""
    artist = ax.text(0, 0, text, transform=ax.transAxes, **style)  # type: ignore[arg-type]
    artist.set_gid(LABEL_GID)
    pending = getattr(ax, _PENDING, None)
    if pending is None:
        pending = []
        setattr(ax, _PENDING, pending)
    pending.append((artist, list(candidates)))
    return artist


def place_all(fig: Figure) -> None:
    """Lay the figure out, then place every pending label of its axes (in the order made)."""
    axes = [ax for ax in fig.get_axes() if getattr(ax, _PENDING, None)]
    if not axes:
        return
    fig.draw_without_rendering()
    for ax in axes:
        taken: list[Bbox] = []
        for artist, candidates in getattr(ax, _PENDING):
            place(ax, artist, candidates, taken)
        setattr(ax, _PENDING, [])


def place(ax: Axes, text: Text, candidates: Sequence[Candidate], taken: list[Bbox]) -> None:
    """Move ``text`` to the first clear candidate, then to the first clear place of a grid over
    the axes; else above the axes. The layout must be done (``figure.draw_without_rendering()``)
    before. Its box is added to ``taken``."""
    text.set_transform(ax.transAxes)
    text.set_gid(LABEL_GID)
    frame = ax.get_window_extent()
    to_axes = ax.transAxes.inverted()
    grid = [(x, y, ha, "center", "axes") for y in np.arange(0.94, 0.05, -0.08)
            for x, ha in ((0.02, "left"), (0.98, "right"), (0.5, "center"))]
    for x, y, ha, va, coords in [*candidates, *grid]:
        if coords == "data":
            x, y = to_axes.transform(ax.transData.transform((x, y)))
        text.set_position((x, y))
        text.set_horizontalalignment(ha)  # type: ignore[arg-type]
        text.set_verticalalignment(va)  # type: ignore[arg-type]
        box = text_box(text)
        inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        if inside and not covered(ax, box) and not any(box.overlaps(t) for t in taken):
            taken.append(box)
            return
    text.set_position((1.0, 1.01))
    text.set_horizontalalignment("right")
    text.set_verticalalignment("bottom")
    taken.append(text_box(text))
