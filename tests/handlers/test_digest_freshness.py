"""A stored weekly snapshot is a cache (SPEC §10): the digest, its "Details" button and the App
Home must agree with ``/pmf-check`` for the same as-of, whatever was stored before the data,
the settings or the rules changed. Over real HTTP against the fake Slack Web API; the clock is
fixed at Monday 23 Nov 2026, so the digest's as-of (the Monday that ends its week) is today."""

from __future__ import annotations

from pathlib import Path

from bot.domain.types import GateReport
from bot.ingest.csv_import import import_csv
from bot.render.blocks import VERDICT_TEXT, signal_line
from bot.reports.service import gate_report
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
