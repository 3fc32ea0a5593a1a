"""Replies through a command's or an interaction's ``response_url``, with retries.

Bolt's ``respond()`` posts once with no retry handlers; ours retries like every WebClient the
app makes (``bot.slack.retry.IDEMPOTENT``), raises when Slack refuses the reply (so the error
handler hears about it instead of the reply silently vanishing), and by default makes its first
reply replace the "Checking…" placeholder that the ack showed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_sdk.webhook import WebhookClient

from bot.slack import retry

log = logging.getLogger(__name__)


class ResponseUrlError(RuntimeError):
    """Slack did not accept a reply on the response_url (expired, used up, bad payload)."""


class Responder:
    """Callable like Bolt's ``respond``: ``respond(text)`` or ``respond(**message)`` where
    ``message`` is a ``{"text", "blocks"}`` dict from ``bot.render.blocks``."""

    def __init__(self, response_url: str | None, *, replace_first: bool = False, timeout: int = 10,
                 max_retries: int | None = None) -> None:
        self.response_url = response_url
        self._max_retries = max_retries  # None: retry.IDEMPOTENT's
        self._replace_next = replace_first
        self._timeout = timeout
        self.sent = 0

    def __call__(self, text: str = "", blocks: list[dict[str, Any]] | None = None, *,
                 response_type: str = "ephemeral", replace_original: bool | None = None,
                 delete_original: bool | None = None, **extra: Any) -> None:
        if not self.response_url:
            raise ResponseUrlError("this request has no response_url to reply to")
        body: dict[str, Any] = {"text": text, "response_type": response_type, **extra}
        if blocks is not None:
            body["blocks"] = blocks
        if replace_original is None and self._replace_next:
            replace_original = True
        self._replace_next = False
        if replace_original is not None:
            body["replace_original"] = replace_original
        if delete_original is not None:
            body["delete_original"] = delete_original
        resp = self.client(self.response_url).send_dict(body)
        if resp.status_code != 200:
            raise ResponseUrlError(f"response_url answered HTTP {resp.status_code}: {resp.body[:200]}")
        self.sent += 1

    def client(self, url: str) -> WebhookClient:
        """The response_url client: ``retry.IDEMPOTENT``'s retries, ``max_retries`` times if given."""
        policy = retry.IDEMPOTENT if self._max_retries is None else replace(retry.IDEMPOTENT, retries=self._max_retries)
        return WebhookClient(url=url, timeout=self._timeout, retry_handlers=policy.handlers())
