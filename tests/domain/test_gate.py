"""The gate: verdict combinations, warnings and next steps."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from typing import Any

import pytest

from bot.domain import gate
from bot.domain.gate import evaluate, verdict_text
from bot.domain.settings import ProductSettings
from bot.domain.types import (
    GateReport,
    OrganicSignal,
    RetentionSignal,
    Status,
    SurveyCounts,
    SurveySignal,
)

AS_OF = date(2025, 11, 24)
SETTINGS = ProductSettings()

RETENTION = RetentionSignal(
    status="pass", plateau_level=0.31, plateau_level_ci=(0.29, 0.33), tail_slope=-0.002,
    tail_slope_ci=(-0.006, 0.002), weeks_observed=14, tail_offsets=(8, 9, 10, 11, 12, 13), users=5230,
    summary="Retention flattens at 31%.",
)
ORGANIC = OrganicSignal(
    status="pass", organic_share=0.62, organic_share_ci=(0.59, 0.65), trend_per_week=0.011,
    trend_ci=(0.002, 0.020), signups=840, unknown_share=0.04, organic_signups=500, paid_signups=306,
    previous_organic_signups=480, previous_paid_signups=300, weeks_observed=20,
    weekly_shares=((1, 0.6), (2, 0.62)), summary="62% organic.",
)
SURVEY = SurveySignal(
    status="pass", responses=87, very_disappointed=41, score=41 / 87, ci=(0.37, 0.575), not_applicable=3,
    more_responses_needed=0, counts=SurveyCounts(very=41, somewhat=30, not_=16, na=3), summary="47%.",
)


def report(retention: Status = "pass", organic: Status = "pass", survey: Status = "pass", **changes: Any) -> GateReport:
    org = dataclasses.replace(ORGANIC, status=organic, **{k[2:]: v for k, v in changes.items() if k.startswith("o_")})
    ret = dataclasses.replace(RETENTION, status=retention, **{k[2:]: v for k, v in changes.items() if k.startswith("r_")})
    sur = dataclasses.replace(SURVEY, status=survey, **{k[2:]: v for k, v in changes.items() if k.startswith("s_")})
    return evaluate(product="acme", product_name="Acme", as_of=AS_OF, retention=ret, organic=org, survey=sur,
                    settings=SETTINGS)


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        (("pass", "pass", "pass"), "ready"),
        (("pass", "pass", "fail"), "not_ready"),
        (("fail", "pass", "pass"), "not_ready"),
        (("pass", "borderline", "pass"), "unclear"),
        (("insufficient_data", "pass", "pass"), "unclear"),
        (("insufficient_data", "insufficient_data", "insufficient_data"), "unclear"),
        (("fail", "borderline", "insufficient_data"), "not_ready"),
        (("borderline", "borderline", "borderline"), "unclear"),
    ],
    ids=["all-pass", "survey-fails", "retention-fails", "organic-borderline", "retention-insufficient",
         "nothing-known-yet", "one-fail-beats-unknowns", "all-borderline"],
)
def test_verdict(statuses: tuple[Status, Status, Status], verdict: str) -> None:
    r = report(*statuses)
    assert r.verdict == verdict
    assert r.to_json()["verdict"] == verdict
    if verdict == "ready":
        assert r.next_steps == gate.SCALE_STEPS and r.warnings == ()
    else:
        assert not set(r.next_steps) & set(gate.SCALE_STEPS)


def test_ready_next_steps_name_the_four_dimensions_of_scaling_and_warn_against_a_rewrite() -> None:
    steps = report("pass", "pass", "pass").next_steps
    assert [s.split(":")[0] for s in steps] == [
        "Harden the technology where it strains", "Broaden the product by usage data",
        "Add team and process without losing speed", "Automate operations",
        "Do not rewrite the product from scratch"]


def test_verdict_text() -> None:
    assert [verdict_text(v) for v in ("ready", "not_ready", "unclear")] == [
        "Ready to scale", "Not ready to scale", "Not sure yet, so not yet",
    ]


@pytest.mark.parametrize(
    ("verdict_statuses", "organic", "paid", "previous_paid", "expected"),
    [
        (("pass", "pass", "borderline"), 200, 300, 290, "paid signups outnumber organic ones in the last 4 weeks "
                                                      "(300 paid vs 200 organic)"),
        (("pass", "pass", "fail"), 500, 306, 250, "paid signups grew 22% on the 4 weeks before (250 to 306)"),
        (("pass", "pass", "fail"), 500, 306, 260, None),  # +17.7%, organic majority
        (("pass", "pass", "pass"), 500, 306, 200, None),  # ready: scaling is the point
        (("insufficient_data", "pass", "pass"), 100, 50, 0, None),  # no previous paid: no growth rate
    ],
    ids=["paid-majority", "paid-grew-over-20pct", "paid-grew-under-20pct", "ready-may-scale", "no-paid-before"],
)
def test_premature_scaling_warning(
    verdict_statuses: tuple[Status, Status, Status], organic: int, paid: int, previous_paid: int, expected: str | None
) -> None:
    r = report(*verdict_statuses, o_organic_signups=organic, o_paid_signups=paid, o_previous_paid_signups=previous_paid)
    warnings = [w for w in r.warnings if w.code == "premature_scaling"]
    if expected is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and expected in warnings[0].message


def test_other_warnings() -> None:
    r = report("pass", "pass", "pass", o_unknown_share=0.3, o_signups=1200, s_not_applicable=40)
    codes = {w.code: w.message for w in r.warnings}
    assert set(codes) == {"high_unknown_channels", "many_former_users"}
    assert codes["high_unknown_channels"].startswith("30% of signups in the last 4 weeks (394 of 1,200)")
    assert codes["many_former_users"].startswith("40 of 127 survey answers (31%)")


@pytest.mark.parametrize(
    ("changes", "step"),
    [
        ({"survey": "insufficient_data", "s_responses": 12, "s_more_responses_needed": 28},
         "Collect 28 more survey responses (12 so far; at least 40 are needed for a verdict)."),
        ({"survey": "insufficient_data", "s_responses": 35, "s_score": 16 / 35, "s_more_responses_needed": 248},
         "Collect about 248 more survey responses (35 so far): 40 are needed for a verdict, and if the score "
         "stays near 46%, about 248 more give an 80% chance of settling whether it clears 40%."),
        ({"survey": "borderline", "s_responses": 40, "s_score": 0.5, "s_more_responses_needed": 53},
         "Collect about 53 more survey responses (40 so far): if the score stays near 50%, that gives an 80% "
         "chance of settling"),
        ({"survey": "borderline", "s_score": 0.4, "s_more_responses_needed": 0},
         "The survey score (40%) sits right at the 40% bar"),
        ({"survey": "fail", "s_score": 0.22}, "Only 22% of users would be very disappointed (the bar is 40%)"),
        ({"retention": "insufficient_data", "r_weeks_observed": 5},
         "Wait at least 3 more weeks of data: retention needs 8 weeks with 50+ users each (5 so far)."),
        ({"retention": "insufficient_data", "r_weeks_observed": 0, "r_users": 30},
         "Retention needs cohorts with at least 50 users (30 so far)"),
        ({"retention": "borderline", "r_tail_slope": -0.005, "r_tail_slope_ci": (-0.014, 0.004)},
         "Retention over weeks 8\u201313 after signup is not yet clearly flat (slope \u22120.5 points a week, 90% CI \u22121.4 to +0.4)"),
        ({"retention": "borderline", "r_tail_slope_ci": None, "r_plateau_level_ci": None},
         "Retention has no confidence interval"),
        ({"retention": "fail", "r_tail_slope": -0.021, "r_tail_slope_ci": (-0.026, -0.016)},
         "Retention is still falling about 2.1 points a week over weeks 8\u201313 after signup: find why users stop coming back "
         "after week 8."),
        ({"retention": "fail", "r_plateau_level": 0.021, "r_plateau_level_ci": (0.015, 0.028)},
         "Retention levels off at 2.1%, under the 5% minimum"),
        ({"organic": "insufficient_data", "o_unknown_share": 0.62},
         "Tag unknown signups with a channel: 62% of signups in the last 4 weeks have none"),
        ({"organic": "insufficient_data", "o_organic_signups": 10, "o_paid_signups": 2},
         "Get 18 more signups with a known channel: 12 in the last 4 weeks, 30 needed."),
        ({"organic": "insufficient_data", "o_weeks_observed": 4},
         "Wait 2 more weeks of signup history (4 of 6 so far)."),
        ({"organic": "borderline", "o_organic_share": 0.42, "o_trend_per_week": 0.02, "o_trend_ci": (0.01, 0.03)},
         "The organic share (42%) is under 50% but rising +2.0 points a week: at that pace it reaches 50% in about "
         "4 weeks."),
        ({"organic": "borderline", "o_organic_signups": 120, "o_previous_organic_signups": 240,
          "o_shrinking": True, "o_organic_weekly_change": -0.12},
         "Organic signups are falling about 12% a week (120 in the last 4 weeks, 240 in the weeks before)"),
        ({"organic": "fail", "o_organic_share": 0.3, "o_trend_ci": (-0.01, 0.01)},
         "Only 30% of signups with a known channel are organic (50% needed)"),
        ({"organic": "fail", "o_trend_per_week": -0.035, "o_trend_ci": (-0.04, -0.03)},
         "The organic share (62%) is falling about 3.5 points a week"),
    ],
    ids=["survey-too-few", "survey-too-few-and-unsettled", "survey-borderline", "survey-at-the-bar", "survey-fails", "retention-young",
         "retention-too-few-users", "retention-maybe-falling", "retention-without-interval", "retention-falling",
         "retention-too-low", "organic-unknown-channels", "organic-too-few-signups", "organic-short-history",
         "organic-rising", "organic-shrinking", "organic-mostly-paid", "organic-share-falling"],
)
def test_next_steps(changes: dict[str, object], step: str) -> None:
    statuses = {k: changes.pop(k) for k in ("retention", "organic", "survey") if k in changes}
    r = report(**statuses, **changes)  # type: ignore[arg-type]
    assert len(r.next_steps) == 1
    assert r.next_steps[0].startswith(step), r.next_steps[0]


def test_text_is_plain() -> None:
    r = report("insufficient_data", "insufficient_data", "borderline", o_unknown_share=0.7, s_more_responses_needed=9,
               r_weeks_observed=3, o_organic_signups=100, o_paid_signups=300, o_previous_paid_signups=100)
    assert r.verdict == "unclear" and len(r.next_steps) == 3
    for text in list(r.next_steps) + [w.message for w in r.warnings]:
        assert not re.search(r"[*_`<>]|\n", text.replace("channel.NAME", "")), text
