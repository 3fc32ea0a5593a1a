"""Migration 0007: existing users and answers stay (unmatched); the email-hash columns, their
index and the channel member count go and come back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade


def _columns(eng, table: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {col["name"] for col in inspect(eng).get_columns(table)}


@pytest.mark.db
def test_0007_adds_nullable_hashes_and_downgrades(fresh_url: str) -> None:
    upgrade(fresh_url, "0006")
    eng = make_engine(fresh_url)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        with eng.begin() as c:
            c.execute(text("INSERT INTO workspaces (id, team_id, created_at) VALUES (1, 'local', :t)"), {"t": now})
            c.execute(text("INSERT INTO products (id, workspace_id, slug, name, settings, created_at) "
                           "VALUES (1, 1, 'p', 'P', '{}', :t)"), {"t": now})
            c.execute(text("INSERT INTO product_users (product_id, external_id) VALUES (1, 'u1')"))
        upgrade(fresh_url, "0007")
        with eng.connect() as c:
            assert c.execute(text("SELECT external_id, email_hash FROM product_users")).all() == [("u1", None)]
        assert "ix_product_users_product_email_hash" in {i["name"] for i in inspect(eng).get_indexes("product_users")}
        assert "email_hash" in _columns(eng, "survey_responses")
        assert "channel_members" in _columns(eng, "surveys")
        command.downgrade(alembic_config(fresh_url), "0006")
        eng.dispose()
        assert "email_hash" not in _columns(eng, "product_users")
        assert "email_hash" not in _columns(eng, "survey_responses")
        assert "channel_members" not in _columns(eng, "surveys")
        with eng.connect() as c:
            assert c.execute(text("SELECT count(*) FROM product_users")).scalar_one() == 1
    finally:
        eng.dispose()
