"""The clock's daily sync: every source due is synced once a day, a failing one is recorded and
does not stop the others, and a second clock (or a re-run tick) does not sync it again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from ingest_like import activity
from source_helpers import SECRET
from sqlalchemy.orm import Session, sessionmaker

from bot.ingest.sql_source import add_source, list_sources, sync_due_sources
from bot.products import service as product_service

NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)


def test_sources_sync_daily_and_a_failure_is_recorded(session_factory: sessionmaker[Session], make) -> None:  # type: ignore[no-untyped-def]
    ok = make("sqlite")
    ok.insert_events([("u1", "2026-03-02 10:00:00")])
    for slug, url in (("good", ok.url), ("bad", "postgresql://postgres@127.0.0.1:1/test")):
        product_service.create_product(session_factory, slug=slug)
        add_source(session_factory, product_slug=slug, team_id=None, url=url, signups_query=ok.signups_query,
                   events_query=ok.events_query, secret=SECRET)
    ctx = SimpleNamespace(factory=session_factory, secret_key=SECRET, now=lambda: NOW)
    assert sync_due_sources(ctx) == 1
    status = {s.product: s for s in list_sources(session_factory, team_id=None)}
    assert status["good"].last_sync_at == NOW and not status["good"].failing
    assert status["bad"].failing and status["bad"].last_sync_at is None
    assert activity(session_factory) == {("u1", 2930)}
    # The same day (a second clock, a re-run tick): nothing is due.
    assert sync_due_sources(ctx, NOW + timedelta(hours=3)) == 0
    # A day later both are due again.
    ok.insert_events([("u2", "2026-03-09 10:00:00")])
    assert sync_due_sources(ctx, NOW + timedelta(days=1, minutes=1)) == 1
    assert ("u2", 2931) in activity(session_factory)
