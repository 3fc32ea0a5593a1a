"""The survey rules of issue 11, worked by hand: the pass bound at pass_z, the activity-tier
weighting with Kish's effective n, the response rate wording, and the note when a status moved
only because answers left the window."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from bot.domain.settings import SurveySettings
from bot.domain.survey import survey_signal
from bot.domain.types import ActivityTier, Answer, SurveyAudience, SurveyResponse
from bot.domain.weighting import activity_tier, weighted_score

AS_OF = date(2025, 11, 24)
SETTINGS = SurveySettings()


def answers(very: int, other: int, *, prefix: str = "u", day: date = AS_OF) -> list[SurveyResponse]:
    out: list[SurveyResponse] = []
    for i in range(very + other):
        a: Answer = "very" if i < very else ("somewhat" if i % 2 else "not")
        out.append(SurveyResponse(respondent=f"{prefix}{i}", answered_at_day=day, answer=a))
    return out


@pytest.mark.parametrize(
    ("very", "n", "expected"),
    [(55, 100, "pass"), (50, 100, "borderline"), (120, 240, "pass"), (29, 100, "fail"), (52, 100, "borderline"), (135, 250, "pass"),
     (51, 100, "borderline")],
    ids=["55-of-100", "50-of-100", "50pct-of-240", "29-of-100", "52-of-100", "135-of-250", "51-of-100"],
)
def test_pass_needs_the_wilson_bound_at_pass_z(very: int, n: int, expected: str) -> None:
    s = survey_signal(answers(very, n - very), AS_OF, SETTINGS)
    alpha = 2 * stats.norm.sf(2.7)
    lower, _ = proportion_confint(very, n, alpha=alpha, method="wilson")
    assert s.pass_bound == pytest.approx(lower, abs=1e-9)
    assert s.ci == pytest.approx(proportion_confint(very, n, alpha=0.05, method="wilson"), abs=1e-9)
    assert s.status == expected, s.summary
    assert (s.status == "pass") is (lower >= 0.4)


def test_a_score_above_the_95pct_bound_but_not_the_pass_bound_says_why_in_plain_words() -> None:
    s = survey_signal(answers(50, 50), AS_OF, SETTINGS)  # 95% CI 40.4-59.6%, pass bound 37%
    assert s.ci is not None and s.ci[0] > 0.4 and s.status == "borderline"
    assert "above the 40% bar; passing needs more, because a score checked every week clears the bar by luck" \
        in s.summary


@pytest.mark.parametrize(("weeks", "tier"), [(0, None), (1, "light"), (2, "light"), (3, "regular"), (5, "regular"),
                                             (6, "heavy"), (8, "heavy")])
def test_activity_tiers(weeks: int, tier: ActivityTier | None) -> None:
    assert activity_tier(weeks) == tier


def test_activity_tier_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        activity_tier(9)


def test_weighted_score_by_hand() -> None:
    # Active users: 600 light, 300 regular, 100 heavy. Answers: 10 light (2 very), 10 heavy (8 very).
    # Light answers weigh 600/700 of 20 answers over 10 = 1.714, heavy 100/700 x 20 / 10 = 0.286.
    # Score = 0.6 x 0.2 / 0.7 + 0.1 x 0.8 / 0.7 = 0.2857; Kish n = (20)^2 / (10 x 1.714^2 + 10 x 0.286^2) = 13.3.
    matched: list[tuple[ActivityTier, bool]] = [("light", i < 2) for i in range(10)] + [("heavy", i < 8) for i in range(10)]
    w = weighted_score(matched, {"light": 600, "regular": 300, "heavy": 100})
    assert w is not None
    assert w.score == pytest.approx((0.6 * 0.2 + 0.1 * 0.8) / 0.7)
    wl, wh = 20 * 6 / 7 / 10, 20 * 1 / 7 / 10
    assert w.effective_n == pytest.approx(20**2 / (10 * wl**2 + 10 * wh**2))
    assert w.effective_n < 20


def test_equal_weights_give_the_plain_score_and_n() -> None:
    matched: list[tuple[ActivityTier, bool]] = [("light", i < 3) for i in range(10)] + [("heavy", i < 7) for i in range(10)]
    w = weighted_score(matched, {"light": 500, "heavy": 500})
    assert w is not None and w.score == pytest.approx(0.5) and w.effective_n == pytest.approx(20)


def _audience(rows: list[SurveyResponse], tiers: list[ActivityTier | None], unmatched: int = 0,
              channel_members: int | None = None) -> SurveyAudience:
    keyed = {r.respondent: tier for r, tier in zip(rows[unmatched:], tiers, strict=True)}
    return SurveyAudience(tiers=keyed, active_by_tier={"light": 600, "regular": 300, "heavy": 100},
                          channel_members=channel_members)


def test_a_weighted_signal_uses_wilson_on_the_effective_n_and_shows_the_response_rate() -> None:
    rows = answers(0, 0)
    # 50 heavy users, 40 of them very disappointed; 50 light, 10 very: 50% unweighted.
    rows = [SurveyResponse(respondent=f"h{i}", answered_at_day=AS_OF, answer="very" if i < 40 else "not")
            for i in range(50)] + [SurveyResponse(respondent=f"l{i}", answered_at_day=AS_OF,
                                                  answer="very" if i < 10 else "somewhat") for i in range(50)]
    tiers: list[ActivityTier | None] = ["heavy"] * 50 + ["light"] * 50
    aud = SurveyAudience(tiers={r.respondent: t for r, t in zip(rows, tiers, strict=True)},
                         active_by_tier={"light": 900, "heavy": 100})
    s = survey_signal(rows, AS_OF, SETTINGS, audience=aud)
    w = weighted_score([(t, r.answer == "very") for r, t in zip(rows, tiers, strict=True) if t], {"light": 900, "heavy": 100})
    assert w is not None and s.weighted
    assert s.score == pytest.approx(0.9 * 0.2 + 0.1 * 0.8) == pytest.approx(w.score)
    assert s.effective_responses == pytest.approx(w.effective_n)
    p, n = w.score, w.effective_n
    z = 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert s.ci == pytest.approx((centre - half, centre + half))
    assert s.response_rate == pytest.approx(0.1) and s.response_rate_base == "active_users"
    assert "weighted by how active respondents are; 10% of active users answered" in s.summary
    assert s.status == "fail"  # 26%, clearly under 40% once the keen answers are weighted down


def test_inactive_users_answers_are_left_out() -> None:
    rows = answers(30, 30)
    aud = SurveyAudience(tiers={r.respondent: ("heavy" if i < 50 else None) for i, r in enumerate(rows)},
                         active_by_tier={"heavy": 500})
    s = survey_signal(rows, AS_OF, SETTINGS, audience=aud)
    assert s.responses == 50 and s.inactive_excluded == 10
    assert "10 answers from users no longer active left out" in s.summary


def test_unmatched_answers_count_unweighted_with_the_channel_response_rate() -> None:
    rows = answers(25, 25)
    aud = SurveyAudience(tiers={}, active_by_tier={"light": 600, "heavy": 100}, channel_members=250)
    s = survey_signal(rows, AS_OF, SETTINGS, audience=aud)
    plain = survey_signal(rows, AS_OF, SETTINGS)
    assert not s.weighted and s.unmatched == 50
    assert (s.score, s.ci, s.status) == (plain.score, plain.ci, plain.status)
    assert s.response_rate == pytest.approx(0.2) and s.response_rate_base == "channel_members"
    assert "unweighted; response rate 20% of channel members" in s.summary
    no_count = survey_signal(rows, AS_OF, SETTINGS, audience=SurveyAudience())
    assert "unweighted; response rate unknown" in no_count.summary


def test_some_unmatched_answers_are_mixed_in_at_weight_one() -> None:
    rows = answers(20, 20, prefix="m") + answers(5, 15, prefix="x")
    aud = SurveyAudience(tiers={r.respondent: "regular" for r in rows[:40]}, active_by_tier={"regular": 400},
                         channel_members=300)
    s = survey_signal(rows, AS_OF, SETTINGS, audience=aud)
    # One tier: the 40 matched weigh 1 each, as do the 20 unmatched: the plain score 25/60.
    assert s.weighted and s.unmatched == 20 and s.score == pytest.approx(25 / 60)
    assert "1 unmatched" not in s.summary and "20 unmatched answers unweighted" in s.summary
    assert "response rate 20% of channel members" in s.summary


def test_a_status_that_moved_only_because_answers_left_the_window_says_so() -> None:
    window = SETTINGS.window_days
    old_keen = answers(20, 0, prefix="old", day=AS_OF - timedelta(days=window))  # just left the window
    recent = answers(30, 30, prefix="r", day=AS_OF - timedelta(days=30))
    last_week = AS_OF - timedelta(days=7)
    before = survey_signal(old_keen + recent, last_week, SETTINGS)
    now = survey_signal(old_keen + recent, AS_OF, SETTINGS, previous_status=before.status, previous_as_of=last_week)
    assert before.status == "pass" and now.status == "borderline"
    assert now.changed_by_window
    assert now.summary.endswith("It moved from pass only because answers older than 90 days left the window, "
                                "not because of new ones.")
    # A change that new answers brought is not blamed on the window.
    fresh = answers(0, 40, prefix="n", day=AS_OF)
    moved = survey_signal(recent + fresh, AS_OF, SETTINGS, previous_status="borderline", previous_as_of=last_week)
    assert moved.status == "fail" and not moved.changed_by_window


def test_json_keeps_the_old_keys_and_adds_the_new_ones() -> None:
    keys = survey_signal(answers(20, 30), AS_OF, SETTINGS).to_json().keys()
    assert {"status", "responses", "very_disappointed", "score", "ci", "not_applicable", "more_responses_needed",
            "summary"} <= set(keys)
    assert {"pass_bound", "weighted", "effective_responses", "response_rate", "changed_by_window"} <= set(keys)
