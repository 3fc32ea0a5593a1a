"""Issue 18 in Slack: ambiguous sources and the referral question are named in one plain line with
the command that settles them, on /pmf-check status, the digest, `--json` and the CLI text; a manager
answers once with `/pmf-check config organic.classify SOURCE organic|paid` and
`organic.referrals_rewarded`, each audited in `config history` and never a "Custom rules" line."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.ingest.csv_import import import_csv
from tests.fakes.fixtures import AS_OF
from tests.fakes.slack_api import text_of

CLASSIFY_LINE = ("2 sources need classifying: partner (120), podcast (80) — "
                 "`/pmf-check config organic.classify partner organic|paid`")


def write_signups(path: Path) -> Path:
    """12 weeks before AS_OF, 130 signups a week: 40 organic search, 10 cpc, 30 partner, 20 podcast,
    and 30 referral-tagged (23% of the week: the referral question)."""
    mix = ([("", "google", "organic")] * 40 + [("", "google", "cpc")] * 10 + [("partner", "", "")] * 30
           + [("podcast", "", "")] * 20 + [("", "referral", "")] * 30)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "signed_up_at", "channel", "utm_source", "utm_medium"])
        for week in range(12):
            day = AS_OF - timedelta(weeks=12 - week) + timedelta(days=2)
            for i, (channel, source, medium) in enumerate(mix):
                w.writerow([f"w{week}-{i}", day.isoformat(), channel, source, medium])
    return path


def test_unclassified_sources_and_the_referral_question_until_answered(harness, fake_slack, seed_product,
                                                                      session_factory, tmp_path, db_url,
                                                                      monkeypatch):
    seed_product("T1", "acme", "Acme", data=False)
    import_csv(session_factory, kind="signups", path=write_signups(tmp_path / "signups.csv"), product_slug="acme",
               team_id="T1", progress=False)

    status = text_of(harness.pmf("status").reply())
    assert CLASSIFY_LINE in status
    assert "`/pmf-check config organic.referrals_rewarded yes|no`" in status
    harness.pmf("digest now").reply()
    (digest,) = [m for m in fake_slack.messages["C1"] if "Week of" in text_of(m)]
    assert CLASSIFY_LINE in text_of(digest) and "organic.referrals_rewarded" in text_of(digest)

    monkeypatch.setenv("DATABASE_URL", db_url)
    out = CliRunner().invoke(main, ["check", "--product", "acme", "--workspace", "T1", "--as-of", AS_OF.isoformat(),
                                    "--json"])
    assert out.exit_code == 0, out.output
    organic = json.loads(out.output)["signals"]["organic"]
    assert organic["unclassified_sources"] == [{"source": "partner", "signups": 120}, {"source": "podcast", "signups": 80}]
    assert organic["unknown_share"] == round(200 / 520, 4) and organic["untagged_share"] == 0.0
    assert organic["referrals_question"] is True and organic["status"] != "pass"
    text = CliRunner().invoke(main, ["check", "--product", "acme", "--workspace", "T1", "--as-of", AS_OF.isoformat()])
    assert CLASSIFY_LINE in text.output

    # A source of several words, then the referral answer: each audited, neither a custom rule.
    assert "Changed" in text_of(harness.pmf("config organic.classify Partner paid").reply())
    refused = text_of(harness.pmf("config organic.classify partner maybe").reply())
    assert "organic or paid" in refused
    assert "Changed" in text_of(harness.pmf("config organic.referrals_rewarded no").reply())
    status = text_of(harness.pmf("status").reply())
    assert "partner (" not in status
    assert ("1 source needs classifying: podcast (80) — `/pmf-check config organic.classify podcast organic|paid`"
            in status) and "organic.referrals_rewarded yes|no" not in status
    assert "Custom rules" not in status
    history = text_of(harness.pmf("config history").reply())
    assert "`organic.classify.partner`" in history and "`organic.referrals_rewarded`" in history
