"""The Sean Ellis survey: answers, counting rules, Wilson, responses needed, segments, themes."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from bot.domain.settings import SurveySettings
from bot.domain.survey import (
    QUESTION,
    _wilson_p,
    answer_label,
    count_answers,
    latest_per_respondent,
    parse_answer,
    responses_needed,
    segment_scores,
    survey_signal,
    wilson,
)
from bot.domain.themes import benefit_themes
from bot.domain.types import Answer, SurveyCounts, SurveyResponse

AS_OF = date(2025, 11, 24)
SETTINGS = SurveySettings()


def responses(very: int, somewhat: int, not_: int, na: int = 0, *, day: date = AS_OF, seed: int = 0) -> list[SurveyResponse]:
    """Distinct respondents with the given answers, shuffled, on days within the window."""
    counts: dict[Answer, int] = {"very": very, "somewhat": somewhat, "not": not_, "na": na}
    answers = [a for a, n in counts.items() for _ in range(n)]
    rng = np.random.default_rng(seed)
    answers = [answers[i] for i in rng.permutation(len(answers))]
    days = rng.integers(0, 60, size=len(answers))
    return [
        SurveyResponse(respondent=f"u{i}", answered_at_day=day - timedelta(days=int(d)), answer=a)
        for i, (a, d) in enumerate(zip(answers, days, strict=True))
    ]


# --------------------------------------------------------------------------- wording and parsing


def test_question_and_labels_are_exact() -> None:
    assert QUESTION.format(product="Acme") == "How would you feel if you could no longer use Acme?"
    assert [answer_label(a, "Acme") for a in ("very", "somewhat", "not", "na")] == [
        "Very disappointed",
        "Somewhat disappointed",
        "Not disappointed",
        "N/A \u2014 I no longer use Acme",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "very"), ("2", "somewhat"), ("3", "not"), ("4", "na"), (" 1. ", "very"), ("(2)", "somewhat"),
        ("very", "very"), ("VERY", "very"), ("Somewhat", "somewhat"), ("not", "not"), ("n/a", "na"),
        ("NA", "na"), ("N/A!", "na"),
        ("Very disappointed", "very"), ("very  disappointed", "very"), ("\u201cVery disappointed\u201d", "very"),
        ("*Somewhat disappointed*", "somewhat"), ("'not disappointed'", "not"), ("Not disappointed.", "not"),
        ("N/A \u2014 I no longer use Acme", "na"), ("n/a - i no longer use acme", "na"),
        ("N/A \u2013 I no longer use Some Other Product 2.0", "na"), ("NA-I no longer use it", "na"),
        ("I love it, very useful", None), ("very useful", None), ("not sure", None), ("5", None), ("", None),
        ("   ", None), ("12", None), ("very very", None), ("not very disappointed", None),
        ("disappointed", None), ("n/a - I still use it", None), ("N/A \u2014 I no longer use", None),
    ],
    ids=lambda v: repr(v) if isinstance(v, str) else str(v),
)
def test_parse_answer(text: str, expected: str | None) -> None:
    assert parse_answer(text) == expected


@pytest.mark.parametrize("answer", ["very", "somewhat", "not", "na"], ids=lambda a: f"label-{a}")
def test_every_label_parses_back(answer: Answer) -> None:
    assert parse_answer(answer_label(answer, "Acme Cloud")) == answer


# --------------------------------------------------------------------------- Wilson


def test_wilson_matches_statsmodels_over_many_cases() -> None:
    rng = np.random.default_rng(0)
    cases = [(k, n) for n in range(1, 60) for k in range(n + 1)]
    cases += [(int(rng.integers(0, n + 1)), int(n)) for n in rng.integers(60, 100_000, size=300)]
    for k, n in cases:
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert wilson(k, n) == pytest.approx((lo, hi), abs=1e-12), (k, n)


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        # By hand: p = 0.4, z^2/n = 0.096036; centre = (0.4 + 0.048018) / 1.096036 = 0.408762,
        # half = 1.959964 * sqrt(0.006 + 0.000600) / 1.096036 = 0.145279.
        (16, 40, (0.263483, 0.554041)),
        (0, 0, (0.0, 1.0)),
        (0, 10, (0.0, 0.277533)),
        (10, 10, (0.722467, 1.0)),
    ],
    ids=["16-of-40", "no-answers", "none-of-10", "all-of-10"],
)
def test_wilson_by_hand(k: int, n: int, expected: tuple[float, float]) -> None:
    assert wilson(k, n) == pytest.approx(expected, abs=1e-6)


# --------------------------------------------------------------------------- responses needed


Z_PASS = 2.7


def _chance_by_enumeration(very: int, scored: int, more: int, threshold: float) -> float:
    """The chance that ``more`` answers at the current score settle it, the slow obvious way:
    every possible number of new "very" answers, its binomial probability (scipy), and the
    verdict it would give from statsmodels' Wilson intervals (95% shown, pass at z = 2.7)."""
    x = np.arange(more + 1)
    pmf = stats.binom.pmf(x, more, very / scored)
    n = scored + more
    lo_pass, _ = proportion_confint(very + x, n, alpha=2 * stats.norm.sf(Z_PASS), method="wilson")
    _, hi95 = proportion_confint(very + x, n, alpha=0.05, method="wilson")
    settled = (lo_pass >= threshold - 1e-12) | (hi95 < threshold - 1e-12)
    return float(pmf[settled].sum())


