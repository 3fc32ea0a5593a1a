"""Where a literal is written in our own code, for the tests that keep each fact in one place.

Reads the AST (not the text) of every module under bot/ and handlers/: the string constants
(f-strings' literal parts too, docstrings left out, since they may quote a fact as an example)
and the number constants. Paths are relative to the repository, e.g. "bot/domain/gate.py"."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers")


@cache
def trees() -> dict[str, ast.Module]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            out[path.relative_to(ROOT).as_posix()] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def constants(tree: ast.Module) -> Iterator[ast.Constant]:
    docs = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in docs:
            yield node


def modules_saying(phrase: str) -> set[str]:
    """The modules with a string constant containing ``phrase`` (case-insensitive)."""
    low = phrase.lower()
    return {path for path, tree in trees().items()
            if any(isinstance(c.value, str) and low in c.value.lower() for c in constants(tree))}


def modules_with_number(value: float) -> set[str]:
    return {path for path, tree in trees().items()
            if any(isinstance(c.value, int | float) and not isinstance(c.value, bool) and c.value == value
                   for c in constants(tree))}
