"""The APScheduler 3.x set-up: ``pmfbot clock`` (a BlockingScheduler, the one scheduler process
of a deployment) and the same jobs inside ``pmfbot socket`` (a BackgroundScheduler).

APScheduler only supplies the heartbeat. Nothing is scheduled per subscription and no job store
is persisted: every ``TICK_SECONDS`` the digest job asks the database what is due (schedules are
wall-clock times in IANA zones, resolved with zoneinfo in ``bot.digests``), and the database
claim makes each delivery happen once even if a second clock runs by mistake or a restart
re-runs a tick. Jobs have explicit ids with ``replace_existing``, a generous
``misfire_grace_time`` (the default of 1 s silently drops a tick that starts late) and
``coalesce``; ``max_instances=1`` stops a long fan-out from overlapping itself in one process.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import jobs
from bot.config import ConfigError, Settings
from bot.context import AppContext

log = logging.getLogger("pmfbot.clock")

TICK_SECONDS = 30
SURVEY_TICK_SECONDS = 60
MISFIRE_GRACE_SECONDS = 300
DIGEST_JOB_ID = "pmf.clock.digests"
SURVEY_JOB_ID = "pmf.clock.survey_deadlines"
# SQL sources sync daily; an hourly tick asks the database which are due (bot.sql_source).
SOURCES_TICK_SECONDS = 3600
SOURCES_JOB_ID = "pmf.clock.sql_sources"


def _guarded(name: str, fn: Any) -> Any:
    """A job body that logs its own failure (with the job name) and never raises into
    APScheduler, so one bad tick does not spam tracebacks without context."""

    def run() -> None:
        try:
            fn()
        except Exception:  # noqa: BLE001 - the next tick retries; the log says which job failed
            log.exception("scheduled job %s failed; it runs again at the next tick", name)

    run.__name__ = name
    return run


def configure(scheduler: BaseScheduler, ctx: AppContext, *, runner: jobs.DigestRunner | None = None) -> jobs.DigestRunner:
    """Add the clock's jobs to ``scheduler``; returns the digest runner (its ``stopping`` event
    lets a shutdown stop claiming new deliveries)."""
    runner = runner or jobs.DigestRunner(ctx)
    common: dict[str, Any] = dict(replace_existing=True, coalesce=True, max_instances=1,
                                  misfire_grace_time=MISFIRE_GRACE_SECONDS, next_run_time=datetime.now(UTC))
    scheduler.add_job(_guarded("digest_tick", lambda: runner.tick()), IntervalTrigger(seconds=TICK_SECONDS),
                      id=DIGEST_JOB_ID, name="weekly digests", **common)
    scheduler.add_job(_guarded("survey_deadlines", lambda: jobs.close_due_surveys(ctx)),
                      IntervalTrigger(seconds=SURVEY_TICK_SECONDS), id=SURVEY_JOB_ID, name="survey deadlines",
                      **common)
    scheduler.add_job(_guarded("sql_sources", lambda: _sync_sources(ctx)), IntervalTrigger(seconds=SOURCES_TICK_SECONDS),
                      id=SOURCES_JOB_ID, name="SQL sources (daily)", **common)
    return runner


def _sync_sources(ctx: AppContext) -> None:
    from bot.sql_source import sync_due_sources  # imported at the first tick, not at start-up

    sync_due_sources(ctx)


def _executors() -> dict[str, Any]:
    # Three jobs, one thread each; the digest job fans out on its own bounded pool.
    return {"default": ThreadPoolExecutor(max_workers=4)}


def _require_clock_settings(settings: Settings) -> None:
    settings.require_secret()
    if not settings.oauth_mode and not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is missing: set it (single workspace) or SLACK_CLIENT_ID and "
                          "SLACK_CLIENT_SECRET (multi-workspace)")


def build_context(settings: Settings) -> AppContext:
    """The clock's AppContext, from the composition root, so its Slack clients are exactly the
    app's (SLACK_API_URL, retry handlers; in OAuth mode the installation store's bot token)."""
    from bot.app import build_app

    if not settings.slack_signing_secret:
        # The clock receives no requests; Bolt's App still wants a signing secret to exist.
        from dataclasses import replace

        settings = replace(settings, slack_signing_secret="clock-process-receives-no-requests")
    _, ctx = build_app(settings)
    return ctx


def start_background_scheduler(settings: Settings, ctx: AppContext) -> BackgroundScheduler:
    """``pmfbot socket``: the clock's jobs on a daemon thread of the Socket Mode process."""
    scheduler = BackgroundScheduler(timezone=UTC, executors=_executors(), daemon=True)
    runner = configure(scheduler, ctx)
    scheduler.start()
    _stop_runner_on_shutdown(scheduler, runner)
    log.info("scheduler started in-process: digests every %ds, survey deadlines every %ds",
             TICK_SECONDS, SURVEY_TICK_SECONDS)
    return scheduler


def _stop_runner_on_shutdown(scheduler: BaseScheduler, runner: jobs.DigestRunner) -> None:
    original = scheduler.shutdown

    def shutdown(wait: bool = True) -> None:
        runner.stopping.set()  # finish the deliveries in hand, claim no more
        original(wait=wait)
        runner.close()

    scheduler.shutdown = shutdown  # type: ignore[method-assign]


def run_clock(settings: Settings) -> None:
    """``pmfbot clock``: run the scheduler in the foreground until SIGTERM/SIGINT. Heroku sends
    SIGTERM on every restart: deliveries in hand finish (or their lease lets another run take
    them over), nothing lives only in memory."""
    # force: the CLI's own basicConfig (WARNING) ran first; this process logs at LOG_LEVEL.
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        force=True)
    if logging.getLogger().level > logging.DEBUG:
        # APScheduler logs every run of every job at INFO: two lines a tick, forever.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    _require_clock_settings(settings)
    ctx = build_context(settings)
    scheduler = BlockingScheduler(timezone=UTC, executors=_executors())
    runner = configure(scheduler, ctx)

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping the clock after the deliveries in hand", signum)
        runner.stopping.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("PMF Gate clock started (worker %s): digests every %ds, survey deadlines every %ds",
             runner.worker_id, TICK_SECONDS, SURVEY_TICK_SECONDS)
    try:
        scheduler.start()
    finally:
        runner.close()
    log.info("clock stopped")
