"""Migration 0005: existing tokens stay workspace-wide; the new column and table go and come back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade


@pytest.mark.db
def test_0005_keeps_existing_tokens_workspace_wide_and_downgrades(fresh_url: str) -> None:
    upgrade(fresh_url, "0004")
    eng = make_engine(fresh_url)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        with eng.begin() as c:
            c.execute(text("INSERT INTO workspaces (id, team_id, created_at) VALUES (1, 'local', :t)"), {"t": now})
            c.execute(text("INSERT INTO ingest_tokens (workspace_id, token_hash, prefix, created_at) "
                           "VALUES (1, 'h', 'pmfgate_x', :t)"), {"t": now})
        upgrade(fresh_url, "0005")
        with eng.connect() as c:
            assert c.execute(text("SELECT workspace_id, product_id FROM ingest_tokens")).all() == [(1, None)]
        assert "segment_messages" in inspect(eng).get_table_names()
        command.downgrade(alembic_config(fresh_url), "0004")
        eng.dispose()
        assert "segment_messages" not in inspect(eng).get_table_names()
        assert "product_id" not in {col["name"] for col in inspect(eng).get_columns("ingest_tokens")}
        with eng.connect() as c:
            assert c.execute(text("SELECT count(*) FROM ingest_tokens")).scalar_one() == 1
    finally:
        eng.dispose()
