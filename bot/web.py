"""The HTTP side (SPEC §7): one WSGI app, served by gunicorn for ``pmfbot web``.

Routes: ``POST /slack/events`` (commands, interactivity, events — Bolt verifies the signature),
``GET /slack/install`` and ``GET /slack/oauth_redirect`` (multi-workspace OAuth), ``GET /healthz``
(200 ``{"ok": true}`` only when the database answers, else 503) and ``POST /api/v1/ingest``
(bearer ingest token → ``bot.ingest.csv_import.ingest_payload``: 200 with counts, 400 with per-item
errors and nothing written, 401, 413 over 10,000 items or ``MAX_BODY_BYTES``).

gunicorn runs ``WORKERS`` processes of ``THREADS`` threads (``gthread``); each worker builds its
own app after the fork (no shared engine, pool or executor). ``WEB_CONCURRENCY``,
``WEB_THREADS`` and ``HOST`` tune this for a platform, as on Heroku; they are process tuning,
not application settings, so they live here rather than in ``Settings``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.config import ConfigError, Settings
from bot.context import AppContext
from bot.products.tokens import workspace_for_token
from bot.workspaces.service import database_ok

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024  # 10,000 items of ~300 bytes of JSON, with room to spare
MAX_ITEMS = 10_000
WORKERS = 2
THREADS = 16
SLACK_PATHS = ("/slack/events", "/slack/install", "/slack/oauth_redirect")
StartResponse = Callable[..., Any]


def _json(start_response: StartResponse, status: str, payload: dict[str, Any],
          headers: list[tuple[str, str]] | None = None) -> Iterable[bytes]:
    body = json.dumps(payload).encode("utf-8")
    start_response(status, [("Content-Type", "application/json; charset=utf-8"),
                            ("Content-Length", str(len(body)))] + (headers or []))
    return [body]


class WebApp:
    """The WSGI application: Slack's routes go to Bolt, ours are handled here."""

    def __init__(self, app: App, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx
        self.slack = SlackRequestHandler(app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path in SLACK_PATHS:
            if path != "/slack/events" and self.app.oauth_flow is None:
                return _json(start_response, "404 Not Found",
                             {"ok": False, "error": "single-workspace mode: installs use SLACK_BOT_TOKEN, not OAuth"})
            return self.slack(environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            if database_ok(self.ctx.factory):
                return _json(start_response, "200 OK", {"ok": True})
            log.error("healthz: the database does not answer")
            return _json(start_response, "503 Service Unavailable", {"ok": False, "error": "database unavailable"})
        if path == "/api/v1/ingest":
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"ok": False, "error": "use POST"},
                             [("Allow", "POST")])
            return self.ingest(environ, start_response)
        return _json(start_response, "404 Not Found", {"ok": False, "error": "not found"})

    def ingest(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = auth.partition(" ")
        workspace_id = None
        if scheme.lower() == "bearer" and token.strip():
            workspace_id = workspace_for_token(self.ctx.factory, token.strip())
        if workspace_id is None:
            return _json(start_response, "401 Unauthorized",
                         {"ok": False, "error": "missing or invalid ingest token (create one with /pmf-check token)"},
                         [("WWW-Authenticate", 'Bearer realm="pmf-gate"')])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            return self._too_large(start_response, f"body of {length:,} bytes; at most {MAX_BODY_BYTES:,}")
        raw = environ["wsgi.input"].read(min(length, MAX_BODY_BYTES + 1)) if length else b""
        if len(raw) > MAX_BODY_BYTES:
            return self._too_large(start_response, f"body over {MAX_BODY_BYTES:,} bytes")
        try:
            payload = json.loads(raw or b"null")
        except ValueError as err:
            return _json(start_response, "400 Bad Request",
                         {"ok": False, "errors": [{"path": "", "message": f"the body is not valid JSON: {err}"}]})
        items = sum(len(payload.get(k) or []) for k in ("events", "signups")
                    if isinstance(payload, dict) and isinstance(payload.get(k), list))
        if items > MAX_ITEMS:
            return self._too_large(start_response, f"{items:,} items; at most {MAX_ITEMS:,} per request")
        from bot.ingest.formats import PayloadError, PayloadTooLarge
        from bot.ingest.payload import ingest_payload

        try:
            result = ingest_payload(self.ctx.factory, workspace_id=workspace_id, payload=payload)
        except PayloadTooLarge as err:
            return self._too_large(start_response, str(err))
        except PayloadError as err:
            return _json(start_response, "400 Bad Request", {"ok": False, "errors": err.errors})
        log.info("ingest workspace=%s product=%s", workspace_id, result.get("product"))
        return _json(start_response, "200 OK", {"ok": True, **result})

    @staticmethod
    def _too_large(start_response: StartResponse, why: str) -> Iterable[bytes]:
        return _json(start_response, "413 Payload Too Large", {"ok": False, "error": f"too large: {why}"})


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], load: Callable[[], WebApp]) -> None:
        self.options = options
        self._load = load
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WebApp:
        # Called in each worker after the fork: every worker has its own engine and pools.
        return self._load()


def serve(settings: Settings, load: Callable[[], WebApp]) -> None:
    """gunicorn with ``gthread`` workers on ``HOST:PORT``; ``load`` builds a worker's app."""
    workers = _env_int("WEB_CONCURRENCY", WORKERS, 1, 64)
    threads = _env_int("WEB_THREADS", THREADS, 1, 256)
    host = os.environ.get("HOST", "").strip() or "0.0.0.0"
    log.info("serving on %s:%s with %d workers x %d threads", host, settings.port, workers, threads)
    _Gunicorn({
        "bind": f"{host}:{settings.port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
        "loglevel": settings.log_level.lower(),
        "accesslog": None,
        "errorlog": "-",
        "proc_name": "pmfbot-web",
    }, load).run()
