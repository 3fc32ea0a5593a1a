"""Fixtures for the ingestion tests: a product to import into and a CSV writer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import Factory, write_csv

from bot.products import service as product_service


@pytest.fixture
def product(session_factory: Factory) -> str:
    """A product ``acme`` in the ``local`` workspace (UTC)."""
    product_service.create_product(session_factory, slug="acme")
    return "acme"


@pytest.fixture
def csv_file(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
        return write_csv(tmp_path / name, header, rows)

    return make
