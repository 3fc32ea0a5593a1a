"""The gate against the ways a founder fools themselves (issue 11), by seeded simulation.

Each row runs a modest number of replicates of one scenario of ``calibration.py`` through the real
domain code and checks the pass rate against the target SPEC §5 was calibrated to. With few
replicates the observed rate scatters around the true one, so the bound checked is the count
a true rate exactly at the target would exceed only 1% of the time (a binomial quantile), and for
power the count it would fall under only 1% of the time. The many-replicate version that prints
the table is ``bench/gate_calibration.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bot.domain.settings import SurveySettings
from bot.domain.survey import survey_signal

from .calibration import (
    ORGANIC_SCENARIOS,
    RETENTION_SCENARIOS,
    SURVEY_AS_OF,
    SURVEY_SCENARIOS,
    organic_pass,
    retention_pass,
    retention_pass_at_any_look,
    survey_answers,
    survey_pass,
)


def at_most(hits: int, reps: int, target: float) -> bool:
    """Consistent with a true pass rate of at most ``target``."""
    return hits <= stats.binom.ppf(0.99, reps, target)


def at_least(hits: int, reps: int, target: float) -> bool:
    """Consistent with a true pass rate of at least ``target``."""
    return hits >= stats.binom.ppf(0.01, reps, target)


def _by_name(scenarios, name):  # type: ignore[no-untyped-def]
    return next(s for s in scenarios if s.name.startswith(name))


# --------------------------------------------------------------------------- retention

RETENTION_ROWS = [
    # (scenario name prefix, replicates, "max" false-pass rate | "min" pass rate, target)
    ("first 2-3 cohorts stay 30%", 30, "max", 0.04),
    ("decay 3%/wk from 10%", 20, "max", 0.04),
    ("decay 3%/wk from 15%", 20, "max", 0.04),
    ("decay 4%/wk from 12%", 20, "max", 0.04),
    ("decay 5%/wk from 10%", 20, "max", 0.04),
    ("decay 5%/wk from 15%", 20, "max", 0.04),
    ("true plateau at 25%", 12, "min", 0.85),
    ("true plateau at 15%", 12, "min", 0.75),
]


@pytest.mark.parametrize(("name", "reps", "kind", "target"), RETENTION_ROWS, ids=[r[0] for r in RETENTION_ROWS])
def test_retention_pass_rates(name: str, reps: int, kind: str, target: float) -> None:
    scenario = _by_name(RETENTION_SCENARIOS, name)
    assert (scenario.truth == "plateau") is (kind == "min")
    hits = sum(retention_pass(scenario, 1000 + i) for i in range(reps))
    check = at_most if kind == "max" else at_least
    assert check(hits, reps, target), f"{hits}/{reps} passed"


def test_a_slow_decay_looked_at_every_week_rarely_passes_at_any_look() -> None:
    # Without the relative tolerance and the confirmation, a slow decay passed at some week 95%
    # of the time. Eight weekly looks at each replicate here.
    scenario = _by_name(RETENTION_SCENARIOS, "decay 3%/wk from 15%")
    reps = 12
    hits = sum(retention_pass_at_any_look(scenario, 2000 + i, looks=8, n_boot=1000) for i in range(reps))
    assert at_most(hits, reps, 0.05), f"{hits}/{reps} passed at some look"


# --------------------------------------------------------------------------- organic

ORGANIC_ROWS = [
    ("true 50% organic (at the bar)", 400, "max", 0.06),
    ("true 45% organic", 400, "max", 0.01),
    ("true 40% organic, 30% of paid untagged", 400, "max", 0.06),
    # 60-150 signups a week and a measured share of 56% (the untagged allowance): issue 18's
    # "also without the biggest week" costs this small product power (65% -> 55%); the ample-data
    # power target is in calibration_organic.py.
    ("true 65% organic, a third untagged", 200, "min", 0.45),
    ("true 70% organic", 200, "min", 0.85),
]


@pytest.mark.parametrize(("name", "reps", "kind", "target"), ORGANIC_ROWS, ids=[r[0] for r in ORGANIC_ROWS])
def test_organic_pass_rates(name: str, reps: int, kind: str, target: float) -> None:
    scenario = _by_name(ORGANIC_SCENARIOS, name)
    assert (scenario.truth == "organic") is (kind == "min")
    hits = sum(organic_pass(scenario, 3000 + i) for i in range(reps))
    check = at_most if kind == "max" else at_least
    assert check(hits, reps, target), f"{hits}/{reps} passed"


def test_organic_at_the_bar_is_not_needlessly_strict() -> None:
    # The lower bound is one-sided 95%: a true 50% should still pass now and then (about 3-6%),
    # not never, or a real organic majority would need far more signups than necessary.
    scenario = _by_name(ORGANIC_SCENARIOS, "true 50% organic (at the bar)")
    hits = sum(organic_pass(scenario, 3000 + i) for i in range(400))
    assert at_least(hits, 400, 0.02), f"{hits}/400 passed"


# --------------------------------------------------------------------------- survey

SURVEY_ROWS = [
    ("true 40% (at the bar), one look", 150, "max", 0.01),
    ("true 40%, looked at weekly", 40, "max", 0.02),
    ("true 38%, keen users answer 7x more, weighted", 300, "max", 0.02),
    ("true 30%, keen users answer 7x more, weighted", 100, "max", 0.01),
    ("true 50%, 300 answers", 100, "min", 0.75),
]


@pytest.mark.parametrize(("name", "reps", "kind", "target"), SURVEY_ROWS, ids=[r[0] for r in SURVEY_ROWS])
def test_survey_pass_rates(name: str, reps: int, kind: str, target: float) -> None:
    scenario = _by_name(SURVEY_SCENARIOS, name)
    assert (scenario.truth == "above the bar") is (kind == "min")
    hits = sum(survey_pass(scenario, 4000 + i) for i in range(reps))
    check = at_most if kind == "max" else at_least
    assert check(hits, reps, target), f"{hits}/{reps} passed"


def test_without_weighting_keen_respondents_still_fool_the_score() -> None:
    # The simulation reproduces the problem the weighting solves: unmatched (unweighted) answers
    # from self-selected respondents clear the bar on their own far more often than the 2% target;
    # since issue 18 such a survey (all answers unmatched) can no longer pass at all.
    scenario = _by_name(SURVEY_SCENARIOS, "true 38%, keen users answer 7x more, unweighted")
    fooled = passed = 0
    for i in range(100):
        rng = np.random.default_rng(4000 + i)
        responses, audience = survey_answers(scenario, rng, int(rng.integers(scenario.n[0], scenario.n[1] + 1)))
        sig = survey_signal(responses, SURVEY_AS_OF, SurveySettings(), audience=audience)
        fooled += sig.pass_bound is not None and sig.pass_bound >= 0.4
        passed += sig.status == "pass"
    assert fooled >= 15, f"{fooled}/100 cleared the bar"
    assert passed == 0
