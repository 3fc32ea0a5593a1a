"""A million events in each real source: the bot's cohort table equals pandas on the same rows,
and a second sync after new rows reads only the weeks since the last synced one minus two.

The source's own statement log (every statement the source engine executed, with its bound
parameters) shows the single grouped query and the bound of the second sync; the number of rows
that query returned is compared with pandas' count of distinct (user, week) pairs in that range.
"""

from __future__ import annotations

from datetime import date

import pytest
from source_helpers import StatementLog, reference_cohorts, weeks_of
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.weeks import EPOCH_MONDAY, week_start
from bot.ingest.sql_source import REREAD_WEEKS, sync_source
from storage.models import Product
from storage.repositories.reports import cohort_activity, cohort_sizes

N_EVENTS, N_USERS = 1_000_000, 10_000
AS_OF = date(2026, 8, 3)
LAST = (AS_OF - EPOCH_MONDAY).days // 7 - 1


def _bot_table(factory: sessionmaker[Session]) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    with factory() as s:
        pid = s.query(Product.id).filter_by(slug="acme").scalar()
        return cohort_sizes(s, pid, LAST), {(w, k): n for w, k, n in cohort_activity(s, pid, LAST)}


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "duckdb"])
def test_a_million_events_sync_to_the_pandas_cohort_table_then_only_new_weeks(
        session_factory: sessionmaker[Session], acme: str, make, dialect: str) -> None:  # type: ignore[no-untyped-def]
    src = make(dialect)
    src.generate(N_EVENTS, N_USERS)
    from bot.ingest.sql_source import add_source

    add_source(session_factory, product_slug=acme, team_id=None, url=src.url, signups_query=src.signups_query,
               events_query=src.events_query, secret=None)
    with StatementLog() as log:
        first = sync_source(session_factory, product_slug=acme, team_id=None, secret=None)
    # One grouped query, from the start: the source sent pairs, not a million events.
    assert len(log.grouped()) == 1 and " >= " not in log.grouped()[0][0].split("WHERE", 1)[1].split(")")[0]
    events = src.frame(f"SELECT user_id, occurred_at FROM {src.events}")
    signups = src.frame(f"SELECT user_id, signed_up_at FROM {src.signups}")
    assert len(events) == N_EVENTS
    pairs = events.assign(week=weeks_of(events.occurred_at))[["user_id", "week"]].drop_duplicates()
    assert first.pairs == len(pairs) and first.signups == len(signups) and first.weeks == pairs.week.nunique()
    print(f"\n{dialect}: first sync of {N_EVENTS:,} events -> {first.pairs:,} pairs + {first.signups:,} signups "
          f"in {first.seconds:.2f} s")
    sizes, counts = _bot_table(session_factory)
    ref_sizes, ref_counts = reference_cohorts(events, signups, LAST)
    assert sizes == ref_sizes and counts == ref_counts
    assert sum(sizes.values()) == N_USERS

    # New rows: two weeks after the data, for known users and 2,000 new ones.
    src.add_events(50_000, N_USERS + 2_000, "2026-07-06", 14)
    last_week = int(pairs.week.max())
    since_week = last_week - REREAD_WEEKS
    with StatementLog() as log:
        second = sync_source(session_factory, product_slug=acme, team_id=None, secret=None)
    [(statement, params)] = log.grouped()
    bound = params["since"] if isinstance(params, dict) else params[-1]  # after the guard parameter
    assert str(week_start(since_week)) in str(bound), (statement, params)
    events = src.frame(f"SELECT user_id, occurred_at FROM {src.events}")
    pairs = events.assign(week=weeks_of(events.occurred_at))[["user_id", "week"]].drop_duplicates()
    read_again = pairs[pairs.week >= since_week]
    assert second.since_week == since_week and second.pairs == len(read_again)
    assert second.pairs < first.pairs / 5  # the 21 older weeks were not read again
    assert second.new_users == 2_000
    print(f"{dialect}: second sync read {second.pairs:,} pairs (weeks since {week_start(since_week)}) "
          f"in {second.seconds:.2f} s")
    sizes, counts = _bot_table(session_factory)
    ref_sizes, ref_counts = reference_cohorts(events, signups, LAST)
    assert sizes == ref_sizes and counts == ref_counts
