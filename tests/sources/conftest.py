"""Fixtures for the SQL source tests: a product in the bot's database and a source per dialect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from source_helpers import Source, make_source
from sqlalchemy.orm import Session, sessionmaker

from bot.products import service as product_service


@pytest.fixture
def acme(session_factory: sessionmaker[Session]) -> str:
    product_service.create_product(session_factory, slug="acme")
    return "acme"


@pytest.fixture
def make(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    """``make(dialect)``: a fresh source of that dialect, dropped after the test."""
    made: list[Source] = []

    def build(dialect: str) -> Source:
        src = make_source(dialect, tmp_path)
        made.append(src)
        return src

    yield build
    for src in made:
        src.close()
