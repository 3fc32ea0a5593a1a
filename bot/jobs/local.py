"""SQLite's queue (zero set-up, one process): a job is a ``jobs`` row written — and committed —
before the ack, run on the context's work pool through the same registry and JSON arguments as
on PostgreSQL, and deleted when it is done; at start-up ``replay`` runs every row a previous
process acked and never finished. A failed attempt is retried here after a short pause (the
row counts attempts, so a job that keeps killing its process is also given up)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from bot.jobs.registry import UnknownJob
from bot.jobs.runner import KEY, execute, job_args
from bot.slack import retry
from storage.db import unit_of_work
from storage.repositories import jobs as repo

# bot.context.AppContext (which imports this package): named, not imported, to keep imports acyclic.
AppContext = Any

log = logging.getLogger(__name__)


class LocalQueue:
    kind = "in-process (SQLite)"

    def __init__(self, ctx: AppContext, *, retry_pause: float | None = None) -> None:
        self.ctx = ctx
        self.retry_pause = retry.JOBS_LOCAL_PAUSE_SECONDS if retry_pause is None else retry_pause

    def defer(self, name: str, args: dict[str, Any]) -> str:
        """Store the job (committed when this returns), then run it soon; its key."""
        self.ctx.jobs.task(name)  # an unknown name fails here, before the ack
        stored = json.loads(json.dumps(job_args(args, self.ctx.now())))  # exactly what a worker would get
        with unit_of_work(self.ctx.factory) as s:
            repo.add_job(s, job_key=stored[KEY], name=name, args=stored, now=self.ctx.now())
        self.ctx.work.submit(lambda: self._run(name, stored))
        return str(stored[KEY])

    def replay(self) -> int:
        """Run every stored job (at start-up: what a previous process acked); how many."""
        with unit_of_work(self.ctx.factory) as s:
            jobs = repo.open_jobs(s)
        for _key, name, args in jobs:
            self.ctx.work.submit(lambda n=name, a=args: self._run(n, a))
        if jobs:
            log.info("replaying %d job(s) a previous process acked and did not finish", len(jobs))
        return len(jobs)

    def _run(self, name: str, args: dict[str, Any]) -> None:
        key = str(args[KEY])
        while True:
            with unit_of_work(self.ctx.factory) as s:
                attempt = repo.count_attempt(s, key)
            try:
                execute(self.ctx, name, args, attempt=min(attempt, retry.JOBS.max_attempts - 1))
            except UnknownJob as err:  # a job this version does not know: dropped, said in the log
                log.error("job %s dropped: %s", key, err)
                break
            except Exception:  # noqa: BLE001 - logged by execute; tried again
                time.sleep(self.retry_pause)
                continue
            break
        with unit_of_work(self.ctx.factory) as s:
            repo.remove_job(s, key)
