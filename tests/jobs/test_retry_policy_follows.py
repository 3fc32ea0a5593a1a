"""Digest deliveries and deferred jobs retry as bot/slack/retry.py says, read when they run: one
edit of ``DIGEST_DELIVERY``, ``DIGEST_WINDOW`` or ``JOBS`` there changes them (a copy of the
schedule left in claims.py, registry.py or pg.py would not follow)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.digests.runner import DigestRunner
from bot.jobs import pg
from bot.jobs.local import LocalQueue
from bot.jobs.registry import Task
from bot.jobs.runner import execute, job_args
from bot.slack import retry
from storage.db import unit_of_work
from storage.models import DigestDelivery
from tests.fakes.slack_api import FakeSlack
from tests.jobs.helpers import make_ctx, subscribe
from tests.jobs.test_digest_delivery import DUE, SINCE, digests_in, posts_to
from tests.slack.policy_edit import edit_policy


def test_a_digest_backs_off_and_gives_up_as_the_policy_says(
        monkeypatch: pytest.MonkeyPatch, session_factory: sessionmaker[Session], fake_slack: FakeSlack,
        product_id: int, make_runner: Callable[..., DigestRunner]) -> None:
    edit_policy(monkeypatch, DIGEST_DELIVERY="Backoff(waits=_seconds(600), max_attempts=2, give_up_after=DIGEST_WINDOW)")
    subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    fake_slack.fail("chat.postMessage", status=500, times=2)
    runner = make_runner()
    assert runner.tick(DUE + timedelta(seconds=5)).outcomes["retry"] == 1
    # The shipped schedule would try again after a minute (test_a_500_then_success_delivers_once).
    assert runner.tick(DUE + timedelta(seconds=65)).outcomes.total() == 0
    assert runner.tick(DUE + timedelta(seconds=595)).outcomes.total() == 0
    assert runner.tick(DUE + timedelta(seconds=610)).outcomes["failed"] == 1  # the 2nd attempt was the last
    assert len(posts_to(fake_slack, "C1")) == 2 and digests_in(fake_slack, "C1") == []


def test_a_digest_later_than_the_policys_window_is_skipped(
        monkeypatch: pytest.MonkeyPatch, session_factory: sessionmaker[Session], fake_slack: FakeSlack,
        product_id: int, make_runner: Callable[..., DigestRunner]) -> None:
    edit_policy(monkeypatch, DIGEST_WINDOW="timedelta(hours=2)")
    assert retry.DIGEST_DELIVERY.give_up_after == timedelta(hours=2)  # the backoff's window follows
    subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    stats = make_runner().tick(DUE + timedelta(hours=3))
    assert stats.missed == 1 and posts_to(fake_slack, "C1") == []
    with unit_of_work(session_factory) as s:
        (error,) = s.scalars(select(DigestDelivery.error).where(DigestDelivery.status == "skipped"))
    assert error == "missed: no clock ran within 2 h of the due time"


def test_jobs_retry_as_the_policy_says_on_both_queues(
        monkeypatch: pytest.MonkeyPatch, session_factory: sessionmaker[Session], fake_slack: FakeSlack) -> None:
    edit_policy(monkeypatch, JOBS="Backoff(waits=_seconds(7), max_attempts=5)", JOBS_LOCAL_PAUSE_SECONDS="0.25")
    strategy = pg._retry_strategy()
    assert (strategy.max_attempts, strategy.wait) == (4, 7)  # procrastinate counts retries after the first run
    ctx = make_ctx(session_factory, fake_slack.api_url)
    assert LocalQueue(ctx).retry_pause == 0.25
    gave_up: list[int] = []

    def fail(_ctx: object, run: object) -> None:
        raise RuntimeError("Slack is down")

    ctx.jobs.add(Task("pmf.test.fails", fail, gave_up=lambda _ctx, run, err: gave_up.append(run.attempt)))
    args = job_args({}, DUE)
    for attempt in range(4):
        with pytest.raises(RuntimeError):
            execute(ctx, "pmf.test.fails", args, attempt=attempt)  # raised: run again
    execute(ctx, "pmf.test.fails", args, attempt=4)  # the 5th run gives up
    assert gave_up == [4]
