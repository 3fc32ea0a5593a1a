"""Every Slack WebClient the app makes comes from here: it honours ``SLACK_API_URL`` and has
slack_sdk's retry handlers for connection errors, rate limits (429 + Retry-After) and 5xx.

Retrying a *post* after a server error or timeout can double it (Slack has no idempotency key);
callers that post messages which must not double reconcile first (message metadata names the
delivery) — see ``bot.digests.runner``.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.config import Settings


def retry_handlers(max_retries: int = 3, *, rate_limits: bool = True, server_errors: bool = True,
                   connection_errors: bool = True) -> list[Any]:
    handlers: list[Any] = []
    if connection_errors:
        handlers.append(ConnectionErrorRetryHandler(max_retry_count=max_retries))
    if rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=max_retries))
    if server_errors:
        handlers.append(ServerErrorRetryHandler(max_retry_count=max_retries))
    return handlers


def with_retries(client: Any, *, rate_limits: bool = True, server_errors: bool = True,
                 connection_errors: bool = True) -> Any:
    """A copy of ``client`` (same token, URL, timeout, headers and default params) whose retry
    handlers are exactly the ones asked for. Posts that must not double drop the 5xx and
    connection retries and reconcile instead (a 5xx or a dropped connection may come after
    Slack processed the post); listener-thread calls drop the 429 retry so a Retry-After never
    holds a thread that acks other requests. Test doubles that are not WebClients pass through."""
    if not isinstance(client, WebClient):
        return client
    copy = WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl,
                     proxy=client.proxy, headers=dict(client.headers or {}), logger=client.logger,
                     retry_handlers=retry_handlers(rate_limits=rate_limits, server_errors=server_errors,
                                                   connection_errors=connection_errors))
    copy.default_params = dict(client.default_params)  # e.g. Bolt's team_id for org-wide installs
    return copy


def make_client(settings: Settings, token: str | None = None, *, timeout: int = 15) -> WebClient:
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=timeout)
    client.retry_handlers = retry_handlers()
    return client
