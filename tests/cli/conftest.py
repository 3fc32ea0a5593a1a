"""The CLI tests' one way to run ``pmfbot`` against the test database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main


@pytest.fixture
def run(db_url: str, session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """``run(*args) -> (exit code, stdout, stderr)`` of ``pmfbot`` on the (emptied) test database."""
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(main, list(args), env={"DATABASE_URL": db_url}, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``pmfbot demo`` run once through the CLI for every test that reads it: (its folder, the
    click result, every matplotlib figure it saved, as saved)."""
    from pathlib import Path

    import bot.render.placement as placement

    figures: list = []  # type: ignore[type-arg]
    original = placement.place_all

    def record(fig):  # type: ignore[no-untyped-def]
        figures.append(fig)
        original(fig)

    placement.place_all = record  # type: ignore[assignment]
    try:
        out: Path = tmp_path_factory.mktemp("demo") / "demo"
        result = CliRunner().invoke(main, ["demo", "--out", str(out)],
                                    env={"DATABASE_URL": "", "SLACK_BOT_TOKEN": ""}, catch_exceptions=False)
    finally:
        placement.place_all = original  # type: ignore[assignment]
    return out, result, figures
