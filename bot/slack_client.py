"""Every Slack WebClient the app makes comes from here: it honours ``SLACK_API_URL`` and has
slack_sdk's retry handlers for connection errors, rate limits (429 + Retry-After) and 5xx.

Retrying a *post* after a server error or timeout can double it (Slack has no idempotency key);
callers that post messages which must not double reconcile first (message metadata names the
delivery) — see ``bot.jobs``.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.config import Settings


def retry_handlers(max_retries: int = 3) -> list:  # type: ignore[type-arg]
    return [
        ConnectionErrorRetryHandler(max_retry_count=max_retries),
        RateLimitErrorRetryHandler(max_retry_count=max_retries),
        ServerErrorRetryHandler(max_retry_count=max_retries),
    ]


def make_client(settings: Settings, token: str | None = None, *, timeout: int = 15) -> WebClient:
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=timeout)
    client.retry_handlers = retry_handlers()
    return client
