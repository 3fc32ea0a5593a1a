"""The README's test command is the one `.ci/run` runs, and it prints the slowest tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_test_command_is_ci_run_and_prints_the_slowest_tests() -> None:
    command = next(line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line
                   and not line.startswith("#"))
    readme = (ROOT / "README.md").read_text().splitlines()
    assert command in readme
    assert command.count("--durations=15") == 2  # the SQLite run and the PostgreSQL run
