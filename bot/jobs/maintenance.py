"""Housekeeping of durable work, as a clock job (hourly): forget the effects of jobs long done
(a job is retried within minutes, never days) and shared reports nobody will ask for again."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import AppContext, ScheduledJob
from storage.db import unit_of_work
from storage.repositories import jobs as jobs_repo
from storage.repositories import report_cache

log = logging.getLogger(__name__)

KEEP = timedelta(days=2)
PRUNE_TICK_SECONDS = 3600


def prune(ctx: AppContext) -> tuple[int, int]:
    before = ctx.now() - KEEP
    with unit_of_work(ctx.factory) as s:
        effects = jobs_repo.prune_effects(s, before=before)
        reports = report_cache.prune(s, before=before)
    if effects or reports:
        log.info("pruned %d job effect(s) and %d shared report(s) older than %s", effects, reports, KEEP)
    return effects, reports


JOB = ScheduledJob(id="pmf.clock.prune_jobs", name="job housekeeping", every_seconds=PRUNE_TICK_SECONDS,
                   start=lambda ctx: lambda: prune(ctx))
