"""The migrations at head must describe exactly the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from storage.db import Base, make_engine
from storage.migrate import alembic_config, upgrade


def ours(name: str | None, type_: str, parent_names: object) -> bool:
    """procrastinate's queue tables (PostgreSQL, installed by migration 0013) are its own schema,
    not our models (the migration env's autogenerate skips them the same way)."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def test_migrations_at_head_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True,
                                                     "include_name": ours})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_every_model_table_exists(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    missing = set(Base.metadata.tables) - names
    assert not missing




@pytest.mark.db
def test_0003_stores_the_cohort_week_of_existing_users_and_their_activity(fresh_url: str) -> None:
    upgrade(fresh_url, "0002")
    eng = make_engine(fresh_url)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        with eng.begin() as c:
            c.execute(text("INSERT INTO workspaces (id, team_id, created_at) VALUES (1, 'local', :t)"), {"t": now})
            c.execute(text("INSERT INTO products (id, workspace_id, slug, name, settings, created_at) "
                           "VALUES (7, 1, 'acme', 'Acme', '{}', :t)"), {"t": now})
            # (id, signup week, first week): signed up in their first week; known from events
            # only; signed up after being active.
            for uid, signup, first in ((1, 100, 100), (2, None, 101), (3, 104, 102)):
                c.execute(text("INSERT INTO product_users (id, product_id, external_id, signup_week, first_week) "
                               "VALUES (:i, 7, :e, :s, :f)"), {"i": uid, "e": f"u{uid}", "s": signup, "f": first})
            for uid, week in ((1, 100), (1, 103), (2, 101), (2, 102), (3, 102), (3, 104), (3, 105)):
                c.execute(text("INSERT INTO activity_weeks (user_id, week) VALUES (:u, :w)"), {"u": uid, "w": week})
        upgrade(fresh_url, "head")
        with eng.connect() as c:
            users = dict(c.execute(text("SELECT id, cohort_week FROM product_users")).all())
            rows = set(c.execute(text("SELECT user_id, week, product_id, cohort_week FROM activity_weeks")).all())
        assert users == {1: 100, 2: 101, 3: 104}
        assert rows == {(1, 100, 7, 100), (1, 103, 7, 100), (2, 101, 7, 101), (2, 102, 7, 101),
                        (3, 102, 7, 104), (3, 104, 7, 104), (3, 105, 7, 104)}
        # And back: the activity survives a downgrade.
        command.downgrade(alembic_config(fresh_url), "0002")
        with eng.connect() as c:
            assert len(c.execute(text("SELECT user_id, week FROM activity_weeks")).all()) == 7
    finally:
        eng.dispose()


@pytest.mark.db
@pytest.mark.parametrize("key", ["migration-test-key-0123456789", ""])
def test_0011_takes_query_string_passwords_out_of_stored_source_urls(fresh_url: str, key: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``?password=`` stored in clear before 0011: encrypted when the key is there (the source
    still connects with it), else removed with an error saying to add the source again."""
    from bot.ingest.sql_source import _stored_url
    from bot.slack.oauth import TokenCipher

    upgrade(fresh_url, "0008")
    eng = make_engine(fresh_url)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    old_enc = TokenCipher(key).encrypt("userinfo-pw") if key else None
    try:
        with eng.begin() as c:
            c.execute(text("INSERT INTO workspaces (id, team_id, created_at) VALUES (1, 'local', :t)"), {"t": now})
            c.execute(text("INSERT INTO products (id, workspace_id, slug, name, settings, created_at) "
                           "VALUES (7, 1, 'acme', 'Acme', '{}', :t)"), {"t": now})
            c.execute(text("INSERT INTO sql_sources (product_id, url, password_enc, signups_query, events_query, "
                           "timeout_seconds, created_at) VALUES (7, :u, :p, 'SELECT 1', 'SELECT 1', 600, :t)"),
                      {"u": "postgresql+psycopg://reader@db/app?password=clear-pw&sslmode=require", "p": old_enc,
                       "t": now})
        monkeypatch.setenv("PMFBOT_SECRET_KEY", key)
        upgrade(fresh_url, "head")
        with eng.connect() as c:
            row = c.execute(text("SELECT * FROM sql_sources")).mappings().one()
        assert "clear-pw" not in str(dict(row)) and "password=***" in row["url"]
        if key:
            url = _stored_url(type("Src", (), dict(row))(), key, with_password=True)
            assert url.password == "userinfo-pw" and url.query["password"] == "clear-pw"
            assert url.query["sslmode"] == "require" and row["last_error"] is None
        else:
            assert "change that password" in row["last_error"] and "?password=" in row["last_error"]
    finally:
        eng.dispose()
