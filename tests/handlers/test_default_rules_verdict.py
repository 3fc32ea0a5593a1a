"""Custom rules never hide, in Slack (SPEC §5 "Gate verdict"): after a manager sets
``retention.drift_ratio`` to 0 with ``/pmf-check config``, a product whose newer users retain worse
than its first ones reads "ready" — and the report, ``share``, the weekly digest and the App Home
card each say in one line that the default rules give "not sure yet", with the command back to
the defaults. Before the change (every rule the default) none of them says anything of the kind.
Real Bolt app, signed requests, fake Slack Web API."""

from __future__ import annotations

import time
from pathlib import Path

from bot.domain.settings import RetentionSettings
from bot.ingest.csv_import import import_csv
from bot.products.service import create_product
from tests.fakes.fixtures import AS_OF
from tests.fakes.keen_product import write_keen_product
from tests.fakes.slack_api import text_of

DRIFT = RetentionSettings().drift_ratio  # the default, as the reports show it
BOTH = "Ready to scale with your custom rules; with the default rules: Not sure yet, so not yet"
BACK = f"To judge by the defaults again: `/pmf-check config retention.drift_ratio {DRIFT:g}`."


def _seed(session_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = write_keen_product(tmp_path / "keen", AS_OF)
    create_product(session_factory, slug="acme", name="Acme", team_id="T1")
    for kind in ("signups", "events", "responses"):
        import_csv(session_factory, kind=kind, path=getattr(files, kind), product_slug="acme", team_id="T1",
                   progress=False)


def _home(harness, fake_slack, n: int) -> str:  # type: ignore[no-untyped-def]
    harness.event({"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home",
                   "event_ts": str(time.time())})
    return text_of(fake_slack.wait_calls("views.publish", n)[n - 1].json_param("view"))


def test_both_verdicts_on_the_report_share_digest_and_app_home(harness, fake_slack, session_factory, tmp_path):
    _seed(session_factory, tmp_path)
    before = text_of(harness.pmf("status").reply())
    assert "Not sure yet, so not yet" in before and "default rules" not in before and "Custom rules" not in before
    assert "default rules" not in _home(harness, fake_slack, 1)

    assert "Changed" in text_of(harness.pmf("config retention.drift_ratio 0").reply())

    report = text_of(harness.pmf("status").reply())
    assert "Ready to scale" in report
    assert report.count(BOTH) == 2, report  # the verdict section and the notification text
    assert BACK in report
    assert f"Custom rules: retention.drift_ratio 0 (default {DRIFT:g}), set by <@U1> on " in report

    harness.pmf("share").reply()
    (shared,) = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == "C1"
                 and "PMF Gate" in c.params["text"]]
    assert BOTH in shared.params["text"] and BOTH in text_of({"blocks": shared.json_param("blocks")})

    harness.pmf("digest now").reply()
    (digest,) = [m for m in fake_slack.messages["C1"] if "Week of" in text_of(m)]
    assert BOTH in text_of(digest) and BACK in text_of(digest)

    home = _home(harness, fake_slack, 2)
    assert BOTH in home and BACK in home

    history = text_of(harness.pmf("history").reply())
    assert f"Every week is computed with your custom rules (retention.drift_ratio 0 (default {DRIFT:g}))" in history
    assert "(with the default rules: Not sure yet, so not yet)" in history
