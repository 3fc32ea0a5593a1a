"""Migration 0006: existing products keep their settings and start with no listed manager and an
empty audit; the new tables go and come back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade


@pytest.mark.db
def test_0006_adds_managers_and_audit_and_downgrades(fresh_url: str) -> None:
    upgrade(fresh_url, "0005")
    eng = make_engine(fresh_url)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        with eng.begin() as c:
            c.execute(text("INSERT INTO workspaces (id, team_id, created_at) VALUES (1, 'T1', :t)"), {"t": now})
            c.execute(text("INSERT INTO products (id, workspace_id, slug, name, settings, created_at) "
                           "VALUES (1, 1, 'acme', 'Acme', '{\"survey.threshold\": 0.3}', :t)"), {"t": now})
        upgrade(fresh_url, "0006")
        with eng.begin() as c:
            assert c.execute(text("SELECT count(*) FROM product_managers")).scalar_one() == 0
            assert c.execute(text("SELECT count(*) FROM audit_entries")).scalar_one() == 0
            c.execute(text("INSERT INTO product_managers (product_id, user_id, added_at) VALUES (1, 'U1', :t)"),
                      {"t": now})
            c.execute(text("INSERT INTO audit_entries (workspace_id, product_id, actor, kind, key, old_value, "
                           "new_value, at) VALUES (1, 1, 'U1', 'setting', 'survey.threshold', '0.4', '0.3', :t)"),
                      {"t": now})
        command.downgrade(alembic_config(fresh_url), "0005")
        eng.dispose()
        tables = inspect(eng).get_table_names()
        assert "product_managers" not in tables and "audit_entries" not in tables
        with eng.connect() as c:
            assert c.execute(text("SELECT slug FROM products")).scalar_one() == "acme"
        upgrade(fresh_url, "0006")
        eng.dispose()
        assert {"product_managers", "audit_entries"} <= set(inspect(eng).get_table_names())
    finally:
        eng.dispose()
