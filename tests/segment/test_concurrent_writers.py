"""Issue 19: concurrent Segment clients, with writes through one writer at a time on SQLite
(``storage.writer``): every message stored once, every (user, week) once, none refused; the same
on PostgreSQL. Speed is measured by bench/segment_concurrency.py, not here."""

from __future__ import annotations

import json
import threading
from datetime import date

from segment_helpers import Factory, Tracked, active_weeks, stored

from bot.domain.weeks import week_of_date
from tests.fakes.harness import Harness

CLIENTS, BATCHES, SIZE, USERS = 20, 15, 8, 60


def _batch(client: int, n: int) -> tuple[bytes, set[tuple[str, int]]]:
    msgs, pairs = [], set()
    for i in range(SIZE):
        user = f"u{(client * 13 + n * 7 + i) % USERS}"
        day = date(2026, 10, 1 + (n + i) % 28)
        msgs.append({"type": "track", "userId": user, "event": "x", "messageId": f"c{client}-b{n}-m{i}",
                     "timestamp": f"{day.isoformat()}T10:00:00Z"})
        pairs.add((user, week_of_date(day)))
    return json.dumps({"batch": msgs}).encode(), pairs


def test_concurrent_clients_store_everything_once(harness: Harness, tracked: Tracked,
                                                  session_factory: Factory) -> None:
    expected: set[tuple[str, int]] = set()
    statuses: list[int] = []
    lock = threading.Lock()
    batches = {(c, n): _batch(c, n) for c in range(CLIENTS) for n in range(BATCHES)}
    for _, pairs in batches.values():
        expected |= pairs

    def client(c: int) -> None:
        for n in range(BATCHES):
            body = batches[(c, n)][0]
            # Every third batch is sent twice, as a client retrying after a lost answer does.
            for _ in range(2 if n % 3 == 0 else 1):
                r = harness.request("POST", "/v1/batch", body, {"Content-Type": "application/json",
                                                                **tracked.basic()})
                with lock:
                    statuses.append(r.status)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) == {200}
    counts = stored(session_factory)
    assert counts["messages"] == CLIENTS * BATCHES * SIZE  # each messageId once, retries included
    assert counts["users"] == len({u for u, _ in expected})
    assert active_weeks(session_factory) == expected and counts["weeks"] == len(expected)
