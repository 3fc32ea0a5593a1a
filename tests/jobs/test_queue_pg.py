"""The procrastinate path (PostgreSQL only): the listener stores the job on its own transaction
before the ack, a worker runs it through the same registry, and the queue is empty after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.pg import build_procrastinate, cron_of, run_worker
from tests.conftest import is_pg_url
from tests.fakes.fixtures import NOW
from tests.fakes.harness import Harness, make_settings
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def pg_harness(db_url: str, session_factory: sessionmaker[Session], fake_slack: FakeSlack) -> Iterator[Harness]:
    if not is_pg_url(db_url):
        pytest.skip("procrastinate runs on PostgreSQL (TEST_DATABASE_URL)")
    with session_factory.begin() as s:
        s.execute(text("DELETE FROM procrastinate_jobs"))
    h = Harness(make_settings(db_url, fake_slack, job_queue="procrastinate"), session_factory, fake_slack, now=NOW)
    yield h
    h.close()


def jobs_by_status(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        return {k: v for k, v in s.execute(text("SELECT status, count(*) FROM procrastinate_jobs WHERE task_name NOT LIKE 'periodic:%' AND task_name <> 'pmf.jobs.sweep_stalled' GROUP BY status"))}


def test_cron_of_the_clock_intervals() -> None:
    assert [cron_of(s) for s in (10, 30, 60, 3600)] == ["* * * * * */10", "* * * * * */30", "*/1 * * * *",
                                                         "0 */1 * * *"]
    with pytest.raises(ValueError):
        cron_of(45)


def test_the_command_is_stored_before_the_ack_and_a_worker_replies_once(
        pg_harness: Harness, fake_slack: FakeSlack, seed_product: Any, session_factory: sessionmaker[Session]) -> None:
    seed_product("T1", "acme", "Acme")
    r = pg_harness.pmf("status")
    assert "Working on" in r.ack()["text"]
    pg_harness.settle()
    assert jobs_by_status(session_factory) == {"todo": 1}  # stored, and nothing ran it in the web process
    assert fake_slack.responses(r.response_id) == []
    run_worker(build_procrastinate(pg_harness.ctx), wait=False, signals=False, threads=2)
    replies = fake_slack.responses(r.response_id)
    assert len(replies) == 1 and "Acme" in replies[0].params["text"]
    assert jobs_by_status(session_factory) == {}  # done and deleted


def test_a_job_whose_defer_fails_is_not_acked_as_working(pg_harness: Harness, seed_product: Any,
                                                         session_factory: sessionmaker[Session],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    seed_product("T1", "acme", "Acme")
    monkeypatch.setattr(pg_harness.ctx.queue or object(), "defer", lambda *a, **k: (_ for _ in ()).throw(
        OSError("server closed the connection")), raising=False)
    r = pg_harness.pmf("status")
    assert "could not queue" in r.ack()["text"]
    assert jobs_by_status(session_factory) == {}


def test_a_digest_leased_by_a_dead_worker_is_taken_over_at_once_and_a_live_ones_is_not(
        db_url: str, session_factory: sessionmaker[Session]) -> None:
    if not is_pg_url(db_url):
        pytest.skip("procrastinate's worker heartbeats live in PostgreSQL")
    from bot.digests.claims import begin_send, claim_next, load_job, plan_due

    live, dead, now = _two_digests_two_workers(session_factory, dead_silent_for="25 seconds")
    plan_due(session_factory, now=now)
    (second,) = claim_next(session_factory, now=now, worker=f"pq:{live}")
    (first,) = claim_next(session_factory, now=now, worker=f"pq:{dead}")  # (it was alive a moment ago)
    held = load_job(session_factory, delivery_id=first, worker=f"pq:{dead}")
    assert held is not None and begin_send(session_factory, held, now=now)  # died mid-send
    # One tick later (well inside the 10-minute lease) another worker takes the dead one's digest only.
    taken = claim_next(session_factory, now=now + timedelta(seconds=30), worker=f"pq:{live}")
    assert taken == [first] and second != first
    assert claim_next(session_factory, now=now + timedelta(seconds=31), worker="pq:778") == []
    # A clock process that is no queue worker waits for the lease as before.
    assert claim_next(session_factory, now=now + timedelta(seconds=32), worker="host:1:abc") == []


def test_the_chart_of_a_digest_whose_sender_died_is_taken_over_once(
        db_url: str, session_factory: sessionmaker[Session]) -> None:
    if not is_pg_url(db_url):
        pytest.skip("procrastinate's worker heartbeats live in PostgreSQL")
    from bot.digests.claims import (
        begin_send,
        claim_next,
        load_job,
        plan_due,
        record_chart,
        record_sent,
        take_orphan_charts,
    )

    live, dead, now = _two_digests_two_workers(session_factory, dead_silent_for=None)
    plan_due(session_factory, now=now)
    ids = claim_next(session_factory, now=now, worker=f"pq:{dead}", limit=2)
    for did in ids:
        job = load_job(session_factory, delivery_id=did, worker=f"pq:{dead}")
        assert job is not None and begin_send(session_factory, job, now=now)
        assert record_sent(session_factory, job, message_ts=f"1.{did}", now=now)
    record_chart(session_factory, delivery_id=ids[1], file_id="F1", error=None)  # its chart made it
    assert take_orphan_charts(session_factory, now=now, worker=f"pq:{live}") == []  # the sender is alive
    with session_factory.begin() as s:
        s.execute(text("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 minute' WHERE id = :i"),
                  {"i": dead})
    assert take_orphan_charts(session_factory, now=now, worker=f"pq:{live}") == [ids[0]]
    assert take_orphan_charts(session_factory, now=now, worker=f"pq:{live}") == []  # taken once
    assert load_job(session_factory, delivery_id=ids[0], worker=f"pq:{live}", sent=True) is not None


def _two_digests_two_workers(session_factory: sessionmaker[Session], *, dead_silent_for: str | None,
                             ) -> tuple[int, int, datetime]:
    """Two digests due at 08:00 on 23 Mar 2026 and two procrastinate workers: (live id, "dead" id
    — its last heartbeat ``dead_silent_for`` ago, or now —, five seconds after the digests were due)."""
    from tests.jobs.helpers import make_product, subscribe

    due = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)
    pid = make_product(session_factory, users=20)
    subscribe(session_factory, product_id=pid, channel_id="C1")
    subscribe(session_factory, product_id=pid, channel_id="C2")
    heartbeat = "now()" if dead_silent_for is None else f"now() - interval '{dead_silent_for}'"
    with session_factory.begin() as s:
        s.execute(text("DELETE FROM procrastinate_workers"))
        live = s.execute(text("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")).scalar_one()
        dead = s.execute(text(f"INSERT INTO procrastinate_workers (last_heartbeat) VALUES ({heartbeat}) "
                              "RETURNING id")).scalar_one()
    return live, dead, due + timedelta(seconds=5)


def test_job_queue_setting() -> None:
    from bot.config import ConfigError, Settings

    assert Settings.from_env({"DATABASE_URL": "postgres://u@h/db"}).uses_procrastinate
    assert not Settings.from_env({"DATABASE_URL": "sqlite:///x.db"}).uses_procrastinate
    assert not Settings.from_env({"DATABASE_URL": "postgres://u@h/db", "JOB_QUEUE": "local"}).uses_procrastinate
    with pytest.raises(ConfigError, match="JOB_QUEUE must be auto, local or procrastinate"):
        Settings.from_env({"JOB_QUEUE": "redis"})
    with pytest.raises(ConfigError, match="needs a PostgreSQL DATABASE_URL"):
        Settings.from_env({"DATABASE_URL": "sqlite:///x.db", "JOB_QUEUE": "procrastinate"})
