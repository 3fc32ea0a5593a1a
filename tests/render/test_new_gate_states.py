"""The states issue 18 added (a rising retention tail, survey tiers not heard, too many unmatched
answers) reach every surface in one plain line with a next step: the CLI text, the JSON, the
Slack report blocks and the weekly digest. The signals come from the real domain code."""

from __future__ import annotations

import json
from datetime import date

from bot.digests.blocks import digest_message
from bot.domain.gate import evaluate
from bot.domain.retention import build_cohort_table, plateau_test, tail_offsets
from bot.domain.settings import ProductSettings, RetentionSettings
from bot.domain.survey import survey_signal
from bot.domain.types import (
    ActivityTier,
    GateReport,
    OrganicSignal,
    RetentionSignal,
    SurveyAudience,
    SurveyResponse,
    SurveySignal,
    TailPatterns,
)
from bot.domain.weeks import week_start
from bot.render.text import report_text
from bot.reports.blocks import gate_report_message

AS_OF = date(2025, 11, 24)
FIRST = 2900
ORGANIC = OrganicSignal(
    status="pass", organic_share=0.62, organic_share_ci=(0.59, 0.65), trend_per_week=0.011,
    trend_ci=(0.002, 0.020), signups=840, unknown_share=0.04, organic_signups=500, paid_signups=306,
    previous_organic_signups=480, previous_paid_signups=300, weeks_observed=20,
    weekly_shares=((1, 0.6), (2, 0.62)), summary="62% organic.",
)


def rising_retention() -> tuple[RetentionSignal, RetentionSettings]:
    # 14 cohorts of 1,000 with nested members; the tail's 6 cohorts gain 2 points a week.
    curve = [1.0, 0.5, 0.3, 0.3, 0.3, 0.3, 0.32, 0.34, 0.36, 0.38, 0.40, 0.42, 0.44, 0.46]
    n, size = 14, 1000
    settings = RetentionSettings()
    rows = [(FIRST + i, k, round(size * curve[k])) for i in range(n) for k in range(n - i)]
    table = build_cohort_table(week_start(FIRST + n), {FIRST + i: size for i in range(n)}, rows)
    offs = tail_offsets(table, settings)
    counts: dict[int, dict[int, int]] = {}
    for i in range(n):
        active = [round(size * curve[k]) if k < n - i else 0 for k in offs]
        masks: dict[int, int] = {}
        for j in range(size):
            m = sum(1 << b for b, a in enumerate(active) if j < a)
            masks[m] = masks.get(m, 0) + 1
        counts[FIRST + i] = masks
    return plateau_test(table, TailPatterns(offsets=offs, counts=counts), settings, previous_status="pass"), settings


def fans_only_survey() -> SurveySignal:
    tiers: dict[str, ActivityTier | None] = {f"u{i}": "heavy" for i in range(200)}
    responses = [SurveyResponse(respondent=f"u{i}", answered_at_day=AS_OF, answer="very" if i < 150 else "not")
                 for i in range(200)]
    return survey_signal(responses, AS_OF, ProductSettings().survey,
                         audience=SurveyAudience(tiers=tiers, active_by_tier={"light": 500, "regular": 300, "heavy": 200}))


def made_up_ids_survey() -> SurveySignal:
    tiers: dict[str, ActivityTier | None] = {}
    responses: list[SurveyResponse] = []
    for i in range(150):
        tier: ActivityTier = ("light", "regular", "heavy")[i % 3]
        tiers[f"u{i}"] = tier
        responses.append(SurveyResponse(respondent=f"u{i}", answered_at_day=AS_OF, answer="very" if i < 75 else "not"))
    responses += [SurveyResponse(respondent=f"x{i}", answered_at_day=AS_OF, answer="very") for i in range(60)]
    return survey_signal(responses, AS_OF, ProductSettings().survey,
                         audience=SurveyAudience(tiers=tiers, active_by_tier={"light": 500, "regular": 300, "heavy": 200}))


def make(survey: SurveySignal) -> GateReport:
    retention, _ = rising_retention()
    return evaluate(product="acme", product_name="Acme", as_of=AS_OF, retention=retention,
                    organic=ORGANIC, survey=survey, settings=ProductSettings())


def surfaces(report: GateReport) -> dict[str, str]:
    return {
        "cli text": report_text(report),
        "json": json.dumps(report.to_json(), ensure_ascii=False),
        "slack": json.dumps(gate_report_message(report), ensure_ascii=False),
        "digest": json.dumps(digest_message(report, previous=None), ensure_ascii=False),
    }


def test_a_rising_tail_and_a_fans_only_survey_are_explained_with_their_next_steps_everywhere() -> None:
    report = make(fans_only_survey())
    assert report.retention.rising and report.retention.status == "borderline"
    assert report.survey.status == "borderline" and report.verdict == "unclear"
    rising = "our retention rose over the last 6 weeks \u2014 a plateau must hold without a lift; it is judged once it settles"
    fans = "o answers yet from light or regular users \u2014 survey beyond your fans"
    steps = [s for s in report.next_steps if rising in s or fans in s]
    assert len(steps) == 2, report.next_steps
    assert "check again once retention stops rising" in steps[0]
    assert "until each has 5 answers" in steps[1]
    for name, text in surfaces(report).items():
        assert rising in text and fans in text, name
        assert "check again once retention stops rising" in text and "until each has 5 answers" in text, name


def test_too_many_unmatched_answers_are_explained_with_their_next_step_everywhere() -> None:
    report = make(made_up_ids_survey())
    assert report.survey.too_many_unmatched and report.survey.status != "pass"
    line = "60 of 210 answers cannot be tied to active users"
    assert any(s.startswith(line) and "respondent_id" in s for s in report.next_steps), report.next_steps
    for name, text in surfaces(report).items():
        assert line in text and "respondent_id set to the user_id" in text, name
