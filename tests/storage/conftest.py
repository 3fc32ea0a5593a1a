"""Fixtures of the storage tests: an empty database of the engine under test for the migration
tests (apart from the session's migrated one)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import scratch_schema


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a scratch PostgreSQL schema dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base or base.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    url, drop = scratch_schema(base, prefix="mig")
    try:
        yield url
    finally:
        drop()
