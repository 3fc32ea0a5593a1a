"""Tests of "one edit in bot/slack/retry.py reaches everything": the policy module as if one of
its top-level assignments had been edited in the file, in force for one test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.slack import retry


def edit_policy(monkeypatch: pytest.MonkeyPatch, **assignments: str) -> None:
    """Run bot/slack/retry.py with the top-level ``NAME = …`` of each keyword replaced by
    ``NAME = <source>`` (everything after it derived from the edited value, as a real edit
    would), and put the resulting values on the module until the test ends."""
    path = Path(retry.__file__)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found: set[str] = set()
    for node in reversed(ast.parse(text).body):  # bottom up: earlier line numbers stay valid
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id in assignments:
            assert node.end_lineno is not None
            lines[node.lineno - 1:node.end_lineno] = [f"{target.id} = {assignments[target.id]}"]
            found.add(target.id)
    assert found == set(assignments), f"not top-level assignments of bot/slack/retry.py: {set(assignments) - found}"
    namespace: dict[str, object] = {"__name__": retry.__name__, "__file__": str(path)}
    exec(compile("\n".join(lines), str(path), "exec"), namespace)  # noqa: S102 - our own file, edited by the test
    for name, value in namespace.items():
        if not name.startswith("__"):
            monkeypatch.setattr(retry, name, value)
