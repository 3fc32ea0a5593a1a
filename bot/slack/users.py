"""What we ask Slack about people: a respondent's email address (``users.info``, scope
``users:read.email``), cached per process on the ``AppContext`` so a survey drawing hundreds of
answers costs one call per person, not per click (users.info is Tier 4). The address is only held
in memory, for as long as the cache keeps it, to be hashed (``bot.domain.matching``)."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.errors import error_code

log = logging.getLogger(__name__)


class UserEmails:
    """(team, user) → email address or None (a bot, no address, no scope), for ``ttl`` seconds,
    at most ``size`` people (least recently used go first)."""

    def __init__(self, size: int = 10_000, ttl: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.ttl, self._clock = size, ttl, clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], tuple[float, str | None]] = OrderedDict()

    def email(self, client: WebClient, team_id: str, user_id: str) -> str | None:
        key = (team_id, user_id)
        now = self._clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and now - hit[0] < self.ttl:
                self._entries.move_to_end(key)
                return hit[1]
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as err:
            # Not cached: a rate limit or an outage passes, and the next answer tries again.
            log.info("users.info team=%s user=%s failed (%s): respondent not matched", team_id, user_id,
                     error_code(err))
            return None
        profile = user.get("profile") or {}
        email = None if user.get("is_bot") else (str(profile.get("email") or "") or None)
        with self._lock:
            self._entries[key] = (now, email)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return email