@pytest.mark.parametrize(
    ("very", "scored", "threshold"),
    [(20, 40, 0.4), (24, 50, 0.4), (30, 60, 0.4), (12, 40, 0.4), (9, 30, 0.25), (33, 40, 0.7), (5, 10, 0.4)],
    ids=lambda v: str(v),
)
def test_responses_needed_gives_an_80pct_chance_by_enumeration(very: int, scored: int, threshold: float) -> None:
    more = responses_needed(very, scored, threshold, 1)
    assert more > 0
    assert _chance_by_enumeration(very, scored, more, threshold) >= 0.8
    if more <= 256:  # found by a scan of every number: nothing smaller does it
        assert all(_chance_by_enumeration(very, scored, m, threshold) < 0.8 for m in range(more))
    else:
        assert _chance_by_enumeration(very, scored, more - 1, threshold) < 0.8


def test_the_old_number_settled_it_only_about_half_the_time() -> None:
    # 50% of 40: the interval at exactly this score clears 40% (at z = 2.7) from n = 175 on, but
    # answers scatter around the score, so 135 more settle it far less often than 80%.
    old_more = next(n for n in range(40, 1000) if _wilson_p(0.5, n, Z_PASS)[0] >= 0.4) - 40
    assert 0.4 < _chance_by_enumeration(20, 40, old_more, 0.4) < 0.65
    assert responses_needed(20, 40, 0.4, 40) > 1.3 * old_more


@pytest.mark.parametrize(
    ("very", "scored", "min_responses", "expected"),
    [
        (373, 731, 40, 0),  # already settled (pass)
        (9, 41, 40, 0),  # already settled (fail)
        (16, 40, 40, 0),  # exactly at 40%: no number of responses at this score settles it
        (40_001, 100_000, 40, 0),  # 40.001%: would take billions
        (9, 10, 40, 30),  # below the minimum, and 30 more at 90% settle it almost surely
        (0, 0, 40, 40),  # no answers yet: the shortfall
    ],
    ids=["settled-pass", "settled-fail", "score-at-threshold", "hopelessly-close", "below-minimum",
         "no-answers"],
)
def test_responses_needed_special_cases(very: int, scored: int, min_responses: int, expected: int) -> None:
    assert responses_needed(very, scored, 0.4, min_responses) == expected


# --------------------------------------------------------------------------- which responses count


def r(who: str, day: date, answer: Answer, order: float = 0.0, segment: str | None = None) -> SurveyResponse:
    return SurveyResponse(respondent=who, answered_at_day=day, answer=answer, order=order, segment=segment)


def test_latest_answer_per_respondent_wins() -> None:
    d = AS_OF - timedelta(days=10)
    rows = [
        r("a", d, "not"), r("a", d + timedelta(days=2), "very"),  # later day wins
        r("b", d, "very", order=2.0), r("b", d, "somewhat", order=1.0),  # same day: larger order wins
        r("c", d, "very"), r("c", d, "na"),  # exact tie: the later row wins
        r("d", d, "somewhat"),
    ]
    got = {x.respondent: x.answer for x in latest_per_respondent(rows, AS_OF, 90)}
    assert got == {"a": "very", "b": "very", "c": "na", "d": "somewhat"}


@pytest.mark.parametrize(
    ("days_before", "counted"),
    [(-1, False), (0, True), (89, True), (90, False), (400, False)],
    ids=["after-as-of", "on-as-of", "last-day-in-window", "first-day-outside", "a-year-ago"],
)
def test_window_excludes_old_answers(days_before: int, counted: bool) -> None:
    rows = [r("a", AS_OF - timedelta(days=days_before), "very")]
    assert bool(latest_per_respondent(rows, AS_OF, 90)) is counted


def test_an_old_answer_does_not_shadow_a_recent_one_and_vice_versa() -> None:
    rows = [r("a", AS_OF - timedelta(days=200), "very"), r("a", AS_OF - timedelta(days=5), "not"),
            r("b", AS_OF - timedelta(days=5), "very"), r("b", AS_OF + timedelta(days=1), "not")]
    got = {x.respondent: x.answer for x in latest_per_respondent(rows, AS_OF, 90)}
    assert got == {"a": "not", "b": "very"}


