"""Migration 0013: jobs, job_effects and report_cache come, pending_work goes; on PostgreSQL
procrastinate's schema comes with them (its queue works at once) and goes on downgrade, leaving no
procrastinate table, function or type behind."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade


@pytest.mark.db
def test_0013_up_and_down(fresh_url: str) -> None:
    upgrade(fresh_url, "0008")
    eng = make_engine(fresh_url)
    pg = fresh_url.startswith("postgresql")
    try:
        upgrade(fresh_url, "0013")
        tables = set(inspect(eng).get_table_names())
        assert {"jobs", "job_effects", "report_cache"} <= tables and "pending_work" not in tables
        assert ("procrastinate_jobs" in tables) is pg
        if pg:
            with eng.begin() as c:  # the queue's own functions are there and work in our schema
                c.execute(text("SELECT procrastinate_register_worker_v1()"))
        command.downgrade(alembic_config(fresh_url), "0008")
        eng.dispose()
        tables = set(inspect(eng).get_table_names())
        assert "pending_work" in tables and not {"jobs", "job_effects", "report_cache"} & tables
        assert not any(t.startswith("procrastinate_") for t in tables)
        if pg:
            with eng.connect() as c:
                left = c.execute(text(
                    "SELECT count(*) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace "
                    "AND proname LIKE 'procrastinate%'")).scalar_one()
                types = c.execute(text(
                    "SELECT count(*) FROM pg_type WHERE typnamespace = current_schema()::regnamespace "
                    "AND typname LIKE 'procrastinate%'")).scalar_one()
            assert (left, types) == (0, 0)
        upgrade(fresh_url, "head")  # and up again
        assert "jobs" in set(inspect(eng).get_table_names())
    finally:
        eng.dispose()
