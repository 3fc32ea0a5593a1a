"""The claim rows behind exactly-once delivery, on the database under test (SQLite by default,
PostgreSQL with TEST_DATABASE_URL): one row per subscription and week, leases that fence every
write, take-over after a crash, late and missed runs, and the week's stored snapshot."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.digests import service as digests
from bot.digests.claims import LEASE, begin_send, claim_next, load_job, plan_due, record_failure, record_sent
from bot.digests.schedule import parse_weekly_args, report_week
from bot.digests.values import PlanResult
from bot.products import service as product_service
from storage.db import unit_of_work
from storage.models import DigestDelivery, DigestSubscription, WeeklySnapshot
from tests.jobs.helpers import make_product, subscribe

DUE = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 Europe/Berlin


def _rows(factory: sessionmaker[Session]) -> list[DigestDelivery]:
    with unit_of_work(factory) as s:
        return list(s.scalars(select(DigestDelivery).order_by(DigestDelivery.id)))


def test_planning_is_idempotent_and_waits_for_the_due_time(session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory, users=20)
    subscribe(session_factory, product_id=pid, channel_id="C1")
    before = plan_due(session_factory, now=DUE - timedelta(seconds=1))
    # The 16 Mar run (the subscription dates from 1 Jan) is more than 24 h old and no clock sent
    # it: it is recorded as missed, never delivered.
    assert (before.claimed, before.skipped) == (0, 1)
    first = plan_due(session_factory, now=DUE + timedelta(seconds=5))
    again = plan_due(session_factory, now=DUE + timedelta(seconds=35))
    assert (first.claimed, first.skipped, again.claimed, again.skipped) == (1, 0, 0, 0)
    rows = _rows(session_factory)
    assert [(r.period, r.status, r.due_at, r.late) for r in rows] == [
        (date(2026, 3, 16), "skipped", DUE - timedelta(weeks=1), True),
        (date(2026, 3, 23), "claimed", DUE, False),
    ]


def test_runs_before_the_schedule_took_effect_are_ignored(session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory, users=20)
    subscribe(session_factory, product_id=pid, channel_id="C1", effective_from=DUE + timedelta(hours=1))
    assert plan_due(session_factory, now=DUE + timedelta(hours=2)) == PlanResult(0, 0)
    assert _rows(session_factory) == []


def test_late_within_24h_is_claimed_late_and_older_is_recorded_as_skipped(
        session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory, users=20)
    subscribe(session_factory, product_id=pid, channel_id="C1", effective_from=DUE - timedelta(days=1))
    subscribe(session_factory, product_id=pid, channel_id="C2", effective_from=DUE - timedelta(days=1),
              weekday=6, local_time="09:00")  # Sunday 22 Mar 09:00: 47 h before Monday 08:00 UTC
    plan = plan_due(session_factory, now=DUE + timedelta(hours=3))
    assert (plan.claimed, plan.skipped) == (1, 1)
    by_status = {r.status: r for r in _rows(session_factory)}
    assert by_status["claimed"].late is True
    assert by_status["skipped"].error and "24 h" in by_status["skipped"].error
    assert by_status["skipped"].lease_until is None


def test_a_lease_is_held_by_one_worker_and_taken_over_only_after_it_expires(
        session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory, users=20)
    subscribe(session_factory, product_id=pid, channel_id="C1")
    now = DUE + timedelta(seconds=5)
    plan_due(session_factory, now=now)
    (did,) = claim_next(session_factory, now=now, worker="a")
    assert claim_next(session_factory, now=now, worker="b") == []
    a = load_job(session_factory, delivery_id=did, worker="a")
    assert a is not None and load_job(session_factory, delivery_id=did, worker="b") is None
    assert begin_send(session_factory, a, now=now)
    # "a" crashes mid-send. Before the lease runs out nobody else may touch the row...
    assert claim_next(session_factory, now=now + LEASE - timedelta(seconds=1), worker="b") == []
    # ...after it, "b" takes it over, sees it was `sending`, and "a" can no longer write.
    later = now + LEASE + timedelta(seconds=1)
    assert claim_next(session_factory, now=later, worker="b") == [did]
    b = load_job(session_factory, delivery_id=did, worker="b")
    assert b is not None and b.status == "sending" and b.attempts == 1
    assert not record_sent(session_factory, a, message_ts="1.0", now=later)
    assert record_sent(session_factory, b, message_ts="2.0", now=later)
    row = _rows(session_factory)[0]
    assert (row.status, row.message_ts, row.claimed_by) == ("sent", "2.0", "b")
    assert claim_next(session_factory, now=later + LEASE * 3, worker="c") == []


def test_a_claim_takes_exactly_as_many_rows_as_asked(session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory, users=20)
    for n in range(5):
        subscribe(session_factory, product_id=pid, channel_id=f"C{n}")
    now = DUE + timedelta(seconds=5)
    assert plan_due(session_factory, now=now).claimed == 5
    first = claim_next(session_factory, now=now, worker="a")
    second = claim_next(session_factory, now=now, worker="b", limit=3)
    rest = claim_next(session_factory, now=now, worker="c", limit=3)
    assert (len(first), len(second), len(rest)) == (1, 3, 1)
    assert len(set(first) | set(second) | set(rest)) == 5
    assert claim_next(session_factory, now=now, worker="d", limit=3) == []


def test_failures_pause_after_three_weeks_and_notify_once(session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory, users=20)
    sub_id = subscribe(session_factory, product_id=pid, channel_id="C1")
    outcomes = []
    for week in range(3):
        now = DUE + timedelta(weeks=week, seconds=5)
        plan_due(session_factory, now=now)
        (did,) = claim_next(session_factory, now=now, worker="w")
        job = load_job(session_factory, delivery_id=did, worker="w")
        assert job is not None
        outcomes.append(record_failure(session_factory, job, now=now, error="channel_not_found"))
    assert [o.notify_user if o else None for o in outcomes] == ["UCREATOR", None, None]
    assert [o.paused if o else None for o in outcomes] == [False, False, True]
    with unit_of_work(session_factory) as s:
        sub = s.get(DigestSubscription, sub_id)
        assert sub is not None and not sub.active and "3 failed weeks" in (sub.paused_reason or "")
        assert sub.last_error == "channel_not_found"
    # Paused: nothing is planned any more.
    assert plan_due(session_factory, now=DUE + timedelta(weeks=3, seconds=5)).claimed == 0


def test_the_week_report_is_stored_once_and_round_trips(session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory)
    with unit_of_work(session_factory) as s:
        product = product_service.load_product(s, product_service.slack_workspace(s, "T1", single_workspace=True), "acme")
    week = report_week(product, DUE)
    first = digests.digest_content(session_factory, product=product, week=week)
    second = digests.digest_content(session_factory, product=product, week=week)
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(WeeklySnapshot).where(WeeklySnapshot.product_id == pid)) == 2
        stored = s.scalar(select(WeeklySnapshot).where(WeeklySnapshot.week == week))
        assert stored is not None and stored.report["json"]["verdict"] == first.report.verdict
        json.dumps(stored.report, allow_nan=False)  # valid JSON on every engine
    assert second.report == first.report
    assert second.report.cohort_table == first.report.cohort_table
    assert second.report.as_of == date(2026, 3, 23)
    assert second.previous is not None and second.previous.as_of == date(2026, 3, 16)
    assert not first.no_new_data and first.activity.active_users > 0
    # A later week with nothing new says so.
    quiet = digests.digest_content(session_factory, product=product, week=week + 1)
    assert quiet.no_new_data


def test_subscribe_change_and_turn_off(session_factory: sessionmaker[Session]) -> None:
    make_product(session_factory, users=20)
    now = datetime(2026, 3, 24, 10, tzinfo=UTC)
    info = digests.subscribe(session_factory, team_id="T1", single_workspace=True, invoked_in="C1", user_id="U1",
                             args=digests.WeeklyArgs(), default_tz="America/New_York", now=now)
    assert (info.channel_id, info.schedule.weekday, info.schedule.timezone) == ("C1", 0, "America/New_York")
    assert info.next_run == datetime(2026, 3, 30, 13, tzinfo=UTC)  # Mon 09:00 EDT
    changed = digests.subscribe(session_factory, team_id="T1", single_workspace=True, invoked_in="C9",
                                user_id="U2", args=parse_weekly_args(["<#C1|x>", "fri", "17:00", "UTC"]),
                                default_tz="Europe/Berlin", now=now)
    assert changed.id == info.id and changed.next_run == datetime(2026, 3, 27, 17, tzinfo=UTC)
    listed = digests.list_subscriptions(session_factory, team_id="T1", single_workspace=True, now=now)
    assert [(s.channel_id, s.created_by) for s in listed] == [("C1", "U2")]
    off = digests.unsubscribe(session_factory, team_id="T1", single_workspace=True, channel_id="C1", user_id="U2",
                              now=now)
    assert [s.active for s in off] == [False]
    assert digests.list_subscriptions(session_factory, team_id="T1", single_workspace=True, now=now) == []
