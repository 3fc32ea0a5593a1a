"""Running PMF Gate's processes: ``run_web`` (gunicorn, HTTP), ``run_socket`` (Socket Mode with
the scheduler in-process) and ``run_clock`` (the one scheduler process). The only module that
imports both the composition root (``bot.app``) and the scheduler (``bot.scheduler``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import OperationalError

from bot import logs
from bot.app import build_app, build_context
from bot.config import ConfigError, Settings
from bot.errors import SlackUnreachable
from bot.jobs.queue import queue_of
from bot.scheduler import background_clock, blocking_clock, periodic_jobs
from bot.web import WebApp, serve
from storage.db import redacted_url
from storage.migrate import schema_problem

log = logging.getLogger(__name__)


def configure_logging(settings: Settings) -> None:
    # force: the CLI configured WARNING before LOG_LEVEL was read; this process logs at LOG_LEVEL.
    # Every line escaped (bot.logs): user-provided text cannot forge a record.
    logs.configure(settings.log_level, force=True)
    if logging.getLogger().level > logging.DEBUG:
        # APScheduler logs every run of every job at INFO (two lines a tick, forever) and each job
        # it adds: our own ready line says which jobs run.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        # Alembic's two lines whenever the schema is checked at start-up.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # procrastinate logs every job it starts and ends at INFO.
        logging.getLogger("procrastinate").setLevel(logging.WARNING)


def mode(settings: Settings) -> str:
    return "multi-workspace (OAuth)" if settings.oauth_mode else "single-workspace (bot token)"


def require_schema(settings: Settings) -> None:
    """Refuse a database that is not at the migrations' head: every query would fail later, on
    every request and every tick, with "no such table"."""
    try:
        problem = schema_problem(settings.database_url)
    except OperationalError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig is not None else type(err).__name__
        raise ConfigError(f"cannot reach the database at {redacted_url(settings.database_url)} ({reason}): "
                          "check DATABASE_URL and that the server is running") from None
    if problem:
        raise ConfigError(problem)


# ----------------------------------------------------------------------------- web
def build_wsgi(settings: Settings, *, clock: bool = False, **kwargs: Any) -> WebApp:
    """The production WSGI app (one per gunicorn worker, built after the fork). ``clock``: run
    the periodic jobs in this process too (SQLite: everything in one process)."""
    app, ctx = build_app(settings, **kwargs)
    queue_of(ctx).replay()  # SQLite: jobs a previous process acked and never finished (PostgreSQL: none)
    if clock:
        background_clock(ctx)
    return WebApp(app, ctx)


def run_web(settings: Settings) -> None:
    """``pmfbot web``: gunicorn with ``gthread`` workers on ``HOST:PORT``. On PostgreSQL it only
    verifies, stores jobs and acks (``pmfbot worker`` runs them); on SQLite it is the one
    process: one gunicorn worker that runs the jobs and the clock's jobs in-process."""
    configure_logging(settings)
    settings.require_slack()
    require_schema(settings)
    local = not settings.uses_procrastinate
    jobs = "jobs on the queue (pmfbot worker runs them)" if not local else "jobs and clock in-process"
    serve(settings, lambda: build_wsgi(settings, clock=local),
          ready=f"database {redacted_url(settings.database_url)}, {mode(settings)}, {jobs}", one_process=local)


