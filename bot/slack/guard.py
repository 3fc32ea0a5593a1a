"""What a request to ``/slack/events`` must look like before anything acts on it (SPEC §7,
issue 10): the signature headers' shapes (slack_sdk's verifier does ``int(timestamp)`` and raises
on ``abc`` or ``1e9``), the signature itself, and, once it is verified, the parsed payload: Slack
ids of Slack's shape, no NUL byte or lone surrogate anywhere, a ``type`` where one is needed.
Pure: no I/O, no database, no Bolt."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.signature import SignatureVerifier

MAX_SLACK_BODY_BYTES = 1024 * 1024  # Slack's own payloads are far smaller
# Team (T…), enterprise (E…), user (U…/W…), channel (C…/G…/D…) ids: upper-case letters and
# digits. Slack has lengthened ids before, hence 20 (the columns hold 32).
SLACK_ID = re.compile(r"^[A-Z0-9]{1,20}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
_MAX_DEPTH = 64  # Slack's payloads nest a dozen levels; deeper is not Slack
# A refused command's answer, shown only to whoever typed it.
REFUSED_TEXT = ("PMF Gate could not use this request ({why}), so nothing was done. "
                "If you did not expect this, try again from Slack.")


class Refused(ValueError):
    """A signed payload the app cannot use: said politely, nothing acts on it."""


def headers_ok(timestamp: str | None, signature: str | None) -> bool:
    """The two signature headers have Slack's shape (a Unix time in seconds, ``v0=`` + hex)."""
    return bool(timestamp and signature and _TIMESTAMP.match(timestamp) and _SIGNATURE.match(signature))


def is_verified(secret: str, body: str | bytes, timestamp: str | None, signature: str | None) -> bool:
    """Whether the request is signed with ``secret`` and recent; never raises."""
    if not secret or not headers_ok(timestamp, signature):
        return False
    try:
        return SignatureVerifier(secret).is_valid(body=body, timestamp=str(timestamp), signature=str(signature))
    except (ValueError, TypeError):
        return False


def header(headers: Mapping[str, Any], name: str) -> str | None:
    """A header from Bolt's ``{name: [values]}`` or a plain mapping, case-insensitively."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            if isinstance(value, list | tuple):
                return str(value[0]) if value else None
            return str(value)
    return None


def parse(body: str, content_type: str | None) -> dict[str, Any]:
    """The payload as Bolt will read it (``slack_bolt.request.internals.parse_body``), or
    ``Refused``: bad JSON, too deep, not an object."""
    try:
        if not body:
            return {}
        if (content_type or "").split(";")[0].strip() == "application/json" or body.startswith("{"):
            value: Any = json.loads(body)
        else:
            params = dict(parse_qsl(body, keep_blank_values=True))
            value = json.loads(params["payload"]) if "payload" in params else params
    except (ValueError, RecursionError) as err:
        raise Refused("the payload is not valid JSON") from err
    if not isinstance(value, dict):
        raise Refused("the payload is not a JSON object")
    return value


def _scan(value: Any, depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        raise Refused("the payload nests too deeply")
    if isinstance(value, str):
        if "\x00" in value:
            raise Refused("the payload contains a NUL byte")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            raise Refused("the payload contains text that is not valid Unicode") from err
    elif isinstance(value, dict):
        for k, v in value.items():
            _scan(k, depth + 1)
            _scan(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _scan(v, depth + 1)


def _id(value: Any, what: str, *, required: bool) -> None:
    if value is None or value == "":
        if required:
            raise Refused(f"the payload has no {what}")
        return
    if not isinstance(value, str) or not SLACK_ID.match(value):
        raise Refused(f"the payload's {what} is not a Slack id")


def _nested(body: dict[str, Any], key: str) -> Any:
    inner = body.get(key)
    return inner.get("id") if isinstance(inner, dict) else None


def check_payload(body: dict[str, Any]) -> None:
    """Refuse a verified payload that no listener can use safely (``Refused`` says why)."""
    _scan(body)
    kind = body.get("type")
    if "command" in body:  # a slash command (form fields)
        _id(body.get("team_id"), "team id", required=True)
        _id(body.get("user_id"), "user id", required=True)
        _id(body.get("channel_id"), "channel id", required=False)
        return
    if body.get("ssl_check") or kind == "url_verification":
        return
    if not isinstance(kind, str) or not kind:
        raise Refused("the payload has no type")
    if kind == "event_callback":
        _id(body.get("team_id"), "team id", required=True)
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise Refused("the event has no type")
        for key in ("user", "channel"):
            if isinstance(event.get(key), str):
                _id(event[key], f"event {key}", required=False)
        return
    if kind in ("block_actions", "view_submission", "view_closed", "shortcut", "message_action",
                "block_suggestion", "interactive_message", "dialog_submission"):
        _id(_nested(body, "team"), "team id", required=True)
        _id(_nested(body, "user"), "user id", required=True)
        _id(_nested(body, "channel"), "channel id", required=False)
        if kind in ("view_submission", "view_closed"):
            view = body.get("view")
            if not isinstance(view, dict) or not isinstance(view.get("type"), str):
                raise Refused("the view has no type")
            if not isinstance(view.get("private_metadata", ""), str):
                raise Refused("the view's private_metadata is not text")
        if kind == "block_actions":
            actions = body.get("actions")
            if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
                raise Refused("the payload's actions are not a list of actions")
