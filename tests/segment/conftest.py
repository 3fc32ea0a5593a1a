"""Fixtures for the Segment-compatible API: a product with its write key."""

from __future__ import annotations

import pytest
from segment_helpers import Factory, Tracked

from bot.products import service as product_service
from bot.products.tokens import create_cli_token


@pytest.fixture
def tracked(session_factory: Factory) -> Tracked:
    """Product ``acme`` in the ``local`` workspace (UTC) and a write key scoped to it."""
    product_service.create_product(session_factory, slug="acme")
    key, scope = create_cli_token(session_factory, team_id=None, product_slug="acme")
    assert scope == "product acme"
    return Tracked("acme", key)
