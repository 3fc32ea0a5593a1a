"""Every Slack WebClient the app makes comes from here: it honours ``SLACK_API_URL`` and carries
the retry handlers of ``bot.slack.retry`` (the one retry policy): ``IDEMPOTENT`` by default, and
copies with another policy for posts (``NON_IDEMPOTENT``) and listener threads (``LISTENER``).
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.slack import retry


def with_retries(client: Any, policy: retry.CallRetries) -> Any:
    """A copy of ``client`` (same token, URL, timeout, headers and default params) whose retry
    handlers are ``policy``'s. Test doubles that are not WebClients pass through."""
    if not isinstance(client, WebClient):
        return client
    copy = WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl,
                     proxy=client.proxy, headers=dict(client.headers or {}), logger=client.logger,
                     retry_handlers=policy.handlers())
    copy.default_params = dict(client.default_params)  # e.g. Bolt's team_id for org-wide installs
    return copy


def make_client(settings: Settings, token: str | None = None, *, timeout: int = 15) -> WebClient:
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=timeout)
    client.retry_handlers = retry.IDEMPOTENT.handlers()
    return client
