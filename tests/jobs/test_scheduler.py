"""The APScheduler set-up: the clock's jobs and their options, the in-process scheduler of
``pmfbot socket``, and ``pmfbot clock`` itself as a real process that delivers a due digest and
stops cleanly on SIGTERM (Heroku's restart signal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot import scheduler
from bot.app import build_context
from bot.digests.ids import METADATA_EVENT
from bot.digests.jobs import TICK_SECONDS
from tests.jobs.helpers import SECRET, TOKEN, make_ctx, make_product, settings_for, subscribe


def _due_an_hour_ago(session_factory, product_id: int, channel: str) -> None:
    """A subscription whose latest run was an hour ago (real time): the first tick sends it."""
    ago = datetime.now(UTC) - timedelta(hours=1)
    subscribe(session_factory, product_id=product_id, channel_id=channel, weekday=ago.weekday(),
              local_time=f"{ago:%H:%M}", tz="UTC", effective_from=ago - timedelta(days=1))


def test_the_clock_jobs_have_ids_generous_misfire_grace_and_do_not_overlap(session_factory, fake_slack):
    sched = BackgroundScheduler(timezone=UTC)
    ctx = make_ctx(session_factory, fake_slack.api_url)
    scheduler.Clock(sched, ctx)
    scheduler.Clock(sched, ctx)  # a restart re-adds them: replace_existing, no duplicates
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"pmf.clock.digests", "pmf.clock.survey_deadlines", "pmf.clock.sql_sources",
                         "pmf.clock.prune_jobs"}
    for job in jobs.values():
        assert job.misfire_grace_time >= 60 and job.coalesce and job.max_instances == 1
    assert jobs["pmf.clock.digests"].trigger.interval == timedelta(seconds=TICK_SECONDS)
    assert jobs["pmf.clock.sql_sources"].trigger.interval == timedelta(seconds=3600)


def test_the_background_scheduler_delivers_a_due_digest_in_process(session_factory, fake_slack):
    pid = make_product(session_factory, users=40)
    _due_an_hour_ago(session_factory, pid, "C1")
    clock = scheduler.background_clock(make_ctx(session_factory, fake_slack.api_url))
    try:
        fake_slack.wait_for(lambda: [m for m in fake_slack.messages.get("C1", [])
                                     if (m.get("metadata") or {}).get("event_type") == METADATA_EVENT],
                            timeout=60, what="the digest in C1")
    finally:
        clock.stop(wait=True)
    assert len(fake_slack.calls_to("chat.postMessage", channel="C1")) == 1


def test_build_context_uses_the_composition_root(db_url, fake_slack):
    ctx = build_context(settings_for(db_url, fake_slack.api_url))
    client = ctx.client_for_team("T1")
    assert client.base_url == fake_slack.api_url and client.token == TOKEN


def test_pmfbot_clock_runs_delivers_and_stops_on_sigterm(db_url, session_factory, fake_slack, tmp_path):
    # Data up to last week, so the digest is a full one with its chart.
    pid = make_product(session_factory, users=40, through=(datetime.now(UTC) - timedelta(days=7)).date())
    _due_an_hour_ago(session_factory, pid, "C1")
    env = {**os.environ, "DATABASE_URL": db_url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": fake_slack.api_url,
           "PMFBOT_SECRET_KEY": SECRET, "LOG_LEVEL": "INFO"}
    env.pop("SLACK_SIGNING_SECRET", None)  # the clock receives no requests: it must not need it
    log = (tmp_path / "clock.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "clock"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        fake_slack.wait_calls("chat.postMessage", 1, timeout=90, channel="C1")
        fake_slack.wait_calls("files.completeUploadExternal", 1, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        log.seek(0)
        output = log.read()
    assert code == 0, output
    assert "clock ready" in output and "stopping the clock" in output
    assert "xoxb" not in output  # never log tokens
