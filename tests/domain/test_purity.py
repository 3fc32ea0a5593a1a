"""The domain stays pure: it may import the standard library, numpy, scipy and itself only.

tests/test_import_rules.py bans the known adapters; this is the stricter allow-list for the
domain, so that a new dependency (pandas, requests, a Slack helper) cannot creep in unnoticed.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain"
ALLOWED = set(sys.stdlib_module_names) | {"numpy", "scipy", "yake", "__future__"}  # yake: offline key phrases (lessons)
BANNED_STDLIB = {"os", "time", "socket", "subprocess", "random", "logging", "io", "pathlib", "sqlite3"}


def _imports(path: Path) -> list[str]:
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_only_what_a_pure_module_may(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "bot":
            assert name.startswith("bot.domain"), f"{path.name} imports {name}"
        else:
            assert top in ALLOWED and top not in BANNED_STDLIB, f"{path.name} imports {name}"
