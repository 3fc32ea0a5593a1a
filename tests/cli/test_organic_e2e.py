"""Issue 18 end to end: paid ads auto-tagged with only a click id (gclid/fbclid in the landing URL,
no UTM tags), true organic 35%, through the real `pmfbot import signups` and `pmfbot check --json`:
the organic share counts them as paid and matches the domain's reading of the same weeks; and
`pmfbot config` classifies an ambiguous source, audited like Slack's."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import numpy as np

from bot.domain.weeks import week_start
from tests.domain.calibration_organic import (
    AS_OF,
    FBCLID,
    GCLID,
    HISTORY,
    LAST,
    SEO,
    UNTAGGED,
    Mix,
    by_name,
    draw_profiles,
    nb_volumes,
    week_row,
)


def _write(path: Path, weeks: list[dict[tuple[str, str, str, str], int]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "signed_up_at", "channel", "utm_source", "utm_medium", "landing_url", "referrer"])
        for i, counts in enumerate(weeks):
            day = week_start(LAST - len(weeks) + 1 + i) + timedelta(days=2)
            n = 0
            for (channel, source, medium, landing), k in counts.items():
                for _ in range(k):
                    w.writerow([f"w{i}-{n}", f"{day.isoformat()}T10:00:00Z", channel, source, medium, landing, ""])
                    n += 1


def test_auto_tagged_ads_count_as_paid_through_import_and_check(run, tmp_path: Path) -> None:
    rng = np.random.default_rng(35)
    mix = Mix({SEO: 0.5, UNTAGGED: 0.5}, {GCLID: 0.6, FBCLID: 0.4})
    weeks = draw_profiles(rng, nb_volumes(rng, 150, HISTORY), np.full(HISTORY, 0.35), mix)
    path = tmp_path / "signups.csv"
    _write(path, weeks)
    assert run("product", "create", "acme")[0] == 0
    code, _out, err = run("import", "signups", str(path), "--product", "acme")
    assert code == 0, err
    code, out, err = run("check", "--product", "acme", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    organic = json.loads(out)["signals"]["organic"]

    window = weeks[-4:]
    clicked = sum(n for w in window for p, n in w.items() if p in (GCLID, FBCLID))
    assert organic["click_id_signups"] == clicked > 0
    assert organic["paid_signups"] >= clicked
    # Without the click ids these signups carry no tags at all and would read as organic.
    assert organic["organic_share"] < 0.5 and organic["status"] != "pass"
    # The same weeks read by the domain directly: the import path loses nothing.
    scenario = by_name("auto-tagged")
    from bot.domain.organic import organic_signal

    direct = organic_signal([week_row(LAST - HISTORY + 1 + i, w) for i, w in enumerate(weeks)], AS_OF,
                            scenario.settings)
    assert organic["organic_share"] == round(direct.organic_share or 0.0, 4)
    assert organic["status"] == direct.status


def test_pmfbot_config_classifies_an_ambiguous_source(run) -> None:
    assert run("product", "create", "acme")[0] == 0
    code, out, _err = run("config", "--product", "acme", "organic.classify", "partner", "paid")
    assert code == 0 and "Changed organic.classify of acme to partner paid." in out
    assert "organic.classify.partner = paid" in out
    code, _out, err = run("config", "--product", "acme", "organic.classify", "tiktok", "paid")
    assert code == 2 and "not an ambiguous source" in err
    code, out, _err = run("config", "--product", "acme")
    assert code == 0 and "organic.referrals_rewarded = not answered" in out
