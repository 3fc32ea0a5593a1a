"""docs/architecture.md's "one place each fact lives" table must point at real places: every
`path` it names exists, and every `NAME` written beside a Python path in the same cell is defined
at the top level of that module (or is a class attribute / method found by name in it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def _table_rows() -> list[list[str]]:
    text = DOC.read_text()
    section = text.split("### Ordinary changes", 1)[1].split("### New kinds of thing", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| change")]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows if not set(row) <= set("|- ")]


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_the_table_covers_the_eight_ordinary_changes() -> None:
    changes = [row[0] for row in _table_rows()]
    for wanted in ("survey bar's default", "subcommand", "digest day", "verdict's wording", "paid medium",
                   "signup column", "5xx retry", "chart colour"):
        assert any(wanted in c for c in changes), (wanted, changes)


def test_every_place_in_the_table_exists_and_defines_what_it_names() -> None:
    checked = 0
    cells = [cell for row in _table_rows() for cell in row[1:]]
    for cell in cells:
        # `path.py` `NAME` pairs: a code span that is a path, followed by code spans of names.
        for m in re.finditer(r"`([\w/]+\.py)`((?:\s*`[A-Za-z_][\w.]*`)*)", cell):
            path = ROOT / m.group(1)
            assert path.is_file(), f"docs/architecture.md names {m.group(1)}, which does not exist"
            defined = _defined(path)
            for name in re.findall(r"`([A-Za-z_][\w.]*)`", m.group(2)):
                assert name.split(".")[0] in defined, f"{m.group(1)} does not define {name} (docs/architecture.md)"
                checked += 1
        for folder in re.findall(r"`([\w/]+/)`", cell):
            assert (ROOT / folder).is_dir(), folder
    assert checked >= 8
