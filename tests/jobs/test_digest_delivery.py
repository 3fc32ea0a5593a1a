"""Weekly digests delivered by the clock against the fake Slack Web API, with a controllable
clock (every tick gets its ``now``; nothing sleeps on real time except slack_sdk's own sub-second
Retry-After wait). Exactly once whatever happens: restarts, crashes mid-delivery, 5xx, timeouts
after the post went out, permanent errors — and on time in the channel's zone across DST."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.digests import blocks as digest_blocks
from bot.digests import service as digests
from bot.digests.claims import LEASE, plan_due
from bot.digests.ids import Action as DigestAction
from bot.digests.runner import METADATA_EVENT, DigestRunner
from bot.slack.retry import DIGEST_DELIVERY
from storage.db import unit_of_work
from storage.models import DigestDelivery, DigestSubscription
from tests.fakes.slack_api import PNG_MAGIC, FakeSlack
from tests.jobs.helpers import make_product, subscribe

BERLIN = ZoneInfo("Europe/Berlin")
DUE = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
SINCE = DUE - timedelta(days=1)


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the app may catch it)."""


def digests_in(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [m for m in fake.messages.get(channel, []) if (m.get("metadata") or {}).get("event_type") == METADATA_EVENT]


def posts_to(fake: FakeSlack, channel: str) -> list[Any]:
    return [c for c in fake.attempts("chat.postMessage") if c.params.get("channel") == channel]


def rows(factory: sessionmaker[Session]) -> list[DigestDelivery]:
    with unit_of_work(factory) as s:
        return list(s.scalars(select(DigestDelivery).where(DigestDelivery.status != "skipped")
                              .order_by(DigestDelivery.id)))


def sub_row(factory: sessionmaker[Session], sub_id: int) -> DigestSubscription:
    with unit_of_work(factory) as s:
        sub = s.get(DigestSubscription, sub_id)
        assert sub is not None
        return sub


# ----------------------------------------------------------------------------- the normal week
def test_a_due_digest_is_posted_once_with_metadata_text_buttons_and_one_chart(
        session_factory, fake_slack, product_id, make_runner):
    subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    runner = make_runner()
    assert runner.tick(DUE - timedelta(seconds=30)).outcomes["sent"] == 0
    stats = runner.tick(DUE + timedelta(seconds=20))
    assert stats.planned == 1 and stats.outcomes["sent"] == 1
    for later in (timedelta(seconds=50), timedelta(hours=2), timedelta(days=3)):
        assert runner.tick(DUE + later).outcomes["sent"] == 0

    (message,) = digests_in(fake_slack, "C1")
    (row,) = rows(session_factory)
    assert message["metadata"]["event_payload"]["delivery_id"] == row.id
    assert row.status == "sent" and row.message_ts == message["ts"] and row.file_id and not row.late
    assert message["text"].startswith("Weekly PMF digest — Acme, as of 2026-03-23")
    assert "Retention ·" in message["text"] and "since last week" in message["text"]
    actions = [blk for blk in message["blocks"] if blk["type"] == "actions"][0]
    assert [e["text"]["text"] for e in actions["elements"]] == ["Run a PMF survey", "Details"]
    assert [e["action_id"] for e in actions["elements"]] == [DigestAction.SURVEY, DigestAction.DETAILS]
    (png, trajectory) = fake_slack.uploaded_png("C1")  # the digest chart, then the trajectory
    assert png.startswith(PNG_MAGIC) and trajectory.startswith(PNG_MAGIC)
    assert len(posts_to(fake_slack, "C1")) == 1
    assert sub_row(session_factory, row.subscription_id).last_delivered_at is not None


@pytest.mark.parametrize("mondays", [
    ["2026-03-16", "2026-03-23", "2026-03-30", "2026-04-06"],  # spring forward on Sun 29 Mar
    ["2026-10-12", "2026-10-19", "2026-10-26", "2026-11-02"],  # fall back on Sun 25 Oct
], ids=["march", "october"])
def test_a_berlin_digest_lands_at_0900_local_each_week_across_the_dst_change(
        session_factory, fake_slack, make_runner, mondays):
    pid = make_product(session_factory, users=60)
    first = datetime.fromisoformat(mondays[0]).replace(tzinfo=UTC)
    subscribe(session_factory, product_id=pid, channel_id="C1", effective_from=first - timedelta(days=1))
    runner = make_runner(max_workers=1)
    for monday in mondays:
        day = datetime.fromisoformat(monday).replace(tzinfo=UTC)
        runner.tick(day - timedelta(hours=12))  # Sunday evening: nothing due
        for minutes in range(6 * 60, 10 * 60 + 1, 10):  # Monday 06:00–10:00 UTC every 10 minutes
            runner.tick(day + timedelta(minutes=minutes))
    sent = rows(session_factory)
    assert len(sent) == len(mondays) == len(digests_in(fake_slack, "C1"))
    for row, monday in zip(sent, mondays, strict=True):
        due_local = row.due_at.astimezone(BERLIN)
        assert (due_local.date().isoformat(), due_local.time()) == (monday, time(9, 0))
        sent_local = row.sent_at.astimezone(BERLIN) if row.sent_at else None
        assert sent_local and time(9, 0) <= sent_local.time() < time(9, 11), sent_local
        assert not row.late


def test_a_run_missed_while_no_clock_was_up_is_sent_late_and_says_so(
        session_factory, fake_slack, product_id, make_runner):
    subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    make_runner().tick(DUE + timedelta(hours=5))
    (message,) = digests_in(fake_slack, "C1")
    assert message["text"].startswith("This digest is late: it was due Mon 09:00.")
    context = " ".join(e["text"] for blk in message["blocks"] if blk["type"] == "context" for e in blk["elements"])
    assert "This digest is late: it was due Mon 09:00." in context
    assert rows(session_factory)[0].late


def test_a_run_missed_by_more_than_24h_is_recorded_as_skipped_and_never_sent(
        session_factory, fake_slack, product_id, make_runner):
    sub_id = subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    runner = make_runner()
    stats = runner.tick(DUE + timedelta(hours=25))
    assert (stats.planned, stats.missed) == (0, 1)
    assert digests_in(fake_slack, "C1") == []
    runner.tick(DUE + timedelta(weeks=1, seconds=10))  # next week is delivered normally
    assert len(digests_in(fake_slack, "C1")) == 1
    listed = digests.list_subscriptions(session_factory, team_id="T1", single_workspace=True,
                                        now=DUE + timedelta(weeks=1, minutes=1))
    assert listed[0].id == sub_id and listed[0].last_delivery and listed[0].last_delivery.status == "sent"


# ----------------------------------------------------------------------------- Slack failures
def test_a_500_then_success_delivers_once(session_factory, fake_slack, product_id, make_runner):
    subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    fake_slack.fail("chat.postMessage", status=500)
    runner = make_runner()
    assert runner.tick(DUE + timedelta(seconds=5)).outcomes["retry"] == 1
    assert rows(session_factory)[0].status == "sending"  # outcome unknown: reconcile first
    assert runner.tick(DUE + timedelta(seconds=20)).outcomes.total() == 0  # backing off
    assert runner.tick(DUE + timedelta(seconds=65)).outcomes["sent"] == 1
    assert len(digests_in(fake_slack, "C1")) == 1
    assert len(posts_to(fake_slack, "C1")) == 2
    (history,) = fake_slack.calls_to("conversations.history")
    assert history.params["channel"] == "C1" and history.params["include_all_metadata"] in ("1", "true", True)
    assert rows(session_factory)[0].attempts == 2


def test_a_timeout_after_the_post_went_out_is_reconciled_and_not_posted_again(
        session_factory, fake_slack, product_id, make_runner):
    subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    fake_slack.delay("chat.postMessage", 2.5)  # Slack posts it, the client gives up after 1 s
    runner = make_runner(timeout=1)
    assert runner.tick(DUE + timedelta(seconds=5)).outcomes["retry"] == 1
    assert len(digests_in(fake_slack, "C1")) == 1  # it is out there already
    assert runner.tick(DUE + timedelta(seconds=65)).outcomes["reconciled"] == 1
    assert len(posts_to(fake_slack, "C1")) == 1 and len(digests_in(fake_slack, "C1")) == 1
    row = rows(session_factory)[0]
    assert row.status == "sent" and row.message_ts == digests_in(fake_slack, "C1")[0]["ts"]
    assert len(fake_slack.uploaded_png("C1")) == 2  # the two charts still follow, once each


class _CrashingClient:
    """The bot's client, except that the process dies around ``chat.postMessage``."""

    def __init__(self, inner: Any, *, after_post: bool) -> None:
        self.inner, self.after_post = inner, after_post

    def chat_postMessage(self, **kwargs: Any) -> Any:  # noqa: N802 - slack_sdk's name
        if not self.after_post:
            raise Crash("killed before the request went out")
        self.inner.chat_postMessage(**kwargs)
        raise Crash("killed before recording the post")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("after_post", [True, False], ids=["killed-after-post", "killed-before-post"])
def test_a_process_killed_mid_delivery_is_taken_over_after_the_lease_and_delivers_once(
        session_factory, fake_slack, product_id, make_runner, after_post):
    subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    doomed = make_runner("clock-1", client_wrapper=lambda c: _CrashingClient(c, after_post=after_post))
    t0 = DUE + timedelta(seconds=5)
    with pytest.raises(Crash):
        doomed.tick(t0)
    (row,) = rows(session_factory)
    assert (row.status, row.claimed_by) == ("sending", "clock-1")
    assert len(digests_in(fake_slack, "C1")) == (1 if after_post else 0)

    restarted = make_runner("clock-2")
    assert restarted.tick(t0 + LEASE - timedelta(seconds=30)).outcomes.total() == 0  # still leased
    stats = restarted.tick(t0 + LEASE + timedelta(seconds=30))
    assert stats.outcomes["reconciled" if after_post else "sent"] == 1
    assert len(digests_in(fake_slack, "C1")) == 1
    assert len(fake_slack.calls_to("chat.postMessage", channel="C1")) == 1
    (row,) = rows(session_factory)
    assert (row.status, row.claimed_by, row.message_ts) == ("sent", "clock-2", digests_in(fake_slack, "C1")[0]["ts"])
    assert restarted.tick(t0 + LEASE * 3).outcomes.total() == 0


def test_channel_not_found_is_recorded_told_once_and_paused_after_three_weeks_without_a_retry_storm(
        session_factory, fake_slack, product_id, make_runner):
    sub_id = subscribe(session_factory, product_id=product_id, channel_id="C404", created_by="U1",
                       effective_from=SINCE)
    runner = make_runner()
    for minutes in range(0, 120, 1):  # two hours of ticks in the first week
        runner.tick(DUE + timedelta(minutes=minutes, seconds=10))
    assert len(posts_to(fake_slack, "C404")) == 1
    (dm,) = fake_slack.calls_to("chat.postMessage", channel="DU1")
    assert "could not be posted in <#C404>" in dm.params["text"]
    assert fake_slack.attempts("conversations.history") == [] and fake_slack.attempts("conversations.join") == []
    sub = sub_row(session_factory, sub_id)
    assert (sub.last_error, sub.consecutive_failures, sub.active) == ("channel_not_found", 1, True)
    listed = digests_blocks_text(session_factory, DUE + timedelta(hours=3))
    assert "failed" in listed and "no longer exists" in listed

    for week in (1, 2, 3):
        for minutes in range(0, 30, 5):
            runner.tick(DUE + timedelta(weeks=week, minutes=minutes, seconds=10))
    assert len(posts_to(fake_slack, "C404")) == 3  # weeks 0, 1, 2; paused before week 3
    assert len(fake_slack.calls_to("chat.postMessage", channel="DU1")) == 1  # told once
    sub = sub_row(session_factory, sub_id)
    assert not sub.active and "paused after 3 failed weeks" in (sub.paused_reason or "")
    assert "resume with" in digests_blocks_text(session_factory, DUE + timedelta(weeks=3, hours=1))


def digests_blocks_text(factory: sessionmaker[Session], now: datetime) -> str:
    subs = digests.list_subscriptions(factory, team_id="T1", single_workspace=True, now=now)
    message = digest_blocks.subscriptions_message(subs)
    return "\n".join(blk["text"]["text"] for blk in message["blocks"] if blk["type"] == "section")


def test_an_archived_channel_pauses_the_digest_at_once(session_factory, fake_slack, product_id, make_runner):
    fake_slack.add_channel("C9", "old", member=True, archived=True)
    sub_id = subscribe(session_factory, product_id=product_id, channel_id="C9", created_by="U1",
                       effective_from=SINCE)
    make_runner().tick(DUE + timedelta(seconds=5))
    sub = sub_row(session_factory, sub_id)
    assert not sub.active and sub.paused_reason == "paused: is_archived"
    assert "archived" in fake_slack.calls_to("chat.postMessage", channel="DU1")[0].params["text"]


def test_a_public_channel_is_joined_and_a_private_one_is_reported(
        session_factory, fake_slack, product_id, make_runner):
    subscribe(session_factory, product_id=product_id, channel_id="C2", effective_from=SINCE)  # public, not in it
    private = subscribe(session_factory, product_id=product_id, channel_id="G1", created_by="U2",
                        effective_from=SINCE)
    make_runner().tick(DUE + timedelta(seconds=5))
    assert len(digests_in(fake_slack, "C2")) == 1 and len(fake_slack.uploaded_png("C2")) == 2
    assert sorted(c.params["channel"] for c in fake_slack.calls_to("conversations.join")) == ["C2", "G1"]
    assert digests_in(fake_slack, "G1") == []
    assert sub_row(session_factory, private).last_error == "not_in_channel"
    (dm,) = fake_slack.calls_to("chat.postMessage", channel="DU2")
    assert "/invite @PMF Gate" in dm.params["text"]


def test_a_rate_limited_post_waits_for_retry_after_and_is_delivered_once(
        session_factory, fake_slack, product_id, make_runner):
    subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    fake_slack.fail("chat.postMessage", status=429, retry_after=0)
    assert make_runner().tick(DUE + timedelta(seconds=5)).outcomes["sent"] == 1
    assert len(posts_to(fake_slack, "C1")) == 2 and len(digests_in(fake_slack, "C1")) == 1


# ----------------------------------------------------------------------------- content
def test_the_chart_is_rendered_once_for_every_channel_of_a_product(
        session_factory, fake_slack, product_id, make_runner):
    channels = [f"CCH{i}" for i in range(6)]
    for ch in channels:
        fake_slack.add_channel(ch, member=True)
        subscribe(session_factory, product_id=product_id, channel_id=ch, effective_from=SINCE)
    renders: list[Any] = []

    def counting(content: Any) -> bytes:
        renders.append(content)
        return PNG_MAGIC + b"chart"

    stats = make_runner(renderer=counting, max_workers=4).tick(DUE + timedelta(seconds=5))
    # Each of the two charts (digest, trajectory) is drawn once for all six channels.
    assert stats.outcomes["sent"] == 6 and len(renders) == 2 and stats.outcomes["charts_rendered"] == 2
    assert all(len(fake_slack.uploaded_png(ch)) == 2 for ch in channels)  # digest chart and trajectory


def test_a_week_without_new_data_gets_a_brief_digest_without_a_chart(session_factory, fake_slack, make_runner):
    # Data ends with the week of 9 Mar; the digest of 23 Mar covers 16–22 Mar: nothing new.
    pid = make_product(session_factory, through=datetime(2026, 3, 15).date())
    subscribe(session_factory, product_id=pid, channel_id="C1", effective_from=SINCE)
    make_runner().tick(DUE + timedelta(seconds=5))
    (message,) = digests_in(fake_slack, "C1")
    assert "No new data this week" in message["text"]
    context = " ".join(e["text"] for blk in message["blocks"] if blk["type"] == "context" for e in blk["elements"])
    assert "No new activity, signups or survey responses in the week of 16–22 Mar 2026" in context
    assert fake_slack.uploaded_png("C1") == []


def test_the_real_digest_chart_is_uploaded_into_the_channel(session_factory, fake_slack, product_id, make_runner):
    from bot.digests.tick import render_chart

    subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    make_runner(renderer=render_chart).tick(DUE + timedelta(seconds=5))
    (png, trajectory) = fake_slack.uploaded_png("C1")
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    assert trajectory.startswith(PNG_MAGIC) and len(trajectory) > 10_000 and trajectory != png
    complete = fake_slack.calls_to("files.completeUploadExternal")
    assert [c.params["channel_id"] for c in complete] == ["C1", "C1"]
    assert all("alt_txt" not in c.json_param("files")[0] for c in complete)


def test_a_subscription_turned_off_after_the_claim_is_skipped(session_factory, fake_slack, product_id, make_runner):
    sub_id = subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    plan_due(session_factory, now=DUE + timedelta(seconds=1))
    with unit_of_work(session_factory) as s:
        sub = s.get(DigestSubscription, sub_id)
        assert sub is not None
        sub.active = False
    assert make_runner().tick(DUE + timedelta(seconds=5)).outcomes["skipped"] == 1
    assert digests_in(fake_slack, "C1") == []


Runner = Callable[..., DigestRunner]


def test_when_the_earlier_post_cannot_be_checked_attempts_run_out_instead_of_looping(
        session_factory, fake_slack, product_id, make_runner):
    sub_id = subscribe(session_factory, product_id=product_id, channel_id="C1", created_by="U1",
                       effective_from=SINCE)
    fake_slack.fail("chat.postMessage", status=500)
    fake_slack.fail("conversations.history", error="internal_error", times=100)
    runner = make_runner()
    for minutes in range(0, 24 * 60, 10):
        runner.tick(DUE + timedelta(minutes=minutes, seconds=5))
    history = fake_slack.attempts("conversations.history")
    assert len(history) == DIGEST_DELIVERY.max_attempts - 1  # one post, then each look-up is an attempt
    assert len(posts_to(fake_slack, "C1")) == 1 and digests_in(fake_slack, "C1") == []
    (row,) = rows(session_factory)
    assert row.status == "failed" and "outcome is unknown" in (row.error or "")
    assert sub_row(session_factory, sub_id).consecutive_failures == 1


def test_a_workspace_without_an_installation_pauses_its_digests(session_factory, fake_slack, product_id, make_runner):
    from bot.errors import NotFound

    def gone(_client: Any) -> Any:
        raise NotFound("PMF Gate is not installed in workspace T1")

    sub_id = subscribe(session_factory, product_id=product_id, channel_id="C1", effective_from=SINCE)
    make_runner(client_wrapper=gone).tick(DUE + timedelta(seconds=5))
    sub = sub_row(session_factory, sub_id)
    assert not sub.active and sub.paused_reason == "paused: not_installed"
    assert fake_slack.attempts("chat.postMessage") == []
