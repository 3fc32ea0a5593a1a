"""``/pmf-check config retention.active_events …`` through the real Bolt app (SPEC §5 "Activity"):
the reply lists the imported event names with their user-weeks (counted independently here from
the demo's events CSV), marks the excluded ones, and the report then discloses the custom rule."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from bot.domain.weeks import week_of_date
from tests.fakes.slack_api import text_of


def _user_weeks(path: str) -> dict[str, int]:
    events = pd.read_csv(path)
    events["week"] = [week_of_date(datetime.fromisoformat(t).date()) for t in events["occurred_at"]]
    return events.drop_duplicates(["user_id", "week", "event"])["event"].value_counts().to_dict()


def test_config_lists_top_events_and_an_exclusion_is_a_custom_rule(harness, seed_product, demo_data) -> None:  # type: ignore[no-untyped-def]
    seed_product("T1", "acme", "Acme")
    counts = _user_weeks(str(demo_data.events))
    assert counts  # the demo names its events
    name, n = max(counts.items(), key=lambda kv: kv[1])

    shown = text_of(harness.pmf("config").reply())
    assert f"{name}: {n:,} user-weeks" in shown
    assert "(not counted)" not in shown
    assert "Custom rules" not in text_of(harness.pmf("status").reply())

    reply = text_of(harness.pmf(f"config retention.active_events exclude: {name}, email_opened").reply())
    assert "Changed" in reply
    assert f"exclude:email_opened,{name}" in reply
    assert f"{name}: {n:,} user-weeks (not counted)" in reply
    report = text_of(harness.pmf("status").reply())
    assert "Custom rules: retention.active_events exclude:email_opened," in report
    assert "(default: every event counts)" in report

    bad = text_of(harness.pmf("config retention.active_events email_opened").reply())
    assert "include: or exclude:" in bad
