"""Every chart's name lives in ``bot.render.names`` (issue 21, items 8 and 14): each chart is
titled with a name from there, and no other module writes a chart's name as a title again (a
second copy is how the link, the file and the image came to disagree)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bot.render import names

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "bot/render/names.py"
CHART_NAMES = {key: value for key, value in vars(names).items() if key.endswith("_CHART")}


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for package in ("bot", "handlers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != HOME:
                yield path, ast.parse(path.read_text(encoding="utf-8"))


def _imported_names(tree: ast.Module) -> set[str]:
    return {a.asname or a.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "bot.render.names" for a in node.names}


def figure_titles(tree: ast.Module) -> list[str | None]:
    """What each ``_figure(size, product_name, what, ...)`` call in ``tree`` titles its chart with:
    the ``bot.render.names`` name passed (directly, or as a parameter's default), else None."""
    imported = _imported_names(tree)
    found: list[str | None] = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef):
            continue
        args = func.args
        defaults = dict(zip([a.arg for a in args.args][len(args.args) - len(args.defaults):], args.defaults, strict=True))
        defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None}
        for call in ast.walk(func):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "_figure":
                what: ast.expr | None = call.args[2] if len(call.args) > 2 else None
                if isinstance(what, ast.Name) and what.id in defaults:
                    what = defaults[what.id]
                found.append(what.id if isinstance(what, ast.Name) and what.id in imported else None)
    return found


def test_every_chart_is_titled_with_a_name_from_bot_render_names() -> None:
    titles = {path.relative_to(ROOT).as_posix(): figure_titles(tree) for path, tree in _sources()}
    titles = {path: found for path, found in titles.items() if found}
    assert all(None not in found for found in titles.values()), titles
    used = {name for found in titles.values() for name in found}
    # The /pmf-check chart is the digest's figure under its own name (tests/handlers/test_chart_names.py).
    assert used | {"SIGNALS_CHART"} == set(CHART_NAMES)


def test_no_other_module_writes_a_charts_name() -> None:
    copies = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                copies += [f"{path.relative_to(ROOT)}:{node.lineno}: {text!r}" for name in CHART_NAMES.values()
                           if text == name or text.startswith(f"{name} ")]
    assert copies == []


def test_the_checks_find_a_title_written_out() -> None:
    tree = ast.parse('from bot.render.names import ORGANIC_CHART\n'
                     'def a(p):\n    return _figure(SIZE, p, ORGANIC_CHART, "x", F)\n'
                     'def b(p, *, name=ORGANIC_CHART):\n    return _figure(SIZE, p, name, "x", F)\n'
                     'def c(p):\n    return _figure(SIZE, p, "organic growth", "x", F)\n')
    assert figure_titles(tree) == ["ORGANIC_CHART", "ORGANIC_CHART", None]
