"""The digests feature's scheduled work: every ``TICK_SECONDS`` the clock's digest job asks
the database which runs are due and delivers them (``DigestRunner.tick``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.context import AppContext, ScheduledJob
from bot.digests.runner import DigestRunner
from bot.digests.tick import TickStats
from bot.jobs.registry import DIGESTS

TICK_SECONDS = 30


def digest_tick(ctx: AppContext, now: datetime | None = None, *, runner: DigestRunner | None = None) -> TickStats:
    return (runner or DigestRunner(ctx)).tick(now)


class _Tick:
    """The tick callable of one process: one runner (its worker id names the lease holder)."""

    def __init__(self, ctx: AppContext) -> None:
        self.runner = DigestRunner(ctx)

    def __call__(self) -> TickStats:
        return self.runner.tick()


def _stop(tick: Callable[[], object]) -> None:
    if isinstance(tick, _Tick):
        tick.runner.close()  # finish the deliveries in hand, claim no more


JOB = ScheduledJob(id="pmf.clock.digests", name="weekly digests", every_seconds=TICK_SECONDS, start=_Tick,
                   stop=_stop, queue=DIGESTS)
