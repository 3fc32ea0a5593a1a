"""Shared fixtures: the database under test.

``TEST_DATABASE_URL`` selects the engine (a fresh SQLite file by default). On PostgreSQL each
test run works in its own schema (named after the process), so several runs — a developer's and
CI's, or parallel helpers — never see each other's rows, and the schema is dropped at the end.
The schema is migrated with Alembic (not ``create_all``), so every test exercises the
migrations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import bot.slack.installations  # noqa: F401  (slack_sdk's tables on our metadata)
import storage.models  # noqa: F401
import storage.models_jobs  # noqa: F401
from storage.db import Base, make_engine, make_session_factory, scratch_schema
from storage.migrate import upgrade

# Slack fakes and the app harness, usable from any test package (tests/handlers, tests/jobs, ...).
pytest_plugins = ["tests.fakes.fixtures"]


def _base_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "").strip()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = _base_url()
    if not base or base.startswith("sqlite"):
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    url, drop = scratch_schema(base)
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on an empty, migrated database."""
    _wipe(engine)
    yield make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


def is_pg_url(url: str) -> bool:
    return url.startswith("postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that touches the database is marked ``db``, so ``-m db`` reruns exactly those
    against PostgreSQL."""
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)
