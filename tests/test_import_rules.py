"""STYLE.md's import rules, checked by walking every module's imports (AST, not execution):
layer rules, feature-file rules, no import cycle, no ``importlib`` probing of our own modules,
and no module grown past the size that says it holds two things."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage")
MAX_LINES = 450

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bot/domain": ("slack_sdk", "slack_bolt", "sqlalchemy", "matplotlib", "apscheduler", "storage", "handlers",
                   "bot.render", "bot.reports", "bot.surveys", "bot.digests", "bot.products", "bot.slack",
                   "requests", "urllib.request", "time", "socket"),
    "bot/render": ("storage", "sqlalchemy", "slack_bolt", "slack_sdk.web", "handlers", "matplotlib.pyplot"),
    "storage": ("slack_sdk", "slack_bolt", "handlers", "bot.app", "bot.render", "bot.slack"),
    "handlers": ("sqlalchemy", "storage"),
}
# Per file kind, wherever it lives in a feature package.
FILE_RULES: dict[str, tuple[str, ...]] = {
    # A use case never talks to Slack (the tables of slack_sdk's installation store are data).
    "service.py": ("slack_sdk.web", "slack_sdk.WebClient", "slack_sdk.webhook", "slack_bolt", "bot.slack.client",
                   "bot.slack.post", "bot.slack.files", "bot.slack.respond", "bot.slack.oauth", "handlers"),
    "blocks.py": ("storage", "sqlalchemy", "slack_sdk.web", "slack_sdk.WebClient", "handlers"),
    "charts.py": ("storage", "sqlalchemy", "slack_sdk", "slack_bolt", "handlers", "matplotlib.pyplot"),
    "modals.py": ("storage", "sqlalchemy", "slack_sdk.web", "handlers"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def _banned(name: str, banned: tuple[str, ...]) -> bool:
    return any(name == b or name.startswith(b + ".") for b in banned)


def _violations(paths: list[Path], banned: tuple[str, ...]) -> list[str]:
    return [f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line} imports {name}"
            for path in paths for line, name in _imports(path) if _banned(name, banned)]


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_layer_imports_only_what_it_may(folder: str) -> None:
    assert (ROOT / folder).is_dir()
    # Alembic's env.py loads every table onto the metadata, slack_sdk's installation tables included.
    paths = sorted(p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)
    assert _violations(paths, FORBIDDEN[folder]) == []


@pytest.mark.parametrize("filename", sorted(FILE_RULES))
def test_feature_files_import_only_what_their_role_may(filename: str) -> None:
    paths = sorted((ROOT / "bot").rglob(filename))
    assert paths, f"no {filename} in bot/"
    assert _violations(paths, FILE_RULES[filename]) == []


def test_domain_reads_no_environment_or_clock() -> None:
    for path in (ROOT / "bot/domain").rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        for needle in ("os.environ", "datetime.now(", "date.today(", "time.time(", "utcnow("):
            assert needle not in src, f"{path.name} uses {needle}"


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {imported for _, imported in _imports(path) if imported in modules and imported != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_there_is_no_import_cycle() -> None:
    assert cycles(_graph(_modules())) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_importlib_probing_of_our_own_modules() -> None:
    offenders = []
    for name, path in _modules().items():
        src = path.read_text(encoding="utf-8")
        if "importlib" in src or "__import__(" in src or "pkgutil" in src:
            offenders.append(name)
    assert offenders == []


def test_only_main_imports_both_the_app_and_the_scheduler() -> None:
    both = [name for name, path in _modules().items()
            if {"bot.app", "bot.scheduler"} <= {n.rsplit(".", 1)[0] if n.rsplit(".", 1)[0] in ("bot.app", "bot.scheduler")
                                               else n for _, n in _imports(path)}]
    assert both == ["bot.main"]


def test_no_module_holds_two_things() -> None:
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("from sqlalchemy import select\nimport slack_sdk.web\n")
    names = [n for _, n in _imports(bad)]
    assert names == ["sqlalchemy", "sqlalchemy.select", "slack_sdk.web"]
    assert _violations([bad], ("sqlalchemy",)) == [f"{bad.relative_to(ROOT) if bad.is_relative_to(ROOT) else bad}:1 imports sqlalchemy",
                                                  f"{bad.relative_to(ROOT) if bad.is_relative_to(ROOT) else bad}:1 imports sqlalchemy.select"]