# ----------------------------------------------------------------------------- Socket Mode
class Liveness:
    """Socket Mode has been seen to stop receiving events silently after reconnects. Every
    ``interval`` seconds this checks the connection; a dead one is replaced, and if it stays
    dead for ``give_up_after`` seconds the process exits non-zero so its supervisor restarts it."""

    def __init__(self, client: Any, *, interval: float = 30.0, give_up_after: float = 300.0,
                 exit: Callable[[int], None] = os._exit, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.interval = interval
        self.give_up_after = give_up_after
        self._exit = exit
        self._clock = clock
        self.down_since: float | None = None
        self._stop = threading.Event()

    def check(self) -> bool:
        """One check; True when connected."""
        if self.client.is_connected():
            if self.down_since is not None:
                log.info("socket mode connection is back")
            self.down_since = None
            return True
        now = self._clock()
        if self.down_since is None:
            self.down_since = now
        log.warning("socket mode is not connected (for %.0f s): reconnecting", now - self.down_since)
        try:
            self.client.connect_to_new_endpoint(force=True)
        except Exception as err:  # noqa: BLE001 - keep checking; give up below if it never comes back
            log.error("socket mode reconnect failed: %s", err)
        if now - self.down_since >= self.give_up_after:
            log.critical("socket mode has been down for %.0f s: exiting so the process is restarted",
                         now - self.down_since)
            self._exit(1)
        return False

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="socket-liveness", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def connect_socket(handler: Any, api_url: str) -> None:
    """Open the Socket Mode connection; an unreachable Slack or a refused app token is one line
    that says so, not a traceback or a bare ``URLError``."""
    from slack_sdk.errors import SlackApiError
    from websockets.exceptions import WebSocketException

    try:
        handler.connect()
    except SlackApiError as err:
        code = err.response.get("error") if err.response is not None else None
        raise SlackUnreachable(f"Slack at {api_url} refused to open a Socket Mode connection ({code}): check "
                               "SLACK_APP_TOKEN (an xapp- token with connections:write)") from err
    except OSError as err:  # URLError, refused connections, timeouts, DNS failures
        reason = getattr(err, "reason", None) or err
        raise SlackUnreachable(f"cannot reach Slack at {api_url} ({reason})") from err
    except WebSocketException as err:  # the URL Slack handed out did not become a websocket
        raise SlackUnreachable(f"Slack at {api_url} handed out a Socket Mode URL that did not open ({err})") from err


def run_socket(settings: Settings) -> None:
    """``pmfbot socket``: Socket Mode (no public URL needed), a liveness check and the scheduler."""
    from bot.slack.socket_mode import SocketModeHandler

    configure_logging(settings)
    settings.require_slack(socket=True)
    require_schema(settings)
    app, ctx = build_app(settings, socket_mode=True)
    queue_of(ctx).replay()  # SQLite: what a previous process acked (PostgreSQL: pmfbot worker runs the jobs)
    # Our Socket Mode handler (bot/slack/socket_mode.py) asks app.client, which points at SLACK_API_URL,
    # for each connection's URL.
    handler = SocketModeHandler(app, settings.slack_app_token or "")  # require_slack(socket=True) checked it
    connect_socket(handler, settings.slack_api_url)
    clock = background_clock(ctx)
    liveness = Liveness(handler.client)
    liveness.start()
    log.info("PMF Gate ready: connected to Slack at %s over Socket Mode, database %s, %s, scheduler in-process (%s)",
             settings.slack_api_url, redacted_url(settings.database_url), mode(settings), clock.describe())
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    log.info("shutting down")
    liveness.stop()
    clock.stop(wait=False)
    handler.close()


# ----------------------------------------------------------------------------- worker
def run_worker(settings: Settings) -> None:
    """``pmfbot worker`` (PostgreSQL): procrastinate's worker over every registered job and the
    clock's jobs as periodic tasks, until SIGTERM (running jobs get ``GRACEFUL_SECONDS``; the
    rest are retried by another worker's sweep). The Bolt app is built for its registry only."""
    configure_logging(settings)
    _require_clock_settings(settings)
    if not settings.uses_procrastinate:
        raise ConfigError("pmfbot worker runs procrastinate's queue on PostgreSQL: set DATABASE_URL to a "
                          "postgresql:// URL (on SQLite, pmfbot web or socket runs every job in-process)")
    require_schema(settings)
    from bot.jobs.pg import WORKER_THREADS, build_procrastinate
    from bot.jobs.pg import run_worker as work

    _app, ctx = build_app(settings)
    for job in periodic_jobs(ctx):
        ctx.jobs.add_periodic(job)
    queue = build_procrastinate(ctx)
    log.info("PMF Gate worker ready: database %s, %s, Slack at %s, %d threads, jobs: %s; periodic: %s",
             redacted_url(settings.database_url), mode(settings), settings.slack_api_url, WORKER_THREADS,
             ", ".join(ctx.jobs.tasks), ", ".join(f"{p.name} every {p.every_seconds}s" for p in ctx.jobs.periodic.values()))
    work(queue, name=f"pmfbot-worker-{os.getpid()}")
    log.info("worker stopped")


# ----------------------------------------------------------------------------- clock
def _require_clock_settings(settings: Settings) -> None:
    settings.require_secret()
    if not settings.oauth_mode and not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is missing: set it (single workspace) or SLACK_CLIENT_ID and "
                          "SLACK_CLIENT_SECRET (multi-workspace)")


def run_clock(settings: Settings) -> None:
    """``pmfbot clock``: run the scheduler in the foreground until SIGTERM/SIGINT. Heroku sends
    SIGTERM on every restart: deliveries in hand finish (or their lease lets another run take
    them over), nothing lives only in memory. The clock receives no requests, so it builds
    only the context (its Slack clients are exactly the app's), never a Bolt app."""
    configure_logging(settings)
    _require_clock_settings(settings)
    require_schema(settings)
    ctx = build_context(settings)
    clock = blocking_clock(ctx)

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping the clock after the deliveries in hand", signum)
        clock.stop(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("PMF Gate clock ready: database %s, %s, Slack at %s, jobs: %s", redacted_url(settings.database_url),
             mode(settings), settings.slack_api_url, clock.describe())
    try:
        clock.scheduler.start()
    finally:
        clock.stop(wait=False)
    log.info("clock stopped")


