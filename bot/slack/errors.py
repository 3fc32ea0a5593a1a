"""What a failed Slack call means, decided in one place: its error code (``error_code``), how
to handle it (``classify``: ambiguous, retry, permanent, pause) and how long Slack asked us to
wait (``retry_after``). Every feature asks here instead of unpacking ``SlackApiError`` itself."""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass
from typing import Literal
from urllib.error import URLError

from slack_sdk.errors import SlackApiError, SlackRequestError

# The app lost access to the workspace or the channel for good: pause at once.
PAUSE_NOW_ERRORS = frozenset({
    "is_archived", "account_inactive", "token_revoked", "invalid_auth", "not_authed", "not_installed",
    "team_access_not_granted", "ekm_access_denied", "org_login_required", "team_not_found",
})
# Errors after which the app cannot message the workspace at all (so no DM either).
NO_ACCESS_ERRORS = frozenset({"account_inactive", "token_revoked", "invalid_auth", "not_authed", "not_installed",
                              "team_access_not_granted", "org_login_required", "team_not_found"})
# ``ok: false`` answers that mean Slack itself failed: the post may or may not have happened.
AMBIGUOUS_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


@dataclass(frozen=True)
class SlackOutcome:
    """How a failed Slack call is handled. ``ambiguous``: the request may have been processed
    (reconcile before repeating a post); ``retry``: it was not (rate limited), try later;
    ``permanent``: it will fail again until someone acts; ``pause``: and the subscription stops."""

    kind: Literal["ambiguous", "retry", "permanent", "pause"]
    error: str
    retry_after: float | None = None


class PermanentSlackError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def error_code(err: BaseException) -> str:
    if isinstance(err, SlackApiError):
        data = err.response.data if isinstance(err.response.data, dict) else {}
        return str(data.get("error") or f"http_{err.response.status_code}")
    if isinstance(err, PermanentSlackError):
        return err.code
    return type(err).__name__


def classify(err: BaseException) -> SlackOutcome:
    code = error_code(err)
    if isinstance(err, PermanentSlackError):
        return SlackOutcome("pause" if code in PAUSE_NOW_ERRORS else "permanent", code)
    if isinstance(err, SlackApiError):
        status = err.response.status_code
        if status == 429 or code == "ratelimited":
            return SlackOutcome("retry", "ratelimited", _retry_after_header(err))
        if status >= 500 or code in AMBIGUOUS_ERRORS:
            return SlackOutcome("ambiguous", code if code in AMBIGUOUS_ERRORS else f"http_{status}")
        if code in PAUSE_NOW_ERRORS:
            return SlackOutcome("pause", code)
        # HTTP 200 with ok=false: Slack refused the request and did nothing.
        return SlackOutcome("permanent", code)
    if isinstance(err, TimeoutError | socket.timeout | http.client.HTTPException | ConnectionError | URLError
                  | SlackRequestError | OSError):
        # The request may have reached Slack before the connection failed.
        return SlackOutcome("ambiguous", code)
    return SlackOutcome("ambiguous", code)


def retry_after(err: BaseException, default: float = 1.0) -> float:
    """The seconds of a 429's ``Retry-After`` header (``default`` when absent or unreadable)."""
    after = _retry_after_header(err)
    return default if after is None else after


def _retry_after_header(err: BaseException) -> float | None:
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None) or {}
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(raw[0] if isinstance(raw, list) else raw) if raw else None
    except ValueError:
        return None
