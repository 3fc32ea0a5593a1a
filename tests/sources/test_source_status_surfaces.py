"""A SQL source shows outside the CLI: its last sync (or why it failed) on the App Home, and a
digest names a source whose last sync failed (SPEC §9, issue 13 item 4)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.digests.blocks import digest_message
from bot.digests.schedule import report_week
from bot.digests.service import digest_content
from bot.home.blocks import home_view
from bot.home.service import home_data
from bot.products import service as product_service
from bot.render.limits import validate_message, validate_view
from bot.reports.cache import ReportCache
from storage.db import unit_of_work
from storage.repositories import sources as sources_repo

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _all_text(blocks: list[dict]) -> str:  # type: ignore[type-arg]
    return " ".join(str(b) for b in blocks)


def _product_with_source(factory: sessionmaker[Session], *, error: str | None):  # type: ignore[no-untyped-def]
    product = product_service.create_product(factory, slug="acme", name="Acme")
    with unit_of_work(factory) as s:
        src = sources_repo.save_source(s, product.id, url="postgresql://reader@db.internal/app", password_enc=None,
                                       signups_query="SELECT 1", events_query="SELECT 1", timeout_seconds=600)
        src.last_sync_at, src.rows_read, src.weeks_covered = datetime(2026, 12, 1, 6, 0, tzinfo=UTC), 53_573, 26
        if error:
            sources_repo.record_error(s, product.id, error, datetime(2026, 12, 2, 6, 0, tzinfo=UTC))
    return product


def test_a_failed_sync_is_named_in_the_digest_and_on_the_app_home(session_factory: sessionmaker[Session]) -> None:
    product = _product_with_source(session_factory, error="OperationalError: connection refused")
    content = digest_content(session_factory, product=product, week=report_week(product, NOW))
    assert content.source_problem is not None and "connection refused" in content.source_problem
    message = digest_message(content.report, previous=content.previous, week=content.week,
                             source_problem=content.source_problem)
    validate_message(message)
    assert "failed its last sync" in _all_text(message["blocks"]) and "connection refused" in _all_text(message["blocks"])

    cache = ReportCache(size=4, parallel=1, fingerprint_ttl=0.0)
    data = home_data(session_factory, cache=cache, team_id="local", single_workspace=True, now=NOW)
    assert len(data.sources) == 1 and "last sync failed" in data.sources[0]
    view = home_view(data.entries, subscriptions=data.subscriptions, open_surveys=data.open_surveys,
                     sources=data.sources)
    validate_view(view)
    text = _all_text(view["blocks"])
    assert "SQL sources" in text and "connection refused" in text


def test_a_healthy_source_shows_its_last_sync_and_no_digest_warning(session_factory: sessionmaker[Session]) -> None:
    product = _product_with_source(session_factory, error=None)
    content = digest_content(session_factory, product=product, week=report_week(product, NOW))
    assert content.source_problem is None
    cache = ReportCache(size=4, parallel=1, fingerprint_ttl=0.0)
    data = home_data(session_factory, cache=cache, team_id="local", single_workspace=True, now=NOW,
                     manages=lambda product_id: product_id == product.id)
    assert data.sources == ["`acme` · SQL source `postgresql://reader@db.internal/app` · synced 2026-12-01 06:00 UTC"
                            " · 53,573 rows read · 26 weeks covered"]
    data = home_data(session_factory, cache=cache, team_id="local", single_workspace=True, now=NOW)
    assert data.sources == ["`acme` · SQL source (postgresql) · synced 2026-12-01 06:00 UTC"
                            " · 53,573 rows read · 26 weeks covered"]
