"""A fake Slack Web API: a real HTTP server on 127.0.0.1 (free port, own thread) that records
every call and answers like Slack for the methods PMF Gate uses.

Point ``SLACK_API_URL`` at ``fake.api_url`` and a command's ``response_url`` at
``fake.response_url()``; then assert on ``fake.calls``. Modelled on bolt-python's
``tests/mock_web_api_server`` but stateful (channels, members, posted messages, uploaded files),
so tests read like what a person would see. Faults are scripted per method for the next N calls:
``fail(method, status=429, retry_after=1)``, ``fail(method, status=500)``,
``fail(method, error="channel_not_found")`` and ``delay(method, seconds)`` (a timeout, from the
client's side). Waiting is by polling the recorded calls with a deadline, never by sleeping.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a burst of parallel clients would see SYNs
    # dropped and retried a second or more later, which is the fake's delay, not the app's.
    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out on purpose (``delay``) hangs up before the answer: not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Call:
    method: str  # Web API method ("chat.postMessage"), "upload" or "response"
    params: dict[str, Any]
    token: str | None
    path: str
    at: float = field(default_factory=time.monotonic)
    body: bytes = b""
    status: int = 200  # what the fake answered

    def json_param(self, name: str) -> Any:
        value = self.params.get(name)
        return json.loads(value) if isinstance(value, str) else value


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    times: int = 1
    applied: bool = False  # the call takes effect, and only then is the failure answered
    when: Callable[[dict[str, Any]], bool] | None = None  # only calls whose params match


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = False
    is_im: bool = False
    is_archived: bool = False
    user: str | None = None  # for IMs


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}  # user id -> last published home view
        self.team_id = "T1"
        self.bot_user_id = "UBOT"
        self.bot_id = "BBOT"
        self.socket_mode_url: str | None = None  # what apps.connections.open hands out, when set
        # OAuth: what oauth.v2.access answers (code exchange and token refresh).
        self.oauth_installs: dict[str, dict[str, Any]] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-slack", daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, response_id: str | None = None) -> str:
        return f"{self.url}/response/{response_id or uuid.uuid4().hex[:12]}"

    # ------------------------------------------------------------------ scripting
    def add_channel(self, channel_id: str, name: str | None = None, *, private: bool = False, member: bool = False,
                    im: bool = False, archived: bool = False, user: str | None = None) -> Channel:
        with self._lock:
            ch = Channel(channel_id, name or channel_id.lower(), private, member, im, archived, user)
            self.channels[channel_id] = ch
            return ch

    def add_user(self, user_id: str, *, tz: str = "Europe/Berlin", name: str | None = None, admin: bool = False,
                 owner: bool = False, email: str | None = None) -> None:
        with self._lock:
            self.users[user_id] = {"id": user_id, "name": name or user_id.lower(), "tz": tz,
                                   "real_name": name or user_id, "is_bot": False, "is_admin": admin,
                                   "is_owner": owner, "is_primary_owner": False,
                                   **({"profile": {"email": email}} if email else {})}

    def fail(self, method: str, *, times: int = 1, status: int | None = None, error: str | None = None,
             retry_after: int | None = None, applied: bool = False,
             when: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """The next ``times`` calls of ``method`` answer HTTP ``status`` (429 adds Retry-After) or
        ``{"ok": false, "error": error}``. ``applied=True``: the call takes effect first (a 5xx
        that Slack sends after it posted: the caller cannot know). ``when``: only calls whose
        params it accepts (e.g. the post in a thread, not the one before it)."""
        if status is None:
            status = 429 if retry_after is not None else 200
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._faults.setdefault(method, []).append(Fault(status, error, retry_after, 0.0, times, applied, when))

    def delay(self, method: str, seconds: float, *, times: int = 1,
              when: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """The next ``times`` calls of ``method`` (whose params ``when`` accepts) are processed,
        then answered after ``seconds``: a client with a shorter timeout sees a timeout although
        the effect happened."""
        with self._lock:
            self._faults.setdefault(method, []).append(Fault(delay=seconds, times=times, when=when))

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            fault = next((f for f in queue or [] if f.when is None or f.when(params)), None)
            if fault is None:
                return None
            fault.times -= 1
            if fault.times <= 0:
                queue.remove(fault)  # type: ignore[union-attr]
            return fault

    # ------------------------------------------------------------------ reading
    def calls_to(self, method: str, **where: Any) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200
                    and all(c.params.get(k) == v for k, v in where.items())]

    def attempts(self, method: str) -> list[Call]:
        """Every call of ``method`` including the ones the fake failed."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def responses(self, response_id: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == "response" and c.status == 200
                    and (response_id is None or c.path.rsplit("/", 1)[-1] == response_id)]

    def wait_for(self, predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition") -> Any:
        """Poll ``predicate`` (re-checked whenever a call arrives) until truthy; its value."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [c.method for c in self.calls]
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}; calls so far: {methods}")
                self._changed.wait(min(left, 0.05))

    def wait_calls(self, method: str, count: int = 1, *, timeout: float = 10.0, **where: Any) -> list[Call]:
        return self.wait_for(lambda: (calls := self.calls_to(method, **where)) and len(calls) >= count and calls,
                             timeout=timeout, what=f"{count} x {method} {where or ''}")

    def wait_response(self, response_id: str, count: int = 1, *, timeout: float = 10.0) -> list[Call]:
        return self.wait_for(lambda: (r := self.responses(response_id)) and len(r) >= count and r,
                             timeout=timeout, what=f"{count} response(s) to {response_id}")

    def uploaded_png(self, channel_id: str) -> list[bytes]:
        with self._lock:
            return [f["content"] for f in self.files.values()
                    if f.get("channel_id") == channel_id and f.get("content", b"").startswith(PNG_MAGIC)]

    # ------------------------------------------------------------------ HTTP
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                self._handle()

            def do_POST(self) -> None:  # noqa: N802
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = fake._dispatch(self.command, self.path, dict(self.headers.items()), body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _dispatch(self, verb: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        parsed = urlparse(path)
        params: dict[str, Any] = dict(parse_qsl(parsed.query))
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if parsed.path.startswith("/upload/"):
            method = "upload"
        elif parsed.path.startswith("/response/"):
            method = "response"
            if body:
                params.update(json.loads(body))
        else:
            method = parsed.path.removeprefix("/api/").strip("/")
            if "json" in ctype and body:
                params.update(json.loads(body))
            elif body:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        token = auth.removeprefix("Bearer ").strip() or params.pop("token", None)
        call = Call(method=method, params=params, token=token or None, path=parsed.path, body=body)
        fault = self._take_fault(method, params)
        if fault and fault.status != 200:
            call.status = fault.status
            if fault.applied:
                with self._lock:
                    self._answer(method, call)
            self._record(call)
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return fault.status, extra, {"ok": False, "error": "ratelimited" if fault.status == 429 else "fatal_error"}
        if fault and fault.error:
            self._record(call)
            return 200, {}, {"ok": False, "error": fault.error}
        with self._lock:
            answer = self._answer(method, call)
        self._record(call)
        if fault and fault.delay:
            time.sleep(fault.delay)
        return 200, {}, answer

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # ------------------------------------------------------------------ Slack's answers
    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.{next(self._ids):06d}"

    def _channel(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)

    def _answer(self, method: str, call: Call) -> Any:  # noqa: C901 - one branch per Slack method
        p = call.params
        if method == "upload":
            file_id = call.path.rsplit("/", 1)[-1]
            self.files.setdefault(file_id, {})["content"] = call.body
            return b"OK - " + str(len(call.body)).encode()
        if method == "response":
            return b"ok"
        if method == "auth.test":
            return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "pmf-gate",
                    "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                    "is_enterprise_install": False}
        if method == "chat.postMessage":
            channel_id = p.get("channel", "")
            ch = self._channel(channel_id)
            if ch is None and channel_id.startswith("U"):
                ch = self._open_im(channel_id)
            if ch is None:
                return {"ok": False, "error": "channel_not_found"}
            if ch.is_archived:
                return {"ok": False, "error": "is_archived"}
            if not (ch.is_member or ch.is_im):
                return {"ok": False, "error": "not_in_channel"}
            ts = self._next_ts()
            message = {"type": "message", "ts": ts, "text": p.get("text", ""), "user": self.bot_user_id,
                       "bot_id": self.bot_id, "blocks": call.json_param("blocks") or []}
            if p.get("metadata"):
                message["metadata"] = call.json_param("metadata")
            if p.get("thread_ts"):
                message["thread_ts"] = p["thread_ts"]
            self.messages.setdefault(ch.id, []).append(message)
            return {"ok": True, "channel": ch.id, "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.update":
            for m in self.messages.get(p.get("channel", ""), []):
                if m["ts"] == p.get("ts"):
                    m["text"] = p.get("text", m["text"])
                    return {"ok": True, "channel": p["channel"], "ts": m["ts"]}
            return {"ok": False, "error": "message_not_found"}
        if method == "chat.getPermalink":
            return {"ok": True, "permalink": f"https://fake.slack.com/archives/{p.get('channel')}/p{p.get('message_ts')}"}
        if method == "conversations.info":
            ch = self._channel(p.get("channel", ""))
            if ch is None or (ch.is_private and not ch.is_member):
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "channel": {"id": ch.id, "name": ch.name, "is_private": ch.is_private,
                                            "is_member": ch.is_member, "is_im": ch.is_im, "is_channel": not ch.is_im,
                                            "is_archived": ch.is_archived, "user": ch.user,
                                            **({"num_members": len(self.users)}
                                               if str(p.get("include_num_members")).lower() in ("1", "true") else {})}}
        if method == "conversations.join":
            ch = self._channel(p.get("channel", ""))
            if ch is None:
                return {"ok": False, "error": "channel_not_found"}
            if ch.is_private:
                return {"ok": False, "error": "method_not_supported_for_channel_type"}
            if ch.is_archived:
                return {"ok": False, "error": "is_archived"}
            ch.is_member = True
            return {"ok": True, "channel": {"id": ch.id, "name": ch.name}}
        if method == "conversations.open":
            users = p.get("users", "")
            return {"ok": True, "channel": {"id": self._open_im(users.split(",")[0]).id}}
        if method == "conversations.members":
            return {"ok": True, "members": sorted(self.users), "response_metadata": {"next_cursor": ""}}
        if method == "conversations.history":
            msgs = list(reversed(self.messages.get(p.get("channel", ""), [])))
            if str(p.get("include_all_metadata")) not in ("1", "true", "True"):
                msgs = [{k: v for k, v in m.items() if k != "metadata"} for m in msgs]
            return {"ok": True, "messages": msgs[: int(p.get("limit", 100))], "has_more": False}
        if method == "conversations.replies":
            # A thread: its parent and replies, oldest first (as Slack returns them). Like
            # history here, ``oldest`` is not applied: the fake's ts do not follow the tests' clocks.
            root = p.get("ts", "")
            msgs = [m for m in self.messages.get(p.get("channel", ""), [])
                    if m["ts"] == root or m.get("thread_ts") == root]
            if not any(m["ts"] == root for m in self.messages.get(p.get("channel", ""), [])):
                return {"ok": False, "error": "thread_not_found"}
            if str(p.get("include_all_metadata")) not in ("1", "true", "True"):
                msgs = [{k: v for k, v in m.items() if k != "metadata"} for m in msgs]
            return {"ok": True, "messages": msgs[: int(p.get("limit", 100))], "has_more": False}
        if method == "users.info":
            user = self.users.get(p.get("user", ""))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": user}
        if method == "views.publish":
            view = call.json_param("view")
            self.views[p.get("user_id", "")] = view
            return {"ok": True, "view": {"id": f"V{next(self._ids)}", **(view or {})}}
        if method in ("views.open", "views.update", "views.push"):
            return {"ok": True, "view": {"id": f"V{next(self._ids)}", **(call.json_param("view") or {})}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):08d}"
            self.files[file_id] = {"id": file_id, "filename": p.get("filename"), "length": int(p.get("length", 0))}
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = call.json_param("files") or []
            channel_id = p.get("channel_id")
            if channel_id:
                ch = self._channel(channel_id)
                if ch is None:
                    return {"ok": False, "error": "channel_not_found"}
                if not (ch.is_member or ch.is_im):
                    return {"ok": False, "error": "not_in_channel"}
            out = []
            for f in files:
                stored = self.files.get(f["id"])
                if stored is None or "content" not in stored:
                    return {"ok": False, "error": "file_not_found"}
                stored.update({"title": f.get("title"), "channel_id": channel_id,
                               "initial_comment": p.get("initial_comment"), "thread_ts": p.get("thread_ts")})
                out.append({"id": f["id"], "title": f.get("title"),
                            "permalink": f"https://fake.slack.com/files/{self.bot_user_id}/{f['id']}"})
            return {"ok": True, "files": out}
        if method == "oauth.v2.access":
            return self._oauth_access(p)
        if method == "apps.connections.open":
            if self.socket_mode_url:  # tests/fakes/socket_mode.py
                return {"ok": True, "url": self.socket_mode_url}
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": False, "error": "unknown_method"}

    def _open_im(self, user_id: str) -> Channel:
        for ch in self.channels.values():
            if ch.is_im and ch.user == user_id:
                return ch
        return self.add_channel("D" + user_id, f"dm-{user_id}", im=True, member=True, user=user_id)

    def _oauth_access(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("grant_type") == "refresh_token":
            n = next(self._ids)
            return {"ok": True, "token_type": "bot", "access_token": f"xoxe.xoxb-1-rotated-{n}",
                    "refresh_token": f"xoxe-1-refresh-{n}", "expires_in": 43200, "team": {"id": self.team_id}}
        install = self.oauth_installs.get(p.get("code", ""))
        if install is None:
            return {"ok": False, "error": "invalid_code"}
        return install


def text_of(message: dict[str, Any]) -> str:
    """Everything a person reads in a message: fallback text and every block's text."""
    parts = [message.get("text") or ""]
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    for block in blocks:
        t = block.get("text")
        if isinstance(t, dict):
            parts.append(t.get("text", ""))
        for el in block.get("elements") or []:
            if isinstance(el, dict) and isinstance(el.get("text"), str):
                parts.append(el["text"])
            elif isinstance(el, dict) and isinstance(el.get("text"), dict):
                parts.append(el["text"].get("text", ""))
    return "\n".join(parts)
