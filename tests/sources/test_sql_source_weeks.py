"""The week expression of every dialect on a Sunday-night / Monday-morning boundary, in UTC and,
where the source can convert time zones, in a product timezone; and the incremental bound on a
small source."""

from __future__ import annotations

from datetime import date

import pytest
from ingest_like import activity, set_timezone
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.weeks import week_of_date
from bot.ingest.sql_dialects import SourceError
from bot.ingest.sql_source import add_source, sync_source

SUN, MON = week_of_date(date(2026, 2, 23)), week_of_date(date(2026, 3, 2))
BOUNDARY = [("sun", "2026-03-01 23:30:00"), ("mon", "2026-03-02 00:30:00")]


def _add(factory: sessionmaker[Session], src) -> None:  # type: ignore[no-untyped-def]
    add_source(factory, product_slug="acme", team_id=None, url=src.url, signups_query=src.signups_query,
               events_query=src.events_query, secret=None)


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "duckdb", "sqlite"])
def test_sunday_2330_and_monday_0030_fall_in_two_weeks(session_factory: sessionmaker[Session], acme: str, make,
                                                      dialect: str) -> None:  # type: ignore[no-untyped-def]
    src = make(dialect)
    src.insert_events(BOUNDARY)
    _add(session_factory, src)
    result = sync_source(session_factory, product_slug=acme, team_id=None, secret=None)
    assert result.pairs == 2
    assert activity(session_factory) == {("sun", SUN), ("mon", MON)}


@pytest.mark.parametrize("dialect", ["postgresql", "duckdb"])
def test_weeks_in_the_product_timezone_are_computed_at_the_source(session_factory: sessionmaker[Session], acme: str,
                                                                  make, dialect: str) -> None:  # type: ignore[no-untyped-def]
    """Sunday 23:30 UTC is Monday 00:30 in Paris; Sunday 22:30 UTC is still Sunday there."""
    set_timezone(session_factory, acme, "Europe/Paris")
    src = make(dialect)
    src.insert_events([("late", "2026-03-01 23:30:00"), ("early", "2026-03-01 22:30:00")])
    _add(session_factory, src)
    sync_source(session_factory, product_slug=acme, team_id=None, secret=None)
    assert activity(session_factory) == {("late", MON), ("early", SUN)}


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
def test_a_product_timezone_the_source_cannot_convert_is_refused_with_the_reason(
        session_factory: sessionmaker[Session], acme: str, make, dialect: str) -> None:  # type: ignore[no-untyped-def]
    set_timezone(session_factory, acme, "Europe/Paris")
    src = make(dialect)
    src.insert_events(BOUNDARY)
    _add(session_factory, src)
    with pytest.raises(SourceError, match="UTC product"):
        sync_source(session_factory, product_slug=acme, team_id=None, secret=None)
    assert activity(session_factory) == set()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_second_sync_reads_from_two_weeks_before_the_last_synced_week(
        session_factory: sessionmaker[Session], acme: str, make, dialect: str) -> None:  # type: ignore[no-untyped-def]
    src = make(dialect)
    src.insert_events([("a", "2026-01-05 10:00:00"), ("a", "2026-02-02 10:00:00"), ("b", "2026-03-02 10:00:00")])
    _add(session_factory, src)
    assert sync_source(session_factory, product_slug=acme, team_id=None, secret=None).pairs == 3
    # Late data two weeks back is read again; a row five weeks back is not (that needs --full).
    src.insert_events([("c", "2026-02-16 10:00:00"), ("d", "2026-01-26 10:00:00"), ("e", "2026-03-09 01:00:00")])
    second = sync_source(session_factory, product_slug=acme, team_id=None, secret=None)
    assert second.since_week == MON - 2 and second.pairs == 3  # b, c, e
    assert ("d", week_of_date(date(2026, 1, 26))) not in activity(session_factory)
    full = sync_source(session_factory, product_slug=acme, team_id=None, secret=None, full=True)
    assert full.since_week is None and full.pairs == 6
    assert ("d", week_of_date(date(2026, 1, 26))) in activity(session_factory)
