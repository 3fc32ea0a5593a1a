"""The composition root: Settings → engine and session factory → Bolt App → every listener.

Single-workspace mode uses ``SLACK_BOT_TOKEN``; multi-workspace mode (``SLACK_CLIENT_ID`` and
``SLACK_CLIENT_SECRET``, which win) uses slack_sdk's SQLAlchemy installation and state stores
with encrypted tokens and token rotation (``bot.oauth``). Every WebClient — Bolt's own, the
per-request ones Bolt derives from it, the OAuth flow's and per-install ones — comes from
``bot.slack_client.make_client``, so ``SLACK_API_URL`` and the retry handlers always apply.

Thread pools, per web worker process (sizes measured with ``bench/slack_ack.py``): gunicorn's
request threads (``bot.web.THREADS``) hand each Slack request to Bolt, which runs the listener —
ack included — on ``listener_executor`` (``LISTENER_THREADS``, larger than the request threads
so an ack never queues). ``/pmf-check`` and the App Home do their work after the ack on a pool
of their own (``handlers.background.WORK_THREADS``), so reports never hold the threads acks need, and
``bot.slack_services`` caps the CPU-bound part (statistics, charts) at ``MAX_PARALLEL_REPORTS``.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.context import AppContext
from bot.slack_client import make_client
from storage.db import make_engine, make_session_factory

log = logging.getLogger("pmfbot.app")

LISTENER_THREADS = 32
AUTHORIZE_ERROR = ("PMF Gate could not load this workspace's installation, so it cannot answer right now. "
                   "If this persists, reinstall the app (or ask an admin to) and try again.")


def build_app(settings: Settings, factory: sessionmaker[Session] | None = None, *,
              listener_threads: int = LISTENER_THREADS, socket_mode: bool = False) -> tuple[App, AppContext]:
    """The Bolt app with every listener registered, and the context its listeners share."""
    from handlers import register_all
    from handlers.commands.router import Router

    settings.require_slack(socket=socket_mode)
    secret = settings.require_secret()
    if factory is None:
        factory = make_session_factory(make_engine(settings.database_url))
    engine = factory.kw["bind"]
    executor = ThreadPoolExecutor(max_workers=listener_threads, thread_name_prefix="bolt-listener")
    common: dict[str, Any] = dict(
        signing_secret=settings.slack_signing_secret or "socket-mode-does-not-sign",
        listener_executor=executor,
        raise_error_for_unhandled_request=False,
        user_facing_authorize_error_message=AUTHORIZE_ERROR,
        # Socket Mode requests are not signed; HTTP ones always are.
        request_verification_enabled=not socket_mode,
        name="pmfbot",
    )
    client_for_team: Callable[[str], WebClient]
    if settings.oauth_mode:
        from bot.oauth import OAuthParts

        app_client = make_client(settings)
        oauth = OAuthParts(settings, engine, app_client)
        app = App(client=app_client, authorize=oauth.authorize,  # type: ignore[arg-type]  # an Authorize is accepted
                  installation_store=oauth.installation_store,
                  oauth_settings=oauth.oauth_settings, installation_store_bot_only=True, **common)
        client_for_team = oauth.bot_client_for_team
    else:
        token = settings.slack_bot_token
        # auth.test runs on the first request instead of at start-up, so a web process boots
        # (and /healthz answers) even while Slack is unreachable.
        app = App(client=make_client(settings, token), token_verification_enabled=False, **common)

        def client_for_team(team_id: str) -> WebClient:
            return make_client(settings, token)

    ctx = AppContext(settings=settings, factory=factory, client_for_team=client_for_team, secret_key=secret)
    register_all(app, ctx, Router())
    return app, ctx


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


def start_scheduler(settings: Settings, ctx: AppContext) -> Any:
    """The digest/survey scheduler in-process (Socket Mode has no separate clock process)."""
    try:
        scheduler = importlib.import_module("bot.scheduler")
    except ImportError:
        log.error("bot.scheduler is not available: weekly digests and survey deadlines will NOT run in this process")
        return None
    start = getattr(scheduler, "start_background_scheduler", None)
    if start is None:
        log.error("bot.scheduler has no start_background_scheduler(settings, ctx): weekly digests and survey "
                  "deadlines will NOT run in this process; run `pmfbot clock` beside it")
        return None
    log.info("starting the scheduler in-process")
    return start(settings, ctx)


def run_socket_mode(settings: Settings) -> None:
    """``pmfbot socket``: Socket Mode (no public URL needed), a liveness check and the scheduler."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings.require_slack(socket=True)
    app, ctx = build_app(settings, socket_mode=True)
    # Bolt's handler connects with app.client, which already points at SLACK_API_URL.
    handler = SocketModeHandler(app, settings.slack_app_token)
    scheduler = start_scheduler(settings, ctx)
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
    if scheduler is not None and hasattr(scheduler, "shutdown"):
        scheduler.shutdown(wait=False)
    handler.close()
