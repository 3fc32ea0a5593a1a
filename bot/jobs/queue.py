"""The queue of a process: procrastinate on PostgreSQL (``bot.jobs.pg``, imported only there),
in-process on SQLite (``bot.jobs.local``) — chosen by ``Settings.uses_procrastinate``."""

from __future__ import annotations

from typing import Any

from bot.jobs.local import LocalQueue
from bot.jobs.registry import JobQueue

# bot.context.AppContext (which imports this package): named, not imported, to keep imports acyclic.
AppContext = Any


def make_queue(ctx: AppContext) -> JobQueue:
    if ctx.settings.uses_procrastinate:
        from bot.jobs.pg import PgQueue

        return PgQueue(ctx)
    return LocalQueue(ctx)


def queue_of(ctx: AppContext) -> JobQueue:
    """The context's queue (built on first use: the features register their jobs first)."""
    if ctx.queue is None:
        ctx.queue = make_queue(ctx)
    return ctx.queue
