"""Who is a workspace admin or owner, from ``users.info`` (``is_admin``, ``is_owner``,
``is_primary_owner``; needs ``users:read``). ``users.info`` is Tier 4, so answers are cached per
(team, user) for ``ttl`` seconds on the AppContext; it is only ever called in work that runs after
the ack. A failed look-up counts as "not an admin" and is not cached, so the next request asks
again (a refused change says whom to ask; nothing is changed on a guess)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class AdminCache:
    """(team, user) → is an admin/owner, for ``ttl`` seconds (per process)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], tuple[float, bool]] = {}

    def get(self, team_id: str, user_id: str) -> bool | None:
        with self._lock:
            hit = self._seen.get((team_id, user_id))
            if hit is None or self._clock() - hit[0] > self._ttl:
                return None
            return hit[1]

    def put(self, team_id: str, user_id: str, is_admin: bool) -> None:
        with self._lock:
            if len(self._seen) > 10_000:  # bounded: drop the lot rather than grow forever
                self._seen.clear()
            self._seen[(team_id, user_id)] = (self._clock(), is_admin)


def is_workspace_admin(cache: AdminCache, client: Any, team_id: str, user_id: str) -> bool:
    """True when Slack says the user is an admin or owner of the workspace (cached)."""
    known = cache.get(team_id, user_id)
    if known is not None:
        return known
    try:
        user = client.users_info(user=user_id)["user"]
    except Exception as err:  # noqa: BLE001 - unknown = not an admin; the refusal says whom to ask
        log.info("users.info team=%s user=%s failed (%s): treated as not an admin", team_id, user_id,
                 type(err).__name__)
        return False
    admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
    cache.put(team_id, user_id, admin)
    return admin
