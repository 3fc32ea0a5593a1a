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
