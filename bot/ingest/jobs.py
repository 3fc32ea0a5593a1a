"""The ingest feature's scheduled work: every SQL source is synced once a day. An hourly tick asks
the database which sources are due (``bot.ingest.sql_source.sync_due_sources``); a source is
claimed before it is synced, so two clocks never sync it twice in a day."""

from __future__ import annotations

from bot.context import AppContext, ScheduledJob

SOURCES_TICK_SECONDS = 3600


def _sync_sources(ctx: AppContext) -> None:
    from bot.ingest.sql_source import sync_due_sources  # the drivers load at the first tick, not at start-up

    sync_due_sources(ctx)


JOB = ScheduledJob(id="pmf.clock.sql_sources", name="SQL sources (daily)", every_seconds=SOURCES_TICK_SECONDS,
                   start=lambda ctx: lambda: _sync_sources(ctx))
