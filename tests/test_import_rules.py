"""STYLE.md's import rules, checked by walking every module's imports (AST, not execution)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bot/domain": ("slack_sdk", "slack_bolt", "sqlalchemy", "matplotlib", "apscheduler", "storage", "handlers",
                   "bot.render", "bot.services", "requests", "urllib.request", "time", "socket"),
    "bot/render": ("storage", "sqlalchemy", "slack_bolt", "slack_sdk.web", "handlers", "matplotlib.pyplot"),
    "storage": ("slack_sdk", "slack_bolt", "handlers", "bot.app", "bot.render"),
    "handlers": ("sqlalchemy", "storage"),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def _violations(folder: str, banned: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, name in _imports(path):
            if any(name == b or name.startswith(b + ".") for b in banned):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return bad


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_layer_imports_only_what_it_may(folder: str) -> None:
    assert (ROOT / folder).is_dir()
    assert _violations(folder, FORBIDDEN[folder]) == []


def test_domain_reads_no_environment_or_clock() -> None:
    for path in (ROOT / "bot/domain").rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        for needle in ("os.environ", "datetime.now(", "date.today(", "time.time(", "utcnow("):
            assert needle not in src, f"{path.name} uses {needle}"


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("from sqlalchemy import select\nimport slack_sdk.web\n")
    names = [n for _, n in _imports(bad)]
    assert names == ["sqlalchemy", "slack_sdk.web"]
