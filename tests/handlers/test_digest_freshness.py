"""A stored weekly snapshot is a cache (SPEC §10): the digest, its "Details" button and the App
Home must agree with ``/pmf-check`` for the same as-of, whatever was stored before the data,
the settings or the rules changed. Over real HTTP against the fake Slack Web API; the clock is
fixed at Monday 23 Nov 2026, so the digest's as-of (the Monday that ends its week) is today."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.digests.ids import Action as DigestAction
from bot.domain.types import GateReport
from bot.home.ids import Action as HomeAction
from bot.ingest.csv_import import import_csv
from bot.render.blocks import VERDICT_TEXT, signal_line
from bot.reports.service import gate_report
from storage.db import unit_of_work
from storage.models import WeeklySnapshot
from tests.fakes.fixtures import AS_OF
from tests.fakes.slack_api import text_of


def _import(session_factory, demo_data, slug: str = "acme") -> None:
    for kind, path in (("signups", demo_data.signups), ("events", demo_data.events),
                       ("responses", demo_data.responses)):
        import_csv(session_factory, kind=kind, path=Path(path), product_slug=slug, team_id="T1", progress=False)


def _says_the_report(text: str, report: GateReport) -> None:
    """``text`` states this report's verdict and each signal's status and values."""
    assert VERDICT_TEXT[report.verdict] in text
    for name, signal in (("Retention", report.retention), ("Organic", report.organic), ("Survey", report.survey)):
        assert signal_line(name, signal) in text, (name, text)


def _digest_posts(fake_slack) -> list[str]:
    return [c.params["text"] for c in fake_slack.calls_to("chat.postMessage", channel="C1")]


def test_digest_now_before_an_import_does_not_freeze_the_week_at_zero(harness, fake_slack, seed_product,
                                                                      session_factory, demo_data):
    harness.ctx.reports.fingerprint_ttl = 0.0
    seed_product("T1", "acme", "Acme", data=False)
    harness.pmf("digest now").reply(timeout=30)
    _import(session_factory, demo_data)
    harness.pmf("digest now").reply(timeout=30)

    before, after = _digest_posts(fake_slack)
    assert "No new" not in after
    expected = gate_report(session_factory, product_slug="acme", team_id="T1", as_of=AS_OF)
    assert expected.retention.users > 0
    _says_the_report(after, expected)
    _says_the_report(text_of(harness.pmf("status").reply(timeout=30)), expected)


def _home_text(harness, fake_slack) -> str:
    seen = len(fake_slack.calls_to("views.publish"))
    harness.event({"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home",
                   "event_ts": str(time.time())})
    return text_of(fake_slack.wait_calls("views.publish", seen + 1)[-1].json_param("view"))


def _details_text(harness, fake_slack, name: str) -> str:
    url = fake_slack.response_url(name)
    harness.block_action(DigestAction.DETAILS, "acme", channel="C1", response_url=url,
                         container={"type": "message", "message_ts": "1700000001.000001", "channel_id": "C1"},
                         message={"type": "message", "ts": "1700000001.000001", "text": "Weekly PMF digest"})
    (resp,) = fake_slack.wait_response(name, timeout=30)
    return text_of(resp.params)


def test_every_surface_agrees_with_pmf_check_for_the_same_as_of(harness, fake_slack, seed_product,
                                                                 session_factory, demo_data):
    harness.ctx.reports.fingerprint_ttl = 0.0
    seed_product("T1", "acme", "Acme", data=False)
    harness.pmf("digest now").reply(timeout=30)  # stores this week's and last week's snapshots, empty
    _home_text(harness, fake_slack)
    _import(session_factory, demo_data)

    expected = gate_report(session_factory, product_slug="acme", team_id="T1", as_of=AS_OF)
    _says_the_report(text_of(harness.pmf("status").reply(timeout=30)), expected)
    harness.pmf("digest now").reply(timeout=30)
    digest = _digest_posts(fake_slack)[-1]
    _says_the_report(digest, expected)
    # the change since last week is measured against last week's figures as they are now: the
    # 12-week sample had too few cohorts for a 6-cohort retention tail a week ago, so only
    # retention is new this week
    previous = gate_report(session_factory, product_slug="acme", team_id="T1", as_of=AS_OF - timedelta(days=7))
    assert previous.retention.plateau_level is None and previous.survey.score is not None
    assert "since last week" in digest and digest.count("new this week") == 1
    _says_the_report(_details_text(harness, fake_slack, "details"), expected)
    _says_the_report(_home_text(harness, fake_slack), expected)
    # App Home's "Send digest now" previews the digest in the clicker's DM
    harness.block_action(HomeAction.DIGEST, "acme")
    preview = fake_slack.wait_calls("chat.postMessage", channel="DU1")[0]
    _says_the_report(preview.params["text"], expected)


def test_a_settings_change_recomputes_the_stored_week(harness, fake_slack, seed_product, session_factory):
    harness.ctx.reports.fingerprint_ttl = 0.0
    seed_product("T1", "acme", "Acme")
    harness.pmf("digest now").reply(timeout=30)
    before = gate_report(session_factory, product_slug="acme", team_id="T1", as_of=AS_OF)
    harness.pmf("config survey.threshold 0.2").reply(timeout=30)

    expected = gate_report(session_factory, product_slug="acme", team_id="T1", as_of=AS_OF)
    # A lower bar changes the survey signal (its answers are unmatched, so it stays borderline).
    assert "the 20% bar" in expected.survey.summary and expected.survey.summary != before.survey.summary
    harness.pmf("digest now").reply(timeout=30)
    _says_the_report(_digest_posts(fake_slack)[-1], expected)


def test_a_snapshot_stored_under_other_rules_is_recomputed(harness, fake_slack, seed_product, session_factory):
    seed_product("T1", "acme", "Acme")
    harness.pmf("digest now").reply(timeout=30)
    with unit_of_work(session_factory) as s:  # as an older version of the rules would have stored it
        for row in s.scalars(select(WeeklySnapshot)):
            full = dict(row.report["full"], verdict="ready")
            row.report = dict(row.report, inputs="rules-0", full=full)

    harness.pmf("digest now").reply(timeout=30)
    expected = gate_report(session_factory, product_slug="acme", team_id="T1", as_of=AS_OF)
    assert expected.verdict != "ready"
    _says_the_report(_digest_posts(fake_slack)[-1], expected)
    assert "Ready to scale" not in _digest_posts(fake_slack)[-1]


def test_status_and_share_attach_the_chart_of_all_three_signals(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    harness.pmf("status").reply(timeout=30)
    harness.pmf("share").reply(timeout=30)
    fake_slack.wait_for(lambda: len([f for f in fake_slack.files.values() if f.get("title")]) == 2,
                        what="both charts uploaded")
    titles = {f["channel_id"]: f["title"] for f in fake_slack.files.values()}
    assert titles == {"DU1": "Acme · PMF signals · 2026-11-23", "C1": "Acme · PMF signals · 2026-11-23"}
