"""The composition root: ``build_context(settings)`` → the ``AppContext`` every listener and
job shares; ``build_app(settings)`` → the Bolt ``App`` with every listener registered. Nothing
else lives here: running a process (web, socket, clock) is ``bot.main``.

Single-workspace mode uses ``SLACK_BOT_TOKEN``; multi-workspace mode (``SLACK_CLIENT_ID`` and
``SLACK_CLIENT_SECRET``, which win) uses slack_sdk's SQLAlchemy installation and state stores
with encrypted tokens and token rotation (``bot.slack.oauth``). Every WebClient — Bolt's own, the
per-request ones Bolt derives from it, the OAuth flow's and per-install ones — comes from
``bot.slack.client.make_client``, so ``SLACK_API_URL`` and the retry handlers always apply.

Thread pools, per web worker process (sizes measured with ``bench/slack_ack.py``): gunicorn's
request threads (``bot.web.THREADS``) hand each Slack request to Bolt, which runs the listener —
ack included — on ``listener_executor`` (``LISTENER_THREADS``, larger than the request threads
so an ack never queues). ``/pmf-check`` and the App Home do their work after the ack on the
context's own pool (``Tuning.work_threads``), so reports never hold the threads acks need, and
the report cache caps the CPU-bound part (statistics, charts) at ``Tuning.max_parallel_reports``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.context import AppContext, TrackingExecutor, Tuning
from bot.reports.shared import SharedReports
from bot.slack.client import make_client
from bot.slack.identity import BotIdentity
from bot.slack.oauth import OAuthParts
from handlers.registry import register_all
from storage.db import APP_STATEMENT_TIMEOUT_S, make_engine, make_session_factory

LISTENER_THREADS = 32
AUTHORIZE_ERROR = ("PMF Gate could not load this workspace's installation, so it cannot answer right now. "
                   "If this persists, reinstall the app (or ask an admin to) and try again.")


def build_context(settings: Settings, factory: sessionmaker[Session] | None = None, *,
                  tuning: Tuning | None = None) -> AppContext:
    """The context of a process: database, Slack clients per team (the bot token, or in OAuth
    mode the installation store's bot), per-process caches. The clock needs only this."""
    secret = settings.require_secret()
    if factory is None:
        factory = make_session_factory(make_engine(settings.database_url, statement_timeout_s=APP_STATEMENT_TIMEOUT_S))
    oauth: OAuthParts | None = None
    client_for_team: Callable[[str], WebClient]
    if settings.oauth_mode:
        oauth = OAuthParts(settings, factory.kw["bind"], make_client(settings))
        client_for_team = oauth.bot_client_for_team
    else:
        token = settings.slack_bot_token

        def client_for_team(team_id: str) -> WebClient:
            return make_client(settings, token)

    ctx = AppContext(settings=settings, factory=factory, client_for_team=client_for_team, secret_key=secret,
                     oauth=oauth, tuning=tuning or Tuning())
    if settings.uses_procrastinate:  # several workers: reports and charts shared through PostgreSQL
        ctx.reports.shared = SharedReports(factory)
    return ctx


class _TokenFromEnvironment(logging.Filter):
    """Drops one Bolt warning that is wrong for us. Bolt reads ``SLACK_BOT_TOKEN`` from the
    environment itself whenever its ``token`` argument is None, and then warns that ``token`` is
    unused because we also pass ``client``, or ignored because we also pass ``authorize`` (in
    single-workspace mode ``bot.slack.identity`` authorizes without delaying the ack). We must pass
    both, and they carry that very token, so nothing is unused or ignored."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in (warning_client_prioritized_and_token_skipped(), warning_token_skipped())


def _quiet_bolt_token_warning() -> None:
    logger = logging.getLogger("slack_bolt.App")  # Bolt's framework logger when App(logger=None)
    if not any(isinstance(f, _TokenFromEnvironment) for f in logger.filters):
        logger.addFilter(_TokenFromEnvironment())


def build_app(settings: Settings, factory: sessionmaker[Session] | None = None, *,
              listener_threads: int = LISTENER_THREADS, socket_mode: bool = False,
              tuning: Tuning | None = None) -> tuple[App, AppContext]:
    """The Bolt app with every listener registered, and the context its listeners share."""
    settings.require_slack(socket=socket_mode)
    ctx = build_context(settings, factory, tuning=tuning)
    executor = TrackingExecutor(listener_threads, thread_name_prefix="bolt-listener")
    common: dict[str, Any] = dict(
        signing_secret=settings.slack_signing_secret or "socket-mode-does-not-sign",
        listener_executor=executor,
        raise_error_for_unhandled_request=False,
        user_facing_authorize_error_message=AUTHORIZE_ERROR,
        # Socket Mode requests are not signed; HTTP ones always are.
        request_verification_enabled=not socket_mode,
        name="pmfbot",
    )
    _quiet_bolt_token_warning()
    if ctx.oauth is not None:
        oauth = ctx.oauth
        app = App(client=oauth.client, authorize=oauth.authorize,  # type: ignore[arg-type]  # an Authorize is accepted
                  installation_store=oauth.installation_store,
                  oauth_settings=oauth.oauth_settings, installation_store_bot_only=True, **common)
    else:
        # auth.test never runs before an ack (nor at start-up, so a web process boots and
        # /healthz answers while Slack is unreachable): BotIdentity answers Bolt's authorize at
        # once and learns the bot's ids in the background, caching a failure for a minute.
        client = make_client(settings, settings.slack_bot_token)
        ctx.bot_identity = BotIdentity(client)
        app = App(client=client, authorize=ctx.bot_identity.authorize_function(), **common)
    register_all(app, ctx)
    return app, ctx
