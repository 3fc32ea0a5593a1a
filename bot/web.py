"""The HTTP side (SPEC §7): one WSGI app, served by gunicorn for ``pmfbot web``.

Routes: ``POST /slack/events`` (commands, interactivity, events — ``bot.webio.slack_gate`` refuses
oversized bodies, malformed or bad signatures and unusable payloads before Bolt, which verifies again),
``GET /slack/install`` and ``GET /slack/oauth_redirect`` (multi-workspace OAuth), ``GET /healthz``
(200 ``{"ok": true}`` only when the database answers, else 503) and ``POST /api/v1/ingest``
(bearer ingest token → ``bot.ingest.payload.ingest_payload``: 200 with counts, 400 with per-item
errors and nothing written, 401, 413 over 10,000 items or ``MAX_BODY_BYTES``, 503 with
``Retry-After`` when the database is down or a lock conflict persists; always JSON), and the
Segment-compatible tracking API ``POST /v1/batch|track|identify|page|screen`` (SPEC §9: HTTP
Basic with a product's write key, gzip bodies, Segment's 500 KB limit → ``bot.ingest.segment``).
Both APIs read bodies with ``bot.ingest.jsonbody`` (standard JSON only, bounded depth, no NUL or
lone surrogate: a 400 naming the item) and answer every failure in JSON (``_failure``): 503 only
for what a retry can fix, else a 500 with a reference and the traceback in the log only.

gunicorn runs ``WORKERS`` processes of ``THREADS`` threads (``gthread``); each worker builds its
own app after the fork (no shared engine, pool or executor). ``WEB_CONCURRENCY``,
``WEB_THREADS`` and ``HOST`` tune this for a platform, as on Heroku; they are process tuning,
not application settings, so they live here rather than in ``Settings``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import uuid
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from bot.config import ConfigError, Settings
from bot.context import AppContext
from bot.ingest.jsonbody import BodyError, loads
from bot.products.tokens import token_scope
from bot.webio import read_body, slack_gate
from bot.workspaces.service import database_ok

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024  # 10,000 items of ~300 bytes of JSON, with room to spare
MAX_ITEMS = 10_000
RETRY_AFTER_S = 5  # a 503 from ingest: the database was unavailable or a lock conflict persisted
WORKERS = 2
THREADS = 16
SLACK_PATHS = ("/slack/events", "/slack/install", "/slack/oauth_redirect")
# The Segment-compatible API: path -> the message type it takes (None: a batch of any).
SEGMENT_PATHS: dict[str, str | None] = {"/v1/batch": None, "/v1/track": "track", "/v1/identify": "identify",
                                        "/v1/page": "page", "/v1/screen": "screen",
                                        "/v1/alias": "alias", "/v1/group": "group"}  # these two: taken, ignored
DISCARD_MAX_BYTES = 8 * 1024 * 1024  # an oversized /v1 body up to this size is read off and dropped
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
            if path == "/slack/events" and method == "POST":
                refused = slack_gate(environ, start_response, self.ctx.settings.slack_signing_secret or "")
                if refused is not None:
                    return refused
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
        if path in SEGMENT_PATHS:
            if method != "POST":
                return _segment_error(start_response, "405 Method Not Allowed", "method_not_allowed", "use POST",
                                      [("Allow", "POST")])
            try:
                return self.segment(environ, start_response, SEGMENT_PATHS[path])
            except Exception as err:  # noqa: BLE001 - answered in JSON, never a traceback page
                status, message = _failure(err, "segment")
                headers = [("Retry-After", str(RETRY_AFTER_S))] if status.startswith("503") else []
                code = ("unavailable" if status.startswith("503") else
                        "internal_error" if status.startswith("5") else "invalid_request")
                return _segment_error(start_response, status, code, message, headers)
        return _json(start_response, "404 Not Found", {"ok": False, "error": "not found"})

    def ingest(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """JSON always: 200, 400 with per-item errors, 401, 413, 503 with ``Retry-After`` when the
        database is unavailable or a lock conflict outlasts the retries."""
        try:
            return self._ingest(environ, start_response)
        except Exception as err:  # noqa: BLE001 - answered in JSON, never a traceback page
            status, message = _failure(err, "ingest")
            headers = [("Retry-After", str(RETRY_AFTER_S))] if status.startswith("503") else []
            return _json(start_response, status, {"ok": False, "error": message}, headers)

    def _ingest(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = auth.partition(" ")
        scope = None
        if scheme.lower() == "bearer" and token.strip():
            scope = token_scope(self.ctx.factory, token.strip())
        if scope is None:
            return _json(start_response, "401 Unauthorized",
                         {"ok": False, "error": "missing or invalid ingest token (create one with /pmf-check token)"},
                         [("WWW-Authenticate", 'Bearer realm="pmf-gate"')])
        workspace_id = scope[0]
        raw, problem = read_body(environ, MAX_BODY_BYTES)
        if problem is not None:
            if problem[0].startswith("413"):
                return self._too_large(start_response, problem[1])
            return _json(start_response, problem[0], {"ok": False, "errors": [{"path": "", "message": problem[1]}]})
        try:
            payload = loads(raw)
        except BodyError as err:
            return _json(start_response, "400 Bad Request", {"ok": False, "errors": [{"path": "", "message": str(err)}]})
        items = sum(len(payload.get(k) or []) for k in ("events", "signups")
                    if isinstance(payload, dict) and isinstance(payload.get(k), list))
        if items > MAX_ITEMS:
            return self._too_large(start_response, f"{items:,} items; at most {MAX_ITEMS:,} per request")
        from bot.ingest.formats import PayloadError, PayloadTooLarge
        from bot.ingest.payload import ingest_payload

        try:
            result = ingest_payload(self.ctx.factory, workspace_id=workspace_id, payload=payload, only_product_id=scope[1],
                                    secret=self.ctx.secret_key, now=self.ctx.now())
        except PayloadTooLarge as err:
            return self._too_large(start_response, str(err))
        except PayloadError as err:
            return _json(start_response, "400 Bad Request", {"ok": False, "errors": err.errors})
        log.info("ingest workspace=%s product=%s", workspace_id, result.get("product"))
        return _json(start_response, "200 OK", {"ok": True, **result})

    @staticmethod
    def _too_large(start_response: StartResponse, why: str) -> Iterable[bytes]:
        return _json(start_response, "413 Payload Too Large", {"ok": False, "error": f"too large: {why}"})

    # ------------------------------------------------------------------ Segment-compatible API
    def segment(self, environ: dict[str, Any], start_response: StartResponse, kind: str | None) -> Iterable[bytes]:
        """``/v1/*``: authenticate the write key, read the (maybe gzipped) body within Segment's
        limit, then ``bot.ingest.segment`` validates and writes it all or nothing."""
        from bot.ingest import segment

        received_at = self.ctx.now()
        key = _basic_user(environ.get("HTTP_AUTHORIZATION", ""))
        scope = self._write_key_scope(key) if key else None
        if key and not isinstance(scope, int):
            length = (environ.get("CONTENT_LENGTH") or "").strip()
            if length.isdigit():
                _discard(environ["wsgi.input"], int(length))  # so the client reads the 401, not a reset
            return _unauthorized(start_response, scope)
        limit = segment.MAX_BATCH_BYTES if kind is None else segment.MAX_MESSAGE_BYTES
        body, problem = _read_segment_body(environ, limit)
        if problem is not None:
            return _segment_error(start_response, *problem)
        if not key:
            # Segment's libraries also put the write key in the body; some senders only there.
            body_key = body.get("writeKey") if isinstance(body, dict) else None
            scope = self._write_key_scope(body_key) if isinstance(body_key, str) and body_key.strip() else None
            if not isinstance(scope, int):
                return _unauthorized(start_response, scope)
        assert isinstance(scope, int)
        try:
            batch = segment.parse_batch(body, kind=kind, received_at=received_at)
        except segment.BatchError as err:
            return _json(start_response, "400 Bad Request",
                         {"success": False, "code": "invalid_request", "message": str(err),
                          "error_count": err.total, "errors": err.errors})
        result = segment.ingest_batch(self.ctx.factory, product_id=scope, batch=batch, received_at=received_at,
                                      secret=self.ctx.secret_key)
        log.info("segment product_id=%s received=%d accepted=%d duplicates=%d anonymous=%d", scope,
                 result["received"], result["accepted"], result["duplicates"], result["anonymous"])
        return _json(start_response, "200 OK", {"success": True, **result})

    def _write_key_scope(self, key: str) -> int | str:
        """The product id a write key is scoped to, or why it is refused."""
        scope = token_scope(self.ctx.factory, key.strip())
        if scope is None:
            return "invalid or revoked write key"
        if scope[1] is None:
            return ("this token is workspace-wide; the tracking API needs a product-scoped write key "
                    "(pmfbot token create --product SLUG)")
        return scope[1]


def _segment_error(start_response: StartResponse, status: str, code: str, message: str,
                   headers: list[tuple[str, str]] | None = None) -> Iterable[bytes]:
    # Segment's libraries log ``code`` and ``message`` of a refused request.
    return _json(start_response, status, {"success": False, "code": code, "message": message}, headers)


def _unauthorized(start_response: StartResponse, why: str | None) -> Iterable[bytes]:
    return _segment_error(start_response, "401 Unauthorized", "unauthorized",
                          why or "missing write key: HTTP Basic with the write key as user name and an empty password",
                          [("WWW-Authenticate", 'Basic realm="pmf-gate"')])


def _basic_user(header: str) -> str:
    """The user name of an HTTP Basic ``Authorization`` header (Segment: the write key)."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0].strip()


def _discard(stream: Any, length: int) -> None:
    """Read and drop a refused body (never kept) so the client, still sending, gets the 413 or
    401 instead of a connection reset, which Segment's and RudderStack's libraries retry as a network
    error. Past ``DISCARD_MAX_BYTES`` the connection is simply answered and dropped."""
    left = length if length <= DISCARD_MAX_BYTES else 0
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            break
        left -= len(chunk)


def _read_segment_body(environ: dict[str, Any], limit: int) -> tuple[Any, tuple[str, str, str] | None]:
    """The JSON body, or (status, code, message) of why not. Never reads more than ``limit``
    bytes off the wire, nor inflates a gzip body past ``limit`` bytes."""
    encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        return None, ("415 Unsupported Media Type", "unsupported_encoding",
                      f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding")
    raw_length = environ.get("CONTENT_LENGTH") or ""
    if raw_length.strip():
        if not raw_length.strip().isdigit():
            return None, ("400 Bad Request", "invalid_request", "Content-Length is not a number")
        length = int(raw_length)
        if length > limit:
            _discard(environ["wsgi.input"], length)
            return None, ("413 Payload Too Large", "too_large", f"batch of {length:,} bytes; at most {limit:,}")
        raw = environ["wsgi.input"].read(length) if length else b""
    elif environ.get("wsgi.input_terminated"):  # chunked, de-chunked by the server (gunicorn)
        raw = environ["wsgi.input"].read(limit + 1)
    else:
        return None, ("411 Length Required", "length_required", "send a Content-Length")
    if len(raw) > limit:
        return None, ("413 Payload Too Large", "too_large", f"batch over {limit:,} bytes")
    if encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw, limit + 1)
        except zlib.error as err:
            return None, ("400 Bad Request", "invalid_request", f"the body is not valid gzip: {err}")
        if len(raw) > limit or inflater.unconsumed_tail:
            return None, ("413 Payload Too Large", "too_large", f"batch over {limit:,} bytes once decompressed")
        if not inflater.eof:
            return None, ("400 Bad Request", "invalid_request", "the gzip body is truncated")
    try:
        return loads(raw), None
    except BodyError as err:
        return None, ("400 Bad Request", "invalid_request", str(err))


def _failure(err: Exception, api: str) -> tuple[str, str]:
    """(status, message) for an exception out of an API request: 503 only for what a retry can
    fix (the database unavailable, silent past its deadline, or a lock conflict that persisted);
    a value the database refused is the sender's 400; anything else a 500 whose reference is in
    the log with its traceback — the client never sees one."""
    if isinstance(err, DataError):
        log.warning("%s: the database refused a value: %s", api, type(err.orig).__name__)
        return "400 Bad Request", "a value could not be stored (the database refused it); nothing was written"
    if isinstance(err, DBAPIError | SQLAlchemyTimeoutError):
        log.warning("%s: database unavailable or busy: %s", api, type(err).__name__)
        return ("503 Service Unavailable",
                "the database is unavailable or busy; nothing was written, try again shortly")
    ref = uuid.uuid4().hex[:8]
    log.error("%s: failed ref=%s: %s", api, ref, type(err).__name__, exc_info=err)
    return "500 Internal Server Error", f"PMF Gate failed on this request (reference {ref}); nothing was written"


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


def serve(settings: Settings, load: Callable[[], WebApp], *, ready: str = "", one_process: bool = False) -> None:
    """gunicorn with ``gthread`` workers on ``HOST:PORT``; ``load`` builds a worker's app.
    Once gunicorn listens, one INFO line says where, with ``ready`` (database, mode) after it.
    ``one_process``: a single worker whatever ``WEB_CONCURRENCY`` says (SQLite's in-process queue)."""
    workers = 1 if one_process else _env_int("WEB_CONCURRENCY", WORKERS, 1, 64)
    threads = _env_int("WEB_THREADS", THREADS, 1, 256)
    host = os.environ.get("HOST", "").strip() or "0.0.0.0"

    def when_ready(_server: Any) -> None:
        log.info("PMF Gate web ready on http://%s:%s (POST /slack/events, GET /healthz; %d worker%s x %d threads)%s",
                 host, settings.port, workers, "" if workers == 1 else "s", threads, f", {ready}" if ready else "")
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
        "when_ready": when_ready,
    }, load).run()
