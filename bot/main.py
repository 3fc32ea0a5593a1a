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

from bot.app import build_app, build_context
from bot.config import ConfigError, Settings
from bot.scheduler import background_clock, blocking_clock
from bot.web import WebApp, serve
from handlers.background import recover_lost

log = logging.getLogger(__name__)


def configure_logging(settings: Settings) -> None:
    # force: the CLI configured WARNING before LOG_LEVEL was read; this process logs at LOG_LEVEL.
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        force=True)
    if logging.getLogger().level > logging.DEBUG:
        # APScheduler logs every run of every job at INFO: two lines a tick, forever.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)


# ----------------------------------------------------------------------------- web
def build_wsgi(settings: Settings, **kwargs: Any) -> WebApp:
    """The production WSGI app (one per gunicorn worker, built after the fork)."""
    app, ctx = build_app(settings, **kwargs)
    ctx.work.submit(lambda: recover_lost(ctx))  # work a previous process acked and never finished
    return WebApp(app, ctx)


def run_web(settings: Settings) -> None:
    """``pmfbot web``: gunicorn with ``gthread`` workers on ``HOST:PORT``."""
    settings.require_slack()
    configure_logging(settings)
    serve(settings, lambda: build_wsgi(settings))


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


def run_socket(settings: Settings) -> None:
    """``pmfbot socket``: Socket Mode (no public URL needed), a liveness check and the scheduler."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    configure_logging(settings)
    settings.require_slack(socket=True)
    app, ctx = build_app(settings, socket_mode=True)
    # Bolt's handler connects with app.client, which already points at SLACK_API_URL.
    handler = SocketModeHandler(app, settings.slack_app_token)
    clock = background_clock(ctx)
    handler.connect()
    liveness = Liveness(handler.client)
    liveness.start()
    log.info("PMF Gate is connected over Socket Mode")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    log.info("shutting down")
    liveness.stop()
    clock.stop(wait=False)
    handler.close()


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
    ctx = build_context(settings)
    clock = blocking_clock(ctx)

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping the clock after the deliveries in hand", signum)
        clock.stop(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("PMF Gate clock started: %s", clock.describe())
    try:
        clock.scheduler.start()
    finally:
        clock.stop(wait=False)
    log.info("clock stopped")


