"""Durable post-ack work on the in-process queue (SPEC §11, SQLite's twin of procrastinate; the
same job functions and JSON arguments): every job run twice does its effects once, a job
killed between two steps (an exception raised right after one) finishes on its rerun without
repeating the step, a job a dead process acked is replayed at start-up, and "did not finish" is
said only by a job that gave up before any effect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs import effects as effects_module
from bot.jobs.runner import execute, job_args
from handlers.commands.pmf_check import JOB
from storage.db import unit_of_work
from storage.models_jobs import Job, JobEffect
from storage.repositories import jobs as repo
from tests.fakes.fixtures import NOW
from tests.fakes.harness import Harness
from tests.fakes.slack_api import FakeSlack


def command_args(fake: FakeSlack, text: str, response_id: str, *, channel: str = "C1") -> dict[str, Any]:
    return {"team_id": "T1", "enterprise_id": None, "channel_id": channel, "channel_name": "general",
            "user_id": "U1", "text": text, "response_url": fake.response_url(response_id)}


def stored(harness: Harness, args: dict[str, Any]) -> dict[str, Any]:
    return job_args(args, harness.ctx.now())


class Killed(Exception):
    """The process dying right after a step (the step's record is written, nothing after it)."""


def kill_after(monkeypatch: pytest.MonkeyPatch, step_prefix: str, times: int = 1) -> list[str]:
    """Raise ``Killed`` right after the first ``times`` records of a step starting with ``step_prefix``."""
    real = effects_module.Effects.record
    killed: list[str] = []

    def record(self: effects_module.Effects, step: str, result: str | None = None) -> None:
        real(self, step, result)
        if step.startswith(step_prefix) and len(killed) < times:
            killed.append(step)
            raise Killed(step)

    monkeypatch.setattr(effects_module.Effects, "record", record)
    return killed


def test_status_run_twice_replies_once_and_uploads_its_chart_once(harness: Harness, fake_slack: FakeSlack,
                                                                 seed_product: Any) -> None:
    seed_product("T1", "acme", "Acme")
    args = stored(harness, command_args(fake_slack, "status", "twice"))
    execute(harness.ctx, JOB, args, attempt=0)
    harness.ctx.sent_charts.clear()  # another process: only the recorded effects remember the upload
    execute(harness.ctx, JOB, args, attempt=1)
    replies = fake_slack.responses("twice")
    assert len(replies) == 1 and "Acme" in replies[0].params["text"]
    assert replies[0].params["replace_original"] is True
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1


def test_status_killed_after_its_chart_upload_replies_once_without_a_second_upload(
        harness: Harness, fake_slack: FakeSlack, seed_product: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_product("T1", "acme", "Acme")
    killed = kill_after(monkeypatch, "chart:")
    args = stored(harness, command_args(fake_slack, "status", "killed-chart"))
    with pytest.raises(Killed):
        execute(harness.ctx, JOB, args, attempt=0)
    assert killed and fake_slack.responses("killed-chart") == []
    harness.ctx.sent_charts.clear()
    execute(harness.ctx, JOB, args, attempt=1)
    assert len(fake_slack.responses("killed-chart")) == 1
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1


def test_share_killed_after_its_post_posts_once_and_its_chart_follows(
        harness: Harness, fake_slack: FakeSlack, seed_product: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_product("T1", "acme", "Acme")
    kill_after(monkeypatch, "post")
    args = stored(harness, command_args(fake_slack, "share", "killed-post"))
    with pytest.raises(Killed):
        execute(harness.ctx, JOB, args, attempt=0)
    assert len(fake_slack.messages["C1"]) == 1 and fake_slack.uploaded_png("C1") == []
    execute(harness.ctx, JOB, args, attempt=1)
    execute(harness.ctx, JOB, args, attempt=2)  # and a third run changes nothing
    assert len(fake_slack.messages["C1"]) == 1
    assert len(fake_slack.uploaded_png("C1")) == 1
    replies = fake_slack.responses("killed-post")
    assert len(replies) == 1 and "Posted the report" in replies[0].params["text"]


def test_share_that_died_before_recording_its_post_finds_it_in_the_channel(
        harness: Harness, fake_slack: FakeSlack, seed_product: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_product("T1", "acme", "Acme")
    real = effects_module.Effects.record
    calls = {"n": 0}

    def lose_the_post_record(self: effects_module.Effects, step: str, result: str | None = None) -> None:
        if step == "post" and calls["n"] == 0:
            calls["n"] += 1
            raise Killed(step)  # posted, but died before the record
        real(self, step, result)

    monkeypatch.setattr(effects_module.Effects, "record", lose_the_post_record)
    args = stored(harness, command_args(fake_slack, "share", "unrecorded"))
    with pytest.raises(Killed):
        execute(harness.ctx, JOB, args, attempt=0)
    execute(harness.ctx, JOB, args, attempt=1)
    assert len(fake_slack.messages["C1"]) == 1  # reconciled by its metadata, not posted again
    assert len(fake_slack.uploaded_png("C1")) == 1
    assert len(fake_slack.responses("unrecorded")) == 1


def test_a_reply_sent_but_not_recorded_is_sent_again_replacing_the_same_message(
        harness: Harness, fake_slack: FakeSlack, seed_product: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_product("T1", "acme", "Acme")
    real = effects_module.Effects.record

    def lose_reply_record(self: effects_module.Effects, step: str, result: str | None = None) -> None:
        if step == "reply:1" and not getattr(lose_reply_record, "done", False):
            lose_reply_record.done = True  # type: ignore[attr-defined]
            raise Killed(step)
        real(self, step, result)

    monkeypatch.setattr(effects_module.Effects, "record", lose_reply_record)
    args = stored(harness, command_args(fake_slack, "product", "resent"))
    with pytest.raises(Killed):
        execute(harness.ctx, JOB, args, attempt=0)
    execute(harness.ctx, JOB, args, attempt=1)
    replies = fake_slack.responses("resent")
    # Two uses of the URL, both replacing the placeholder: the user sees one message.
    assert len(replies) == 2 and all(r.params["replace_original"] is True for r in replies)
    assert replies[0].params["text"] == replies[1].params["text"]


def test_a_job_that_fails_every_attempt_says_did_not_finish_once(harness: Harness, fake_slack: FakeSlack,
                                                                 seed_product: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seed_product("T1", "acme", "Acme")
    monkeypatch.setattr("handlers.commands.report.channel_report", lambda *a, **k: (_ for _ in ()).throw(
        ConnectionError("database went away")))
    args = stored(harness, command_args(fake_slack, "status", "gives-up"))
    for attempt in (0, 1):
        with pytest.raises(ConnectionError):
            execute(harness.ctx, JOB, args, attempt=attempt)
    assert fake_slack.responses("gives-up") == []  # retried, nothing said yet
    execute(harness.ctx, JOB, args, attempt=2)  # the last attempt gives up
    replies = fake_slack.responses("gives-up")
    assert len(replies) == 1 and "did not finish" in replies[0].params["text"]


def test_no_did_not_finish_after_the_post_went_out(harness: Harness, fake_slack: FakeSlack, seed_product: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seed_product("T1", "acme", "Acme")
    kill_after(monkeypatch, "post")  # the first attempt dies right after its post
    args = stored(harness, command_args(fake_slack, "share", "posted"))
    with pytest.raises(Killed):
        execute(harness.ctx, JOB, args, attempt=0)
    # ...and the chart upload below it then fails on every attempt.
    monkeypatch.setattr("bot.reports.slack.post.upload", lambda *a, **k: (_ for _ in ()).throw(OSError("gone")))
    with pytest.raises(OSError):
        execute(harness.ctx, JOB, args, attempt=1)
    execute(harness.ctx, JOB, args, attempt=2)  # gives up (its upload fails)
    assert len(fake_slack.messages["C1"]) == 1
    assert all("did not finish" not in r.params["text"] for r in fake_slack.responses("posted"))


def test_a_url_older_than_25_minutes_replies_by_dm(harness: Harness, fake_slack: FakeSlack,
                                                   seed_product: Any) -> None:
    seed_product("T1", "acme", "Acme")
    args = job_args(command_args(fake_slack, "product", "old"), harness.ctx.now() - timedelta(minutes=26))
    execute(harness.ctx, JOB, args, attempt=0)
    assert fake_slack.responses("old") == []
    # A DM goes to the IM channel conversations.open names (bot/slack/post.py dm), not the user id.
    dms = [c for c in fake_slack.calls_to("chat.postMessage") if c.params.get("channel") == "DU1"]
    assert len(dms) == 1


def test_an_acked_job_of_a_dead_process_is_replayed_at_start_up(
        slack_settings: Any, session_factory: sessionmaker[Session], fake_slack: FakeSlack, seed_product: Any) -> None:
    seed_product("T1", "acme", "Acme")
    # What a process killed right after its ack leaves: the stored job, nothing else.
    # (acked a moment ago: the restart's replay runs before the harness pins its clock)
    args = job_args(command_args(fake_slack, "status", "replayed"), datetime.now(UTC))
    with unit_of_work(session_factory) as s:
        repo.add_job(s, job_key=args["_key"], name=JOB, args=args, now=NOW)
    h = Harness(slack_settings, session_factory, fake_slack, now=NOW)  # the restart
    try:
        reply = fake_slack.wait_response("replayed")[0].params
        assert "Acme" in reply["text"]
        h.settle()
        with session_factory() as s:
            assert s.scalar(select(func.count()).select_from(Job)) == 0
            assert s.scalar(select(func.count()).select_from(JobEffect)) >= 1
        assert len(fake_slack.responses("replayed")) == 1
    finally:
        h.close()


def test_the_ack_comes_after_the_job_is_stored_and_the_row_goes_when_done(harness: Harness, fake_slack: FakeSlack,
                                                                          seed_product: Any,
                                                                          session_factory: sessionmaker[Session],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seed_product("T1", "acme", "Acme")
    seen: list[int] = []
    real_submit = harness.ctx.work.submit

    def submit(fn: Any, *a: Any, **k: Any) -> Any:
        with session_factory() as s:  # committed before it runs, and so before the ack
            seen.append(s.scalar(select(func.count()).select_from(Job)) or 0)
        return real_submit(fn, *a, **k)

    monkeypatch.setattr(harness.ctx.work, "submit", submit)
    r = harness.pmf("status")
    assert "Working on" in r.ack()["text"]
    assert "Acme" in r.reply()["text"]
    harness.settle()
    assert seen == [1]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_arguments_that_are_not_json_are_refused_before_the_ack(harness: Harness) -> None:
    with pytest.raises(TypeError):
        harness.ctx.queue.defer(JOB, {"team_id": "T1", "text": object()})  # type: ignore[union-attr]


def test_housekeeping_forgets_effects_older_than_two_days_only(harness: Harness,
                                                               session_factory: sessionmaker[Session]) -> None:
    from bot.jobs.maintenance import prune

    now = harness.ctx.now()
    with unit_of_work(session_factory) as s:
        repo.record_effect(s, job_key="old", step="reply:1", result="url", now=now - timedelta(days=2, minutes=1))
        repo.record_effect(s, job_key="new", step="reply:1", result="url", now=now - timedelta(days=1))
    assert prune(harness.ctx) == (1, 0)
    with session_factory() as s:
        assert [k for (k,) in s.execute(select(JobEffect.job_key))] == ["new"]
