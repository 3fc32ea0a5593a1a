"""One colour, one name, one place (issue 21, item 14): every colour a chart draws is a meaning in
``bot.render.palette``. No other module writes a colour literal or names a hue, and changing one
meaning changes what it marks, on every chart, and nothing else."""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation

import bot.digests.charts as digest_charts
import bot.history.charts as history_charts
import bot.reports.charts as report_charts
from bot.domain.types import GateReport, Status
from bot.history.values import History, HistoryWeek
from bot.render import palette

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "bot/render/palette.py"
HUES = {"BLACK", "WHITE", "ORANGE", "SKY", "GREEN", "YELLOW", "BLUE", "VERMILLION", "PURPLE", "GREY", "GRAY",
        "LIGHT_GREY", "LIGHT_GRAY"}
HEX = re.compile(r"#(?:[0-9A-Fa-f]{3,4}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})")
# Arguments (and dict keys, for bbox=) that take a colour; a literal there is a colour written
# outside the palette ("none" is no colour: nothing drawn).
COLOUR_ARGS = {"color", "colors", "facecolor", "edgecolor", "edgecolors", "markerfacecolor", "markeredgecolor",
               "markerfacecoloralt", "ecolor", "bad", "cmap", "c", "fc", "ec", "mfc", "mec"}


def colour_offences(source: str) -> list[str]:
    """Where ``source`` writes a colour instead of naming a meaning from the palette."""
    found: list[str] = []

    def literal(node: ast.AST | None) -> str | None:
        """The colour-like string literal ``node`` is, if it is one."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() != "none":
            return node.value
        return None

    for node in ast.walk(ast.parse(source)):
        where = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and HEX.fullmatch(node.value.strip()):
            found.append(f"{where}: hex colour {node.value!r}")
        elif isinstance(node, ast.ImportFrom):
            found += [f"{where}: imports hue {a.name}" for a in node.names if a.name.lstrip("_") in HUES]
        elif isinstance(node, ast.Name) and node.id.lstrip("_") in HUES:
            found.append(f"{where}: hue name {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr.lstrip("_") in HUES:
            found.append(f"{where}: hue name .{node.attr}")
        elif isinstance(node, ast.keyword) and node.arg in COLOUR_ARGS and (value := literal(node.value)):
            found.append(f"{where}: {node.arg}={value!r}")
        elif isinstance(node, ast.Dict):
            for key, item in zip(node.keys, node.values, strict=True):
                if literal(key) in COLOUR_ARGS and (value := literal(item)):
                    found.append(f"{where}: {{{literal(key)!r}: {value!r}}}")
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "colormaps"
              and (value := literal(node.slice))):
            found.append(f"{where}: colormaps[{value!r}]")
    return found


def _modules() -> Iterator[Path]:
    for package in ("bot", "handlers"):
        yield from (p for p in sorted((ROOT / package).rglob("*.py")) if p != HOME)


def test_only_the_palette_writes_a_colour_or_names_a_hue() -> None:
    offences = [f"{path.relative_to(ROOT)}:{o}" for path in _modules()
                for o in colour_offences(path.read_text(encoding="utf-8"))]
    assert offences == []


def test_the_checker_finds_each_way_of_writing_a_colour() -> None:
    bad = """
from bot.render.charts import BLUE
from bot.render.palette import _ORANGE
import bot.render.palette as palette
ax.plot(x, y, color="#0072B2")
ax.text(0, 0, "x", color="white", bbox={"facecolor": "black", "edgecolor": "none"})
ax.axvline(1, color=palette._GREY)
ax.plot(x, y, color=GREEN, markerfacecolor="w")
cmap = colormaps["viridis"]
"""
    assert sorted(colour_offences(bad)) == [
        "2: imports hue BLUE", "3: imports hue _ORANGE", "5: color='#0072B2'", "5: hex colour '#0072B2'",
        "6: color='white'", "6: {'facecolor': 'black'}", "7: hue name ._GREY", "8: hue name GREEN",
        "8: markerfacecolor='w'", "9: colormaps['viridis']"]
    good = """
