"""Scale-out, for real (SPEC §11): 2 ``pmfbot web`` + 2 ``pmfbot worker`` on PostgreSQL with the
fake Slack; signed commands round-robined while a worker is SIGKILLed mid-run and a web process
right after an ack, both restarted. Nothing acked is lost: every acked command gets exactly one
final reply (a repeat after a crash replaces the same message with the same text), no share is
posted twice or without its chart, no "did not finish", and the queue ends empty. The SQLite twin:
one process, killed with jobs in hand and restarted, loses nothing. (bench/scale_out.py runs the
full-size version and prints the figures.)"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import is_pg_url
from tests.fakes.cluster import Cluster, Sent, answered, audit
from tests.fakes.slack_api import FakeSlack

MIX = ("status", "share", "product", "history", "status", "product")


def open_jobs(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        return dict(s.execute(text(
            "SELECT status, count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing', 'failed') "
            "AND task_name NOT LIKE 'periodic:%' AND task_name <> 'pmf.jobs.sweep_stalled' GROUP BY status")).all())


def wait_answered(fake: FakeSlack, sent: list[Sent], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not answered(fake, sent) and time.monotonic() < deadline:
        time.sleep(0.5)


@pytest.mark.slow
def test_two_webs_two_workers_a_killed_worker_and_a_killed_web_lose_nothing(
        db_url: str, fake_slack: FakeSlack, seed_product: Any, session_factory: sessionmaker[Session],
        tmp_path: Path) -> None:
    if not is_pg_url(db_url):
        pytest.skip("the scale-out runs procrastinate on PostgreSQL (TEST_DATABASE_URL)")
    seed_product("T1", "acme", "Acme")
    with session_factory.begin() as s:
        s.execute(text("DELETE FROM procrastinate_jobs"))
    # Slack answers each reply after 0.3 s (the reply counts at once): a kill catches jobs between
    # a reply and its record, the hardest place for "exactly one reply".
    fake_slack.delay("response", 0.3, times=100_000)
    cluster = Cluster(db_url, fake_slack, tmp_path)
    try:
        webs = [cluster.start_web("web1"), cluster.start_web("web2")]
        cluster.start_worker("worker1")
        cluster.start_worker("worker2")
        sent: list[Sent] = []
        down: set[str] = set()
        texts = itertools.cycle(MIX)
        for i in range(120):
            web = [w for w in webs if w.name not in down][i % (2 - len(down))]
            sent.append(cluster.command(web, next(texts)))
            if i == 40:
                cluster.kill("worker1")  # with jobs in hand
            elif i == 60:
                cluster.restart("worker1")
            elif i == 75 and sent[-1].acked_working:
                cluster.kill(web.name)  # right after its ack
                down.add(web.name)
            elif i == 90 and down:
                webs = [cluster.restart(down.pop()) if w.name in down else w for w in webs]
            time.sleep(0.05)
        wait_answered(fake_slack, sent, timeout=90)
        result = audit(fake_slack, sent)
        assert result["acked"] >= 110  # only requests to the dead web (refused, never acked) may be missing
        assert {k: result[k] for k in ("lost", "more_than_one_reply", "did_not_finish", "duplicate_posts",
                                       "charts_missing")} == dict.fromkeys(
            ("lost", "more_than_one_reply", "did_not_finish", "duplicate_posts", "charts_missing"), 0)
        assert result["posts"] == result["shares_answered"] > 0
        # A job's last reply can come a moment before its worker marks it done.
        deadline = time.monotonic() + 30
        while open_jobs(session_factory) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert open_jobs(session_factory) == {}
        logs = "".join(p.log.read_text(errors="replace") for p in cluster.procs.values())
        assert "was running on a worker that stopped; retrying it" in logs  # the kill caught jobs in hand
    finally:
        cluster.stop_all()


@pytest.mark.slow
def test_the_sqlite_twin_killed_with_work_in_hand_replays_it_at_restart(
        db_url: str, fake_slack: FakeSlack, seed_product: Any, tmp_path: Path) -> None:
    if is_pg_url(db_url):
        pytest.skip("the one-process twin runs on SQLite")
    seed_product("T1", "acme", "Acme")
    fake_slack.delay("response", 1.0, times=100_000)  # replies are slow: work piles up in the process
    cluster = Cluster(db_url, fake_slack, tmp_path)
    try:
        web = cluster.start_web("web")
        sent = [cluster.command(web, t) for t, _ in zip(itertools.cycle(MIX), range(40), strict=False)]
        cluster.kill("web")  # with most of its jobs not done
        pending_at_kill = sum(1 for s in sent if s.acked_working and not fake_slack.responses(s.response_id))
        web = cluster.restart("web")
        sent += [cluster.command(web, t) for t, _ in zip(itertools.cycle(MIX), range(10), strict=False)]
        wait_answered(fake_slack, sent, timeout=90)
        result = audit(fake_slack, sent)
        assert pending_at_kill > 0  # the kill did catch work in hand
        assert result["acked"] == 50 and result["lost"] == 0 and result["more_than_one_reply"] == 0
        assert result["did_not_finish"] == 0 and result["duplicate_posts"] == 0
    finally:
        cluster.stop_all()
