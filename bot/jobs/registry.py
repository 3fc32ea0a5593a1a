"""The job registry: every job a feature can defer (``Task``) and every periodic one
(``Periodic``), by name. Both queue adapters run exactly these functions with the same JSON
arguments, so a job behaves the same on SQLite and PostgreSQL.

A job function gets the ``AppContext`` and a ``JobRun`` (its key, JSON arguments, which attempt
this is, and its ``Effects``); it raises to be retried. When the last attempt fails, the task's
``gave_up`` tells the user — unless an effect was already recorded (then what the user saw
stands, and "did not finish" would be false).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.jobs.effects import Effects
from bot.slack import retry

# bot.context.AppContext (which imports this package): named, not imported, to keep imports acyclic.
AppContext = Any

# Queues, and the priority a worker fetches them by (higher first): people waiting on a reply
# come before digests, digests before housekeeping.
INTERACTIVE, DIGESTS, MAINTENANCE = "interactive", "digests", "maintenance"
QUEUES = (INTERACTIVE, DIGESTS, MAINTENANCE)
PRIORITY = {INTERACTIVE: 20, DIGESTS: 10, MAINTENANCE: 0}


@dataclass
class JobRun:
    key: str
    name: str
    args: dict[str, Any]
    attempt: int  # 0 for the first run
    enqueued_at: datetime
    effects: Effects
    max_attempts: int = field(default_factory=lambda: retry.JOBS.max_attempts)

    @property
    def final(self) -> bool:
        """The last attempt: a failure now is given up."""
        return self.attempt + 1 >= self.max_attempts

    @property
    def rerun(self) -> bool:
        """Not the first run: something may have happened already (reconcile before acting)."""
        return self.attempt > 0 or bool(self.effects.recorded())


@dataclass(frozen=True)
class Task:
    name: str
    run: Callable[[AppContext, JobRun], None]
    queue: str = INTERACTIVE
    gave_up: Callable[[AppContext, JobRun, BaseException], None] | None = None


@dataclass(frozen=True)
class Periodic:
    """A clock job: ``run(ctx)`` every ``every_seconds`` (a divisor of 60 or a multiple of 60
    dividing an hour or a day), deduplicated per period by the database on PostgreSQL."""

    name: str
    every_seconds: int
    run: Callable[[AppContext, str | None], object]  # (ctx, holder: who runs it, e.g. "pq:12", or None)
    queue: str = MAINTENANCE


class UnknownJob(LookupError):
    """A job name this process has not registered (a worker older than the web that deferred it)."""


class JobQueue(Protocol):
    kind: str

    def defer(self, name: str, args: dict[str, Any]) -> str:
        """Store job ``name`` with JSON ``args`` (committed when this returns); its key."""
        ...

    def replay(self) -> int:
        """Run what a previous process stored and did not finish (SQLite); how many."""
        ...


@dataclass
class Registry:
    tasks: dict[str, Task] = field(default_factory=dict)
    periodic: dict[str, Periodic] = field(default_factory=dict)

    def add(self, task: Task) -> Task:
        """Register ``task`` (registering a name again, as a second app on one context does, replaces it)."""
        self.tasks[task.name] = task
        return task

    def add_periodic(self, job: Periodic) -> Periodic:
        self.periodic[job.name] = job
        return job

    def task(self, name: str) -> Task:
        try:
            return self.tasks[name]
        except KeyError:
            raise UnknownJob(f"no job named {name!r} is registered (is this worker the same version?)") from None
