"""PostgreSQL's queue: procrastinate 3.x (``PsycopgConnector``), the registry's tasks and
periodic jobs registered on one procrastinate ``App``.

- ``PgQueue.defer`` (web processes): the job is inserted on the request's own connection and
  transaction (procrastinate's ``configure(connection=...)``), committed before the ack says
  "Working on…"; a failure raises, and the listener says the work could not be queued.
- ``run_worker`` (``pmfbot worker``): procrastinate's worker on every queue, interactive jobs at a
  higher priority than digests and maintenance, a few threads; a sweep of stalled jobs first and
  then as a periodic task every ``SWEEP_SECONDS`` (``get_stalled_jobs`` + ``retry_job``, no
  ``lock``): a SIGKILLed worker stops heartbeating and its jobs run elsewhere within
  ``STALLED_AFTER + SWEEP_SECONDS`` (+ one fetch). SIGTERM: procrastinate stops fetching and
  waits up to ``GRACEFUL_SECONDS`` for running jobs; what is left is retried by the sweep.
- Periodic jobs (the old clock) are procrastinate periodic tasks: deduplicated per period by the
  database, so every worker runs the scheduler and a dead one delays nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import procrastinate
from procrastinate import JobContext, RetryStrategy

from bot.jobs.registry import MAINTENANCE, PRIORITY, QUEUES, Periodic, Task
from bot.jobs.runner import KEY, execute, job_args
from bot.slack import retry

# bot.context.AppContext (which imports this package): named, not imported, to keep imports acyclic.
AppContext = Any

log = logging.getLogger(__name__)

WORKER_THREADS = 4
HEARTBEAT_SECONDS = 5.0
STALLED_AFTER = 20.0  # no heartbeat for this long: the worker is gone
SWEEP_SECONDS = 10
GRACEFUL_SECONDS = 25.0  # Heroku sends SIGKILL 30 s after SIGTERM
SWEEP_TASK = "pmf.jobs.sweep_stalled"
SWEEP_PRIORITY = 100


def libpq_url(database_url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg://`` URL as libpq takes it (options such as a test
    schema's ``search_path`` kept)."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def cron_of(seconds: int) -> str:
    """procrastinate's cron (a 6th column for seconds) for an interval."""
    if seconds < 60:
        if 60 % seconds:
            raise ValueError(f"a periodic interval under a minute must divide 60, got {seconds}")
        return f"* * * * * */{seconds}"
    if seconds % 3600 == 0:
        return f"0 */{seconds // 3600} * * *" if seconds < 86400 else "0 0 * * *"
    if seconds % 60 == 0 and 3600 % seconds == 0:
        return f"*/{seconds // 60} * * * *"
    raise ValueError(f"cannot schedule every {seconds} s with cron")


async def recover_stalled(app: procrastinate.App) -> int:
    """Retry every job whose worker stopped heartbeating; how many."""
    jobs = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER))
    retried = 0
    for job in jobs:
        try:
            await app.job_manager.retry_job(job)
        except procrastinate.exceptions.ConnectorException:
            # Another worker's sweep (every worker runs one at start) retried it first.
            log.debug("job %s was already retried by another sweep", job.id)
            continue
        retried += 1
        log.warning("job %s (%s) was running on a worker that stopped; retrying it", job.id, job.task_name)
    await app.job_manager.prune_stalled_workers(seconds_since_heartbeat=STALLED_AFTER)
    return retried


def _register_task(app: procrastinate.App, ctx: AppContext, task: Task) -> None:
    def body(context: JobContext, payload: dict[str, Any]) -> None:
        attempts = context.job.attempts if context.job is not None else 0
        execute(ctx, task.name, payload, attempt=attempts)

    app.task(name=task.name, queue=task.queue, priority=PRIORITY[task.queue], pass_context=True,
             retry=_retry_strategy())(body)


def _retry_strategy() -> RetryStrategy:
    """``retry.JOBS`` as procrastinate counts it: retries after the first run, one wait."""
    policy = retry.JOBS
    return RetryStrategy(max_attempts=policy.max_attempts - 1, wait=int(policy.wait(1).total_seconds()))


def _register_periodic(app: procrastinate.App, ctx: AppContext, job: Periodic) -> None:
    def body(context: JobContext, timestamp: int) -> None:
        # Who runs it: the procrastinate worker, whose heartbeat tells others it is alive (a
        # digest lease held by "pq:<id>" is taken over once that worker stops heartbeating).
        holder = f"pq:{context.job.worker_id}" if context.job is not None and context.job.worker_id else None
        job.run(ctx, holder)

    task = app.task(name=f"periodic:{job.name}", queue=job.queue, priority=PRIORITY[job.queue],
                    pass_context=True)(body)
    app.periodic(cron=cron_of(job.every_seconds), periodic_id=job.name)(task)


def build_procrastinate(ctx: AppContext) -> procrastinate.App:
    """One procrastinate App with every task and periodic job of ``ctx.jobs``."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=libpq_url(ctx.settings.database_url)))
    for task in ctx.jobs.tasks.values():
        _register_task(app, ctx, task)
    for job in ctx.jobs.periodic.values():
        _register_periodic(app, ctx, job)

    async def sweep(timestamp: int) -> None:
        await recover_stalled(app)

    # Ahead of everything: behind a backlog of interactive jobs it would come too late to matter.
    sweep_task = app.task(name=SWEEP_TASK, queue=MAINTENANCE, priority=SWEEP_PRIORITY)(sweep)
    app.periodic(cron=cron_of(SWEEP_SECONDS), periodic_id="sweep")(sweep_task)
    return app


class PgQueue:
    kind = "procrastinate (PostgreSQL)"

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.app = build_procrastinate(ctx)

    def defer(self, name: str, args: dict[str, Any]) -> str:
        """Insert the job on a connection of the app's own pool, in one transaction committed
        before this returns; its key."""
        task = self.ctx.jobs.task(name)
        stored = job_args(args, self.ctx.now())
        with self.ctx.factory() as session, session.begin():
            dbapi = session.connection().connection.driver_connection
            self.app.configure_task(name=name, queue=task.queue, priority=PRIORITY[task.queue],
                                    connection=dbapi).defer(payload=stored)
        return str(stored[KEY])

    def replay(self) -> int:
        return 0  # the workers' sweep recovers stalled jobs


async def _work(app: procrastinate.App, *, name: str, threads: int, wait: bool, signals: bool) -> None:
    async with app.open_async():
        recovered = await recover_stalled(app)
        if recovered:
            log.info("recovered %d stalled job(s) at start-up", recovered)
        await app.run_worker_async(
            queues=list(QUEUES), name=name, concurrency=threads, wait=wait,
            update_heartbeat_interval=HEARTBEAT_SECONDS, stalled_worker_timeout=STALLED_AFTER,
            shutdown_graceful_timeout=GRACEFUL_SECONDS, install_signal_handlers=signals,
            delete_jobs="successful")


def run_worker(app: procrastinate.App, *, name: str = "pmfbot-worker", threads: int = WORKER_THREADS,
               wait: bool = True, signals: bool = True) -> None:
    """The worker in the foreground until SIGTERM/SIGINT (``wait=False``: until the queues are empty)."""
    asyncio.run(_work(app, name=name, threads=threads, wait=wait, signals=signals))
