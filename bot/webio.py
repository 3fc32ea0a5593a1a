"""Reading request bodies within a limit, and the gate in front of Bolt on ``/slack/events``.

``read_body`` never reads more than ``limit + 1`` bytes off the wire: a declared
``Content-Length`` over the limit is refused before reading, and a chunked body (no length, de-chunked
by the server: ``wsgi.input_terminated``) is read up to the limit. ``slack_gate`` refuses, before
Bolt sees the request, anything that is not a verified, usable Slack payload: malformed signature
headers or a bad signature (401, nothing acts: slack_sdk's verifier would raise on them and Bolt
would hand the unverified body to the error handler), an oversized body (413), and a signed
payload no listener can use (a polite ephemeral answer to a command, else 400).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot.slack import guard

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Problem = tuple[str, str]  # (HTTP status line, message)
REFUSED_TEXT = guard.REFUSED_TEXT


def read_body(environ: dict[str, Any], limit: int) -> tuple[bytes, Problem | None]:
    """The raw body, or why not (411/413/400), never reading more than ``limit + 1`` bytes."""
    stream = environ["wsgi.input"]
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if declared:
        if not declared.isdigit():
            return b"", ("400 Bad Request", "Content-Length is not a number")
        length = int(declared)
        if length > limit:
            return b"", ("413 Payload Too Large", f"body of {length:,} bytes; at most {limit:,}")
        raw = stream.read(length) if length else b""
    elif environ.get("wsgi.input_terminated"):  # chunked, de-chunked by the server (gunicorn)
        raw = _read_upto(stream, limit + 1)
    else:
        raw = b""
    if len(raw) > limit:
        return b"", ("413 Payload Too Large", f"body over {limit:,} bytes")
    return raw, None


def _read_upto(stream: Any, most: int) -> bytes:
    parts: list[bytes] = []
    left = most
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _answer(start_response: StartResponse, status: str, payload: dict[str, Any]) -> Iterable[bytes]:
    body = json.dumps(payload).encode("utf-8")
    start_response(status, [("Content-Type", "application/json; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
    return [body]


def slack_gate(environ: dict[str, Any], start_response: StartResponse,
               signing_secret: str) -> Iterable[bytes] | None:
    """Refuse a ``POST /slack/events`` that must not reach Bolt (its answer), or None after
    putting the body it read back into ``environ`` for Bolt."""
    raw, problem = read_body(environ, guard.MAX_SLACK_BODY_BYTES)
    if problem is not None:
        return _answer(start_response, problem[0], {"ok": False, "error": problem[1]})
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    if not guard.is_verified(signing_secret, raw, timestamp, signature):
        log.debug("refused an unverified request to /slack/events (timestamp=%r)", (timestamp or "")[:20])
        return _answer(start_response, "401 Unauthorized", {"ok": False, "error": "invalid request"})
    body: dict[str, Any] = {}
    try:
        text = raw.decode("utf-8")
        body = guard.parse(text, environ.get("CONTENT_TYPE"))
        guard.check_payload(body)
    except (UnicodeDecodeError, guard.Refused) as err:
        why = str(err) if isinstance(err, guard.Refused) else "the payload is not UTF-8"
        log.info("refused a signed Slack payload: %s", why)
        if "command" in body:
            # A slash command's answer is shown to whoever typed it, and only to them.
            return _answer(start_response, "200 OK",
                           {"response_type": "ephemeral", "text": REFUSED_TEXT.format(why=why)})
        return _answer(start_response, "400 Bad Request", {"ok": False, "error": why})
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    return None