from bot.render import palette
ax.plot(x, y, color=palette.ORGANIC, markerfacecolor=palette.BACKGROUND, linestyle="--")
ax.text(0, 0, "#1 of 3 #abc", bbox={"facecolor": palette.BACKGROUND, "edgecolor": "none"})
cmap = colormaps[palette.HEATMAP]
"""
    assert colour_offences(good) == []


def test_the_palette_names_meanings_and_keeps_hues_private() -> None:
    public = {name for name in vars(palette) if not name.startswith("_")}
    assert not public & HUES
    assert {"RETENTION", "ORGANIC", "VERY_DISAPPOINTED", "THRESHOLD", "STATUS_COLOR"} <= public


# --------------------------------------------------------------------------- one meaning changed


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """The figures the charts draw (their ``_png`` step captured instead of saved)."""
    figures: list[Figure] = []

    def keep(fig: Figure) -> bytes:
        figures.append(fig)
        return b""

    for module in (report_charts, digest_charts, history_charts):
        monkeypatch.setattr(module, "_png", keep)
    return figures


def _lines(fig: Figure, label: str) -> list[Line2D]:
    return [line for ax in fig.get_axes() for line in ax.lines if line.get_label() == label]


def _colour(line: Line2D) -> str:
    return to_hex(line.get_color())


ORGANIC_LINE = "weekly share"
RETENTION_LINE = "average (size-weighted)"


def test_changing_organic_recolours_the_organic_line_and_not_retention(
    report: GateReport, drawn: list[Figure], monkeypatch: pytest.MonkeyPatch,
) -> None:
    retention_before = palette.RETENTION
    monkeypatch.setattr(palette, "ORGANIC", "#123456")
    assert report.cohort_table is not None
    digest_charts.digest_chart(report)
    report_charts.organic_chart(report.organic, product_name="Acme", as_of=report.as_of, min_share=0.5)
    report_charts.retention_chart(report.cohort_table, report.retention, product_name="Acme")
    digest, organic, retention = drawn
    for fig in (digest, organic):
        assert [_colour(line) for line in _lines(fig, ORGANIC_LINE)] == ["#123456"]
    for fig in (digest, retention):
        assert [_colour(line) for line in _lines(fig, RETENTION_LINE)] == [to_hex(retention_before)]


def test_changing_retention_recolours_the_retention_line_and_not_organic(
    report: GateReport, drawn: list[Figure], monkeypatch: pytest.MonkeyPatch,
) -> None:
    organic_before = palette.ORGANIC
    monkeypatch.setattr(palette, "RETENTION", "#654321")
    digest_charts.digest_chart(report)
    history_charts.trajectory_chart(_history(report))
    digest, trajectory = drawn
    assert [_colour(line) for line in _lines(digest, RETENTION_LINE)] == ["#654321"]
    assert [_colour(line) for line in _lines(digest, ORGANIC_LINE)] == [to_hex(organic_before)]
    plateau = _panel(trajectory, "Retention plateau level")
    assert {_colour(line) for line in plateau.lines if str(line.get_label()).startswith("_")} == {"#654321"}
    organic = _panel(trajectory, "Organic share of signups")
    assert "#654321" not in {_colour(line) for line in organic.lines}


def test_a_status_has_one_colour_on_every_chart(
    report: GateReport, drawn: list[Figure], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trajectory's markers and key, the digest's glyphs and its verdict box all read the one
    map keyed by status."""
    monkeypatch.setitem(palette.STATUS_COLOR, "pass", "#0a0b0c")
    ready = dataclasses.replace(report, verdict="ready",
                                retention=dataclasses.replace(report.retention, status="pass"))
    digest_charts.digest_chart(ready)
    history_charts.trajectory_chart(_history(report))
    digest, trajectory = drawn
    boxes = [to_hex(patch.get_facecolor()) for ax in digest.get_axes() for t in ax.texts
             if isinstance(t, Annotation) and (patch := t.get_bbox_patch()) is not None]
    assert boxes == ["#0a0b0c"]  # the verdict "ready" in the colour of "pass"
    glyphs = [to_hex(t.get_color()) for ax in digest.get_axes() for t in ax.texts  # type: ignore[arg-type]
              if t.get_text() == "●"]
    passing = [x.status for x in (ready.retention, ready.organic, ready.survey)].count("pass")
    assert passing and glyphs == ["#0a0b0c"] * passing
    markers = {to_hex(c) for ax in trajectory.get_axes() for coll in ax.collections
               if isinstance(coll, PathCollection) for c in np.asarray(coll.get_facecolor())}
    assert "#0a0b0c" in markers and to_hex(palette.STATUS_COLOR["fail"]) in markers
    key = {t.get_text(): to_hex(h.get_color())  # type: ignore[union-attr]
           for t, h in zip(trajectory.subfigs[1].legends[0].get_texts(),
                           trajectory.subfigs[1].legends[0].legend_handles, strict=True)}
    assert key["pass"] == "#0a0b0c" and key["fail"] == to_hex(palette.STATUS_COLOR["fail"])


def _panel(fig: Figure, title: str) -> Axes:
    return next(ax for ax in fig.get_axes() if ax.get_title(loc="left") == title)


def _history(report: GateReport) -> History:
    """Six weeks of ``report``, the retention failing, then passing."""
    statuses: list[Status] = ["fail", "fail", "borderline", "pass", "pass", "pass"]
    replace: Callable[[Status], GateReport] = lambda status: dataclasses.replace(  # noqa: E731
        report, retention=dataclasses.replace(report.retention, status=status))
    weeks = tuple(HistoryWeek(100 + i, replace(status)) for i, status in enumerate(statuses))
    return History(product="acme", product_name="Acme", weeks=weeks)
