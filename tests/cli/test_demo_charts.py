"""Every chart of the demo, as `pmfbot demo` draws it (the one run shared with tests/cli/test_demo.py): labels never cover data (measured in pixels
after drawing), the retention markers say which weeks were used, one name per chart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

import bot.render.placement as placement
from bot.reports import service as reports
from storage.db import make_engine, make_session_factory


@pytest.fixture(scope="module")
def demo(demo_run) -> tuple[Path, list[Figure]]:  # type: ignore[no-untyped-def]
    out, result, figures = demo_run
    assert result.exit_code == 0, result.stderr
    return out, figures


def _title(fig: Figure) -> str:
    texts = [t.get_text() for sub in fig.subfigs for t in sub.texts]
    return texts[0] if texts else ""


def _data_points(ax: Any) -> Iterator[np.ndarray]:
    """Every drawn data line, reference line and bar outline of ``ax`` as pixels, each segment
    sampled every pixel or so (an independent reading of the artists, not the placement code's)."""
    def dense(xy: np.ndarray) -> np.ndarray:
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy) < 2:
            return xy
        parts = [np.linspace(a, b, max(2, int(np.hypot(*(b - a))) + 1)) for a, b in zip(xy[:-1], xy[1:], strict=True)]
        return np.vstack(parts)

    for line in ax.lines:
        if line.get_visible():
            yield dense(line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float)))
    for coll in ax.collections:
        if isinstance(coll, LineCollection):
            for seg in coll.get_segments():
                yield dense(coll.get_transform().transform(np.asarray(seg, dtype=float)))
    for container in ax.containers:
        if isinstance(container, BarContainer):
            for bar in container:
                b = bar.get_window_extent()
                yield dense(np.array([[b.x0, b.y0], [b.x1, b.y0], [b.x1, b.y1], [b.x0, b.y1], [b.x0, b.y0]]))


def _label_boxes(fig: Figure) -> Iterator[tuple[Any, str, Bbox]]:
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for ax in fig.get_axes():
        for text in ax.texts:
            if text.get_gid() == placement.LABEL_GID and text.get_text():
                box = text.get_window_extent(renderer)
                patch = text.get_bbox_patch()
                if patch is not None:
                    box = Bbox.union([box, patch.get_window_extent(renderer)])
                yield ax, text.get_text(), box


def test_no_label_covers_data_in_any_demo_chart(demo: tuple[Path, list[Figure]]) -> None:
    _, figures = demo
    checked = 0
    for fig in figures:
        fig.canvas.draw()  # exactly what was saved
        for ax, text, box in _label_boxes(fig):
            for xy in _data_points(ax):
                inside = (xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)
                assert not inside.any(), f"{_title(fig)}: {text!r} covers data at {xy[inside][0]}"
            checked += 1
    # the digest's organic labels (bar, trend, window) and retention labels, and the chart's plateau box
    assert checked >= 5


def test_retention_markers_hollow_only_for_weeks_not_used(demo: tuple[Path, list[Figure]]) -> None:
    out, figures = demo
    signal = _signal(out).retention
    assert signal.tail_offsets
    panels = [ax for fig in figures for ax in fig.get_axes() if ax.get_xlabel() == "weeks since signup" and not ax.images
              and any(line.get_linewidth() > 2.5 for line in ax.lines)]
    assert len(panels) >= 2  # the retention chart and the digest's panel
    for ax in panels:
        hollow = [line for line in ax.lines if line.get_markerfacecolor() in ("white", "w", (1, 1, 1, 1))
                  and line.get_marker() == "o"]
        average = next(line for line in ax.lines if line.get_linewidth() > 2.5)
        used = {int(x) for x in average.get_xdata()}
        assert set(signal.tail_offsets) <= used  # the judged tail is filled
        hollow_x = {int(x) for line in hollow for x in line.get_xdata()}
        assert hollow_x and min(hollow_x) > max(signal.tail_offsets)
        assert not hollow_x & used
        # they hold hundreds of users: what keeps them out is the number of cohorts reaching them
        assert {line.get_label() for line in hollow} == {"not used (too few cohorts)"}


def test_one_name_per_chart(demo: tuple[Path, list[Figure]]) -> None:
    from bot.render.names import DIGEST_CHART, TRAJECTORY_CHART

    _, figures = demo
    titles = {_title(fig) for fig in figures}
    assert f"Acme · {DIGEST_CHART}" in titles and f"Acme · {TRAJECTORY_CHART}" in titles


def _signal(out: Path) -> Any:
    factory = make_session_factory(make_engine(f"sqlite:///{out / 'pmf-demo.db'}"))
    return reports.gate_report(factory, product_slug="acme", as_of=_as_of(out))


def _as_of(out: Path) -> date:
    return date.fromisoformat(json.loads((out / "report.json").read_text())["as_of"])


def test_the_heatmap_shows_and_marks_the_cohorts_the_verdict_rests_on(demo: tuple[Path, list[Figure]]) -> None:
    from bot.domain.weeks import week_start

    out, figures = demo
    report = _signal(out)
    judged = {week_start(w).isoformat() for w in report.retention.tail_cohorts}
    assert report.cohort_table is not None and len(report.cohort_table.cohorts) > 16  # rows had to be chosen
    ax = next(ax for fig in figures for ax in fig.get_axes() if ax.images)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    marked = {label.split(" ")[1] for label in labels if label.startswith("▶ ")}
    assert marked == judged and len(labels) == 16
    newest = week_start(max(c.week for c in report.cohort_table.cohorts)).isoformat()
    assert labels[-1].startswith(newest)


def test_the_trajectory_key_has_every_status_at_the_size_drawn(demo: tuple[Path, list[Figure]]) -> None:
    from matplotlib.collections import PathCollection

    _, figures = demo
    fig = next(f for f in figures if _title(f) == "Acme · PMF trajectory")
    legend = fig.subfigs[1].legends[0]
    words = [t.get_text() for t in legend.get_texts()]
    assert words == ["pass", "borderline", "fail", "not enough data"]
    sizes = {w: h.get_markersize() ** 2 for w, h in zip(words, legend.legend_handles, strict=True)}  # type: ignore[union-attr]
    colours = {w: h.get_color() for w, h in zip(words, legend.legend_handles, strict=True)}  # type: ignore[union-attr]
    assert colours["not enough data"] == "#7F7F7F"
    drawn = {float(s) for ax in fig.get_axes() for c in ax.collections if isinstance(c, PathCollection)
             for s in c.get_sizes()}
    assert drawn and all(any(abs(d - v) < 1e-6 for v in sizes.values()) for d in drawn)
    assert sizes["fail"] > sizes["pass"]  # an X fills less of its box: drawn larger to look as big


def test_survey_bars_give_one_number_out_of_the_scored_answers(demo: tuple[Path, list[Figure]]) -> None:
    out, figures = demo
    survey = _signal(out).survey
    scored = survey.counts.scored
    for fig in figures:
        for ax in fig.get_axes():
            if ax.containers and ax.get_yticklabels() and "Very" in ax.get_yticklabels()[0].get_text():
                texts = [t.get_text() for t in ax.texts]
                assert texts[:3] == [f"{survey.counts.very} of {scored}", f"{survey.counts.somewhat} of {scored}",
                                     f"{survey.counts.not_} of {scored}"]
                assert texts[3] == f"{survey.counts.na} · not scored"
                assert not any("%" in t for t in texts)
