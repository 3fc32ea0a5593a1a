"""The real app over real HTTP, driven like Slack drives it.

``Harness`` builds the production WSGI app (``bot.main.build_wsgi`` → ``bot.app.build_app``) on
the test database, serves it with a threaded wsgiref server on a free loopback port, and sends
correctly signed requests: form bodies for slash commands, ``payload=`` for interactivity, JSON
for events. Each command gets a ``response_url`` on the fake Web API, so everything the app
sends — ack, follow-up replies, Web API calls — can be asserted on without mocks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.main import build_wsgi
from bot.web import WebApp
from tests.fakes.slack_api import Call, FakeSlack

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
SECRET_KEY = "test-secret-key-0123456789abcdef"


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops SYNs under a burst


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str]
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class CommandResult(HttpResponse):
    response_id: str = ""
    fake: FakeSlack | None = None

    def ack(self) -> dict[str, Any]:
        return self.json() or {}

    def replies(self, count: int = 1, *, timeout: float = 10.0) -> list[Call]:
        """Wait until the app has posted ``count`` follow-ups to this command's response_url."""
        assert self.fake is not None
        return self.fake.wait_response(self.response_id, count, timeout=timeout)

    def reply(self, *, timeout: float = 10.0) -> dict[str, Any]:
        return self.replies(1, timeout=timeout)[0].params


def make_settings(db_url: str, fake: FakeSlack, *, oauth: bool = False, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=db_url, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url,
        secret_key=SECRET_KEY,
        # The in-process queue on both engines (one process; its jobs run on ctx.work, which
        # settle() drains); the procrastinate path has its own tests (tests/jobs/test_queue_pg.py).
        job_queue="local",
    )
    if oauth:
        values.update(slack_client_id="111.222", slack_client_secret="client-secret")
    else:
        values.update(slack_bot_token=BOT_TOKEN)
    values.update(overrides)
    return Settings(**values)


def sign(body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class Harness:
    def __init__(self, settings: Settings, factory: sessionmaker[Session], fake: FakeSlack, *,
                 now: datetime | None = None, listener_threads: int = 8) -> None:
        self.settings = settings
        self.fake = fake
        self.web: WebApp = build_wsgi(settings, factory=factory, listener_threads=listener_threads)
        self.app, self.ctx = self.web.app, self.web.ctx
        if now is not None:
            self.ctx.now = lambda: now
        self._server = make_server("127.0.0.1", 0, self.web, server_class=ThreadingServer,
                                   handler_class=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="harness-http", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def settle(self) -> None:
        """Wait until every listener started so far, and the work it handed on, has finished:
        after this, anything a request was going to do has been done (tests that assert that
        nothing happened use it instead of sleeping)."""
        executor = getattr(self.app.listener_runner, "listener_executor", None)
        if executor is not None and hasattr(executor, "drain"):
            executor.drain()
        self.ctx.work.drain()

    def close(self) -> None:
        self.ctx.work.drain()  # no work of this test may reach the next test's database
        self.ctx.deferred.cancel_all()  # nor a trailing survey count refresh
        self._server.shutdown()
        self._server.server_close()
        executor = getattr(self.app.listener_runner, "listener_executor", None)
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=False)

    # ------------------------------------------------------------------ raw HTTP
    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                *, timeout: float = 30.0) -> HttpResponse:
        req = Request(self.url + path, data=body, method=method, headers=headers or {})
        started = time.perf_counter()
        try:
            with urlopen(req, timeout=timeout) as resp:
                data, status, hdrs = resp.read(), resp.status, dict(resp.headers.items())
        except HTTPError as err:
            data, status, hdrs = err.read(), err.code, dict(err.headers.items())
        return HttpResponse(status, data, hdrs, time.perf_counter() - started)

    def post_signed(self, body: bytes, content_type: str, *, timestamp: int | None = None,
                    signature: str | None = None, extra_headers: dict[str, str] | None = None) -> HttpResponse:
        headers = {"Content-Type": content_type, **sign(body, timestamp)}
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        headers.update(extra_headers or {})
        return self.request("POST", "/slack/events", body, headers)

    # ------------------------------------------------------------------ Slack-shaped requests
    def command(self, command: str, text: str = "", *, user: str = "U1", channel: str = "C1", team: str = "T1",
                channel_name: str = "general", timestamp: int | None = None, signature: str | None = None) -> CommandResult:
        response_id = uuid.uuid4().hex[:12]
        form = {
            "token": "legacy", "team_id": team, "team_domain": team.lower(), "channel_id": channel,
            "channel_name": channel_name, "user_id": user, "user_name": user.lower(), "command": command,
            "text": text, "api_app_id": "A1", "is_enterprise_install": "false",
            "response_url": self.fake.response_url(response_id), "trigger_id": f"trig.{response_id}",
        }
        resp = self.post_signed(urlencode(form).encode(), "application/x-www-form-urlencoded",
                                timestamp=timestamp, signature=signature)
        return CommandResult(resp.status, resp.body, resp.headers, resp.elapsed, response_id, self.fake)

    def pmf(self, text: str = "", **kwargs: Any) -> CommandResult:
        return self.command("/pmf-check", text, **kwargs)

    def block_action(self, action_id: str, value: str = "", *, user: str = "U1", team: str = "T1",
                     container: dict[str, Any] | None = None, response_url: str | None = None,
                     channel: str | None = None, message: dict[str, Any] | None = None) -> HttpResponse:
        payload: dict[str, Any] = {
            "type": "block_actions", "team": {"id": team, "domain": team.lower()},
            "user": {"id": user, "team_id": team}, "api_app_id": "A1", "token": "legacy",
            "trigger_id": f"trig.{uuid.uuid4().hex[:8]}", "container": container or {"type": "view", "view_id": "V1"},
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                         "action_ts": str(time.time())}],
        }
        if response_url:
            payload["response_url"] = response_url
        if channel:
            payload["channel"] = {"id": channel, "name": channel.lower()}
        if message:
            payload["message"] = message
        return self.post_signed(urlencode({"payload": json.dumps(payload)}).encode(),
                                "application/x-www-form-urlencoded")

    def view_submission(self, callback_id: str, values: dict[str, Any], *, user: str = "U1", team: str = "T1",
                        private_metadata: str = "") -> HttpResponse:
        payload = {
            "type": "view_submission", "team": {"id": team}, "user": {"id": user, "team_id": team},
            "api_app_id": "A1", "trigger_id": "trig.view",
            "view": {"id": "V1", "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
                     "state": {"values": values}},
        }
        return self.post_signed(urlencode({"payload": json.dumps(payload)}).encode(),
                                "application/x-www-form-urlencoded")

    def event(self, event: dict[str, Any], *, team: str = "T1", event_id: str | None = None,
              retry_num: int | None = None) -> HttpResponse:
        body = {
            "token": "legacy", "team_id": team, "api_app_id": "A1", "event": event, "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}", "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": self.fake.bot_user_id, "is_bot": True,
                                "is_enterprise_install": False}],
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post_signed(json.dumps(body).encode(), "application/json", extra_headers=headers)

    def url_verification(self, challenge: str = "abc") -> HttpResponse:
        body = json.dumps({"token": "legacy", "challenge": challenge, "type": "url_verification"}).encode()
        return self.post_signed(body, "application/json")

    def wait(self, predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition") -> Any:
        return self.fake.wait_for(predicate, timeout=timeout, what=what)
