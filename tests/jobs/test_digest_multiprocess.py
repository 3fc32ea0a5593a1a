"""Two clock processes on one PostgreSQL database, ticking at the same instants against the
same fake Slack Web API (with a few 5xx thrown in): every subscription gets exactly one digest
for the week. SQLite allows one writer, so several clock processes need PostgreSQL."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.digests.runner import METADATA_EVENT
from storage.db import unit_of_work
from storage.models import DigestDelivery
from tests.jobs import clock_process
from tests.jobs.helpers import make_product, subscribe

DUE = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)


@pytest.mark.slow
def test_two_clock_processes_post_exactly_one_digest_per_subscription(db_url, session_factory, fake_slack):
    if not db_url.startswith("postgresql"):
        pytest.skip("several clock processes need PostgreSQL (SQLite allows one writer at a time)")
    products = [make_product(session_factory, slug=f"p{i}", name=f"Product {i}", users=80, seed=i) for i in range(3)]
    channels = [f"CMP{i:03d}" for i in range(20)]
    expected = set()
    for ch in channels:
        fake_slack.add_channel(ch, member=True)
        for pid in products:
            expected.add(subscribe(session_factory, product_id=pid, channel_id=ch,
                                   effective_from=DUE - timedelta(days=1)))
    fake_slack.fail("chat.postMessage", status=500, times=4)  # ambiguous sends to reconcile
    fake_slack.delay("chat.postMessage", 0.2, times=1000)  # slow posts: both processes are busy at once

    ticks = [(DUE + timedelta(seconds=s)).isoformat() for s in (5, 40, 75, 110, 145)]
    mp = multiprocessing.get_context("spawn")
    barrier, results = mp.Barrier(2), mp.Queue()
    procs = [mp.Process(target=clock_process.run, args=(db_url, fake_slack.api_url, f"clock-{n}", ticks, barrier,
                                                        results)) for n in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    per_worker = dict(results.get(timeout=5) for _ in procs)

    posted = Counter()
    for ch in channels:
        for m in fake_slack.messages.get(ch, []):
            meta = m.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT:
                posted[meta["event_payload"]["subscription_id"]] += 1
    assert set(posted) == expected
    assert set(posted.values()) == {1}, {k: v for k, v in posted.items() if v != 1}
    with unit_of_work(session_factory) as s:
        statuses = Counter(s.scalars(select(DigestDelivery.status).where(DigestDelivery.period == DUE.date())))
    assert statuses == {"sent": len(expected)}
    # The claim rows were inserted once between them, and both processes delivered a share.
    assert sum(w.get("planned", 0) for w in per_worker.values()) == len(expected)
    delivered = {name: w.get("sent", 0) + w.get("reconciled", 0) for name, w in per_worker.items()}
    assert sum(delivered.values()) == len(expected)
    assert all(n > 0 for n in delivered.values()), per_worker
