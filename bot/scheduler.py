"""The APScheduler 3.x set-up over the jobs the features declare (``JOBS``): a BlockingScheduler
for ``pmfbot clock`` (the one scheduler process of a deployment) and the same jobs on a
BackgroundScheduler inside ``pmfbot socket``. Running either process is ``bot.main``.

APScheduler only supplies the heartbeat. Nothing is scheduled per subscription and no job store
is persisted: every tick the digest job asks the database what is due (schedules are wall-clock
times in IANA zones, resolved with zoneinfo in ``bot.digests.schedule``), and the database claim
makes each delivery happen once even if a second clock runs by mistake or a restart re-runs a
tick. Jobs have explicit ids with ``replace_existing``, a generous ``misfire_grace_time`` (the
default of 1 s silently drops a tick that starts late) and ``coalesce``; ``max_instances=1``
stops a long fan-out from overlapping itself in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.context import AppContext, ScheduledJob
from bot.digests import jobs as digest_jobs
from bot.ingest import jobs as ingest_jobs
from bot.jobs import maintenance
from bot.jobs.registry import Periodic
from bot.surveys import jobs as survey_jobs

log = logging.getLogger(__name__)

# Every job of the product, by the feature that owns it.
JOBS: tuple[ScheduledJob, ...] = (digest_jobs.JOB, survey_jobs.JOB, ingest_jobs.JOB, maintenance.JOB)
MISFIRE_GRACE_SECONDS = 300


def _guarded(name: str, fn: Callable[[], object]) -> Callable[[], None]:
    """A job body that logs its own failure (with the job name) and never raises into
    APScheduler, so one bad tick does not spam tracebacks without context."""

    def run() -> None:
        try:
            fn()
        except Exception:  # noqa: BLE001 - the next tick retries; the log says which job failed
            log.exception("scheduled job %s failed; it runs again at the next tick", name)

    run.__name__ = name
    return run


class Clock:
    """The declared jobs on one APScheduler scheduler; ``stop`` lets each job finish what it
    has in hand (the digest runner claims no more deliveries)."""

    def __init__(self, scheduler: BaseScheduler, ctx: AppContext, jobs: tuple[ScheduledJob, ...] = JOBS) -> None:
        self.scheduler = scheduler
        self.started: list[tuple[ScheduledJob, Callable[[], object]]] = []
        common: dict[str, Any] = dict(replace_existing=True, coalesce=True, max_instances=1,
                                      misfire_grace_time=MISFIRE_GRACE_SECONDS, next_run_time=datetime.now(UTC))
        for job in jobs:
            body = job.start(ctx)
            self.started.append((job, body))
            scheduler.add_job(_guarded(job.id, body), IntervalTrigger(seconds=job.every_seconds), id=job.id,
                              name=job.name, **common)

    def describe(self) -> str:
        return ", ".join(f"{job.name} every {job.every_seconds}s" for job, _ in self.started)

    def stop(self, *, wait: bool = False) -> None:
        for job, body in self.started:
            if job.stop is not None:
                job.stop(body)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)



def periodic_jobs(ctx: AppContext, jobs: tuple[ScheduledJob, ...] = JOBS) -> list[Periodic]:
    """The declared jobs as the queue's periodic tasks (``pmfbot worker`` on PostgreSQL): each
    body built once per process, like the clock's."""
    def runs(body: Callable[[], object]) -> Callable[[Any, str | None], object]:
        def run(_ctx: Any, holder: str | None) -> object:
            runner = getattr(body, "runner", None)  # the digest tick: its leases are the worker's
            if holder is not None and runner is not None:
                runner.worker_id = holder
            return body()

        return run

    return [Periodic(name=job.id, every_seconds=job.every_seconds, run=runs(job.start(ctx)), queue=job.queue)
            for job in jobs]


def _executors() -> dict[str, Any]:
    # One thread per job; the digest job fans out on its own bounded pool.
    return {"default": ThreadPoolExecutor(max_workers=4)}


def background_clock(ctx: AppContext) -> Clock:
    """``pmfbot socket``: the declared jobs on a daemon thread of the Socket Mode process."""
    clock = Clock(BackgroundScheduler(timezone=UTC, executors=_executors(), daemon=True), ctx)
    clock.scheduler.start()
    log.debug("scheduler started in-process: %s", clock.describe())  # the ready line says it
    return clock


def blocking_clock(ctx: AppContext) -> Clock:
    """``pmfbot clock``: the declared jobs on a scheduler that runs in the foreground."""
    return Clock(BlockingScheduler(timezone=UTC, executors=_executors()), ctx)
