"""Single-workspace authorization that never waits on Slack (issue 10).

Bolt's own single-team authorization calls ``auth.test`` on the first request, before the ack,
and keeps calling it on every request while it fails: a slow Slack delays every ack and an
unreachable one turns every command into a 500. ``BotIdentity`` is Bolt's ``authorize`` instead:
it answers at once with the bot token and whatever it already knows of the bot (user id, bot id),
and learns that with ``auth.test`` on a background thread — one at a time, cached once it
succeeds, and after a failure not tried again for ``retry_after`` seconds
(``bot.slack.retry.AUTH_TEST_RETRY_SECONDS``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot.slack import retry

log = logging.getLogger(__name__)


class BotIdentity:
    """Bolt's ``authorize`` for one workspace and one bot token."""

    def __init__(self, client: WebClient, *, retry_after: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._retry_after = retry.AUTH_TEST_RETRY_SECONDS if retry_after is None else retry_after
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, Any] | None = None
        self._failed_at: float | None = None
        self._running: threading.Thread | None = None

    @property
    def known(self) -> dict[str, Any] | None:
        """What ``auth.test`` said (``user_id``, ``bot_id``, ``team_id``), once it has answered."""
        return self._known

    @property
    def failing(self) -> bool:
        """The last ``auth.test`` failed (recently: within ``retry_after``)."""
        return self._failed_at is not None and self._known is None

    def authorize_function(self) -> Callable[..., AuthorizeResult]:
        """A plain function for ``App(authorize=...)`` (Bolt passes arguments by parameter name,
        and would pass ``self`` too)."""

        def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
            return self(enterprise_id, team_id, user_id)

        return authorize

    def __call__(self, enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        self._refresh()
        known = self._known or {}
        return AuthorizeResult(
            enterprise_id=enterprise_id or known.get("enterprise_id"),
            team_id=team_id or known.get("team_id"),
            bot_token=self._client.token, bot_id=known.get("bot_id"), bot_user_id=known.get("user_id"),
            user_id=user_id,
        )

    def _refresh(self) -> None:
        with self._lock:
            if self._known is not None or (self._running is not None and self._running.is_alive()):
                return
            if self._failed_at is not None and self._clock() - self._failed_at < self._retry_after:
                return
            self._running = threading.Thread(target=self._auth_test, name="auth-test", daemon=True)
            self._running.start()

    def _auth_test(self) -> None:
        try:
            response = self._client.auth_test()
            known = {k: response.get(k) for k in ("user_id", "bot_id", "team_id", "enterprise_id")}
        except Exception as err:  # noqa: BLE001 - any failure is cached and retried later
            log.warning("auth.test failed (%s); the bot's own ids stay unknown for %.0f s",
                        type(err).__name__, self._retry_after)
            with self._lock:
                self._failed_at = self._clock()
            return
        with self._lock:
            self._known = known
            self._failed_at = None
