"""Start-up stays light (issue 22): the ``pmfbot`` command line, and the modules each command
imports before it starts working, load none of the heavy libraries — matplotlib (charts), scipy
(statistics), pyarrow (the fast CSV reader), yake (survey lessons), Slack's SDKs, pandas. Each is
imported inside the function that needs it; this test is the guard that keeps it so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("matplotlib", "scipy", "pyarrow", "yake", "slack_bolt", "slack_sdk", "pandas", "apscheduler")

# The modules the CLI's commands import at their start (bot/cli.py, bot/cli_sources.py), apart
# from those whose whole job needs a heavy library (demo: charts; web/socket/clock: Slack).
COMMAND_MODULES = {
    "--help": ("bot.cli",),
    "check / cohorts": ("bot.cli", "bot.reports.service", "bot.render.text"),
    "history": ("bot.cli", "bot.history.service", "bot.history.blocks", "bot.history.progress"),
    "import": ("bot.cli", "bot.ingest.csv_import"),
    "survey lessons": ("bot.cli", "bot.surveys.lessons", "bot.render.lessons"),
    "source": ("bot.cli", "bot.ingest.sql_source"),
    "token": ("bot.cli", "bot.products.tokens"),
    "export": ("bot.cli", "bot.surveys.export"),
    "db upgrade": ("bot.cli", "storage.migrate"),
}


def _loaded_after(modules: tuple[str, ...]) -> list[str]:
    code = ("import importlib, json, sys\n"
            f"for m in {list(modules)!r}: importlib.import_module(m)\n"
            f"print(json.dumps(sorted({{n.split('.')[0] for n in sys.modules}} & set({list(HEAVY)!r}))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("command", sorted(COMMAND_MODULES))
def test_a_command_starts_without_heavy_libraries(command: str) -> None:
    assert _loaded_after(COMMAND_MODULES[command]) == []


def test_the_guard_sees_a_heavy_import() -> None:
    # The check itself works: a module that does load matplotlib is reported.
    assert _loaded_after(("bot.reports.charts",)) == ["matplotlib"]
