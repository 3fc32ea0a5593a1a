"""Running one job, the same way under both adapters: rebuild its ``JobRun`` from the JSON
arguments, call the registered function, and when it fails on its last attempt give up
cleanly (the task's ``gave_up`` tells the user, unless an effect was already recorded)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from bot.jobs.effects import Effects
from bot.jobs.registry import JobRun
from bot.slack import retry

# bot.context.AppContext (which imports this package): named, not imported, to keep imports acyclic.
AppContext = Any

log = logging.getLogger(__name__)

KEY, AT = "_key", "_at"  # the arguments every job carries: its effects' key, when it was deferred


def job_args(args: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The arguments as stored: a fresh key and the defer time added."""
    return {**args, KEY: uuid.uuid4().hex, AT: now.isoformat()}


def execute(ctx: AppContext, name: str, args: dict[str, Any], *, attempt: int,
            max_attempts: int | None = None) -> None:
    """Run job ``name``; raises to be retried (not on the last attempt, which gives up). How many
    attempts: ``retry.JOBS`` unless ``max_attempts`` says."""
    max_attempts = retry.JOBS.max_attempts if max_attempts is None else max_attempts
    task = ctx.jobs.task(name)
    key = str(args.get(KEY) or "")
    at = datetime.fromisoformat(args[AT]) if args.get(AT) else ctx.now()
    run = JobRun(key=key, name=name, args=args, attempt=attempt, enqueued_at=at,
                 effects=Effects(ctx.factory, key), max_attempts=max_attempts)
    try:
        task.run(ctx, run)
    except Exception as err:
        if not run.final:
            log.warning("job %s %s failed (attempt %d of %d): %s; it will be retried", name, key, attempt + 1,
                        max_attempts, type(err).__name__)
            raise
        log.error("job %s %s failed for good after %d attempts", name, key, attempt + 1, exc_info=err)
        if task.gave_up is None:
            return
        if any(":try" not in step for step in run.effects.recorded()):  # a reply, post or upload happened
            log.warning("job %s %s: its reply or post already went out; no 'did not finish'", name, key)
            return
        try:
            task.gave_up(ctx, run, err)
        except Exception as tell_err:  # noqa: BLE001 - nobody else to tell
            log.error("job %s %s: could not tell the user it gave up: %s", name, key, type(tell_err).__name__)