def test_count_answers() -> None:
    assert count_answers(responses(3, 2, 1, 4)) == SurveyCounts(very=3, somewhat=2, not_=1, na=4)
    assert count_answers([]).scored == 0


# --------------------------------------------------------------------------- the signal


@pytest.mark.parametrize(
    ("very", "somewhat", "not_", "expected"),
    [
        (373, 250, 108, "pass"),  # Ellis's own benchmark: 51%, CI 47-55%
        (16, 14, 10, "borderline"),  # 40%, CI 26-55%
        (9, 20, 12, "fail"),  # 22%, CI 12-37%
        (15, 14, 10, "insufficient_data"),  # 39 scored, 40 needed
    ],
    ids=["ellis-373-of-731", "16-of-40", "9-of-41", "39-responses"],
)
def test_survey_signal_rules(very: int, somewhat: int, not_: int, expected: str) -> None:
    s = survey_signal(responses(very, somewhat, not_), AS_OF, SETTINGS)
    n = very + somewhat + not_
    assert s.status == expected, s.summary
    assert (s.responses, s.very_disappointed) == (n, very)
    assert s.score == pytest.approx(very / n)
    assert s.ci == wilson(very, n)
    assert s.more_responses_needed == responses_needed(very, n, 0.4, 40)
    assert f"{n:,}" in s.summary


def test_na_answers_are_excluded_and_reported() -> None:
    s = survey_signal(responses(20, 12, 8, na=10), AS_OF, SETTINGS)
    assert (s.responses, s.not_applicable, s.score) == (40, 10, 0.5)
    assert s.counts == SurveyCounts(very=20, somewhat=12, not_=8, na=10)
    assert "10 N/A answers left out" in s.summary


def test_signal_counts_only_the_latest_answer_in_the_window() -> None:
    rows = responses(16, 14, 10)
    # Everyone who said "not" changes their mind to "very" later; old answers are ignored.
    later = [r(x.respondent, AS_OF, "very", order=1.0) for x in rows if x.answer == "not"]
    old = [r(f"old{i}", AS_OF - timedelta(days=120), "not") for i in range(50)]
    s = survey_signal(rows + later + old, AS_OF, SETTINGS)
    assert (s.responses, s.very_disappointed) == (40, 26)
    assert s.status == "pass"


def test_summary_of_a_borderline_score() -> None:
    s = survey_signal(responses(16, 14, 10), AS_OF, SETTINGS)
    assert s.summary == (
        "16 of 40 scored answers say they would be very disappointed: a score of 40% (95% CI 26\u201355%), "
        "not clearly above or below the 40% bar."
    )
    assert s.to_json()["ci"] == [0.263, 0.554]


# --------------------------------------------------------------------------- segments and themes


def test_segment_scores_hide_small_segments() -> None:
    d = AS_OF
    rows = (
        [r(f"e{i}", d, "very" if i < 4 else "not", segment="Engineer") for i in range(6)]
        + [r(f"p{i}", d, "very", segment="PM") for i in range(3)]
        + [r(f"x{i}", d, "somewhat", segment=None) for i in range(5)]
        + [r("blank", d, "very", segment="  "), r("gone", d, "na", segment="PM")]
    )
    got = {s.segment: s for s in segment_scores(rows)}
    assert [s.segment for s in segment_scores(rows)] == ["Engineer", "unspecified", "PM"]
    assert (got["Engineer"].responses, got["Engineer"].very_disappointed) == (6, 4)
    assert got["Engineer"].score == pytest.approx(4 / 6) and got["Engineer"].ci == wilson(4, 6)
    assert (got["PM"].responses, got["PM"].score, got["PM"].ci) == (3, None, None)  # N/A not scored
    assert (got["unspecified"].responses, got["unspecified"].very_disappointed) == (6, 1)


def test_benefit_themes() -> None:
    texts = [
        "It saves time on weekly reports",
        "Saves time! And the dashboards are great.",
        "Saves me time with reports",
        "The weekly reports, honestly",
        "dashboards dashboards dashboards",
        "Slack integration",
        "Great Slack integration and dashboards",
    ]
    # "time", "saves" and "reports" are each in 3 answers, but a phrase containing them covers 2
    # of those 3, so the phrase stands for them; "dashboards" repeated counts once per answer.
    assert benefit_themes(texts) == [
        ("dashboards", 3),
        ("saves time", 2),
        ("slack integration", 2),
        ("weekly reports", 2),
        ("great", 2),
    ]
    assert benefit_themes(texts, top=10)[5:] == [("honestly", 1)]
    assert benefit_themes([]) == []


def test_benefit_themes_prefer_a_phrase_that_covers_its_words() -> None:
    texts = ["Slack integration", "slack integration rocks", "The Slack integration", "search"]
    assert benefit_themes(texts) == [("slack integration", 3), ("rocks", 1), ("search", 1)]
