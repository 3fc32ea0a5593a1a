"""Simulated products for calibrating the gate: the ways a founder can fool themselves (issue 11).

Each scenario draws a product at random (cohort sizes 50-1,000 a week, 12-30 weeks of history,
survey n 40-300, as the audit that motivated SPEC §5 did), runs the real domain code on it and
reports whether the signal passed. The domain tests run a modest number of seeded replicates of
each; ``bench/gate_calibration.py`` runs many and prints the table. Everything is vectorised
over users so that a replicate costs milliseconds, not seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from bot.domain.organic import organic_signal
from bot.domain.retention import build_cohort_table, plateau_test, tail_offsets
from bot.domain.settings import OrganicSettings, RetentionSettings, SurveySettings
from bot.domain.survey import survey_signal
from bot.domain.types import (
    ActivityTier,
    Answer,
    RetentionSignal,
    Status,
    SurveyAudience,
    SurveyResponse,
    TailPatterns,
    WeekChannels,
)
from bot.domain.weeks import week_start

FIRST_WEEK = 2900
Survival = Callable[[int, np.ndarray], np.ndarray]  # (cohort index, week offsets) -> survival

# --------------------------------------------------------------------------- retention


def plateau_curve(level: float) -> Survival:
    """Drops quickly towards ``level`` and stays there: a true plateau."""
    return lambda _i, k: level + (1.0 - level) * np.exp(-k / 1.5)


def decay_curve(level: float, rate: float) -> Survival:
    """The retained users keep leaving at ``rate`` of the remaining ones a week."""
    return lambda _i, k: (1.0 - level) * np.exp(-k / 1.5) + level * (1.0 - rate) ** k


def early_adopters_curve(keen: int, level: float = 0.30, rate: float = 0.04) -> Survival:
    """The first ``keen`` cohorts stay at ``level``; every later cohort decays ``rate`` a week."""
    keen_curve, later = plateau_curve(level), decay_curve(level, rate)
    return lambda i, k: keen_curve(i, k) if i < keen else later(i, k)


def simulate_cohorts(rng: np.random.Generator, sizes: np.ndarray, survival: Survival,
                     activity: float = 0.85) -> list[np.ndarray]:
    """Per cohort, a (members, complete weeks) activity matrix; cohort i has len(sizes)-i weeks.

    A member is alive at offset k while a uniform draw is under the survival curve, and active
    while alive with probability ``activity``; week 0 counts the signup.
    """
    out = []
    n_cohorts = len(sizes)
    for i, n in enumerate(sizes):
        horizon = n_cohorts - i
        k = np.arange(horizon, dtype=np.float64)
        alive = rng.random(int(n))[:, None] < survival(i, k)[None, :]
        active = alive & (rng.random((int(n), horizon)) < activity)
        active[:, 0] = True
        out.append(active)
    return out


def retention_check(cohorts: list[np.ndarray], settings: RetentionSettings, *, weeks_back: int = 0,
                    previous_status: Status | None = None, n_boot: int = 2000, seed: int = 0) -> RetentionSignal:
    """The plateau test as of ``weeks_back`` weeks before the end of the simulated history."""
    n = len(cohorts) - weeks_back
    lcw = FIRST_WEEK + n - 1
    as_of = week_start(lcw + 1)
    sizes: dict[int, int] = {}
    rows: list[tuple[int, int, int]] = []
    mats = {}
    for i in range(n):
        m = cohorts[i][:, : n - i]
        mats[FIRST_WEEK + i] = m
        sizes[FIRST_WEEK + i] = m.shape[0]
        rows += [(FIRST_WEEK + i, k, int(c)) for k, c in enumerate(m.sum(axis=0))]
    table = build_cohort_table(as_of, sizes, rows)
    tail = tail_offsets(table, settings)
    patterns = None
    if tail:
        counts: dict[int, dict[int, int]] = {}
        for week, m in mats.items():
            cols = [(bit, k) for bit, k in enumerate(tail) if k < m.shape[1]]
            if not cols:
                continue
            mask = np.zeros(m.shape[0], dtype=np.int64)
            for bit, k in cols:
                mask |= m[:, k].astype(np.int64) << bit
            values, freq = np.unique(mask, return_counts=True)
            counts[week] = {int(v): int(f) for v, f in zip(values, freq, strict=True)}
        patterns = TailPatterns(offsets=tail, counts=counts)
    return plateau_test(table, patterns, settings, previous_status=previous_status, n_boot=n_boot, seed=seed)


def retention_gate(cohorts: list[np.ndarray], settings: RetentionSettings, *, weeks_back: int = 0,
                   n_boot: int = 2000, seed: int = 0) -> RetentionSignal:
    """The signal as the service computes it: this week's check, confirmed by last week's."""
    previous = retention_check(cohorts, settings, weeks_back=weeks_back + 1, n_boot=n_boot, seed=seed + 1)
    return retention_check(cohorts, settings, weeks_back=weeks_back, previous_status=previous.unconfirmed_status,
                           n_boot=n_boot, seed=seed)


def random_sizes(rng: np.random.Generator, weeks: int, low: int = 50, high: int = 1000) -> np.ndarray:
    """Cohort sizes for one product: a typical size log-uniform in [low, high], ±30% a week."""
    typical = np.exp(rng.uniform(np.log(low), np.log(high)))
    return np.maximum(1, np.round(typical * rng.uniform(0.7, 1.3, size=weeks))).astype(np.int64)


@dataclass(frozen=True)
class RetentionScenario:
    name: str
    survival: Callable[[np.random.Generator], Survival]  # drawn per replicate
    weeks: tuple[int, int]  # history, inclusive range
    sizes: tuple[int, int] = (50, 1000)
    truth: str = "no plateau"  # or "plateau": what a pass would be


RETENTION_SCENARIOS: tuple[RetentionScenario, ...] = (
    RetentionScenario("first 2-3 cohorts stay 30%, later ones decay 4%/wk (20-30 weeks)",
                      lambda rng: early_adopters_curve(int(rng.integers(2, 4))), (20, 30)),
    RetentionScenario("decay 3%/wk from 10%", lambda rng: decay_curve(0.10, 0.03), (12, 30)),
    RetentionScenario("decay 3%/wk from 15%", lambda rng: decay_curve(0.15, 0.03), (12, 30)),
    RetentionScenario("decay 4%/wk from 12%", lambda rng: decay_curve(0.12, 0.04), (12, 30)),
    RetentionScenario("decay 5%/wk from 10%", lambda rng: decay_curve(0.10, 0.05), (12, 30)),
    RetentionScenario("decay 5%/wk from 15%", lambda rng: decay_curve(0.15, 0.05), (12, 30)),
    RetentionScenario("true plateau at 25%, ample data", lambda rng: plateau_curve(0.25), (20, 30),
                      sizes=(500, 1000), truth="plateau"),
    RetentionScenario("true plateau at 15%, ample data", lambda rng: plateau_curve(0.15), (20, 30),
                      sizes=(700, 1000), truth="plateau"),
)


def retention_pass(scenario: RetentionScenario, seed: int, settings: RetentionSettings | None = None,
                   *, n_boot: int = 2000) -> bool:
    """One replicate: does the confirmed retention signal pass?"""
    rng = np.random.default_rng(seed)
    weeks = int(rng.integers(scenario.weeks[0], scenario.weeks[1] + 1))
    cohorts = simulate_cohorts(rng, random_sizes(rng, weeks, *scenario.sizes), scenario.survival(rng))
    return retention_gate(cohorts, settings or RetentionSettings(), n_boot=n_boot, seed=seed).status == "pass"


def retention_pass_at_any_look(scenario: RetentionScenario, seed: int, looks: int,
                               settings: RetentionSettings | None = None, *, n_boot: int = 2000) -> bool:
    """One replicate looked at every week for the last ``looks`` weeks: did it ever pass?"""
    rng = np.random.default_rng(seed)
    weeks = int(rng.integers(scenario.weeks[0], scenario.weeks[1] + 1)) + looks - 1
    cohorts = simulate_cohorts(rng, random_sizes(rng, weeks, *scenario.sizes), scenario.survival(rng))
    s = settings or RetentionSettings()
    statuses = [retention_check(cohorts, s, weeks_back=b, n_boot=n_boot, seed=seed + b).unconfirmed_status
                for b in range(looks, -1, -1)]
    # Confirmed: two consecutive weekly checks passed.
    return any(a == "pass" and b == "pass" for a, b in zip(statuses, statuses[1:], strict=False))


# --------------------------------------------------------------------------- organic

ORGANIC_AS_OF = week_start(FIRST_WEEK + 12) + timedelta(days=2)


@dataclass(frozen=True)
class OrganicScenario:
    name: str
    organic: float  # true organic share of signups
    organic_untagged: float = 0.0  # share of organic signups that arrive untagged
    paid_untagged: float = 0.0  # share of paid signups whose tags were lost
    weekly: tuple[int, int] = (20, 150)  # mean signups a week, drawn per replicate
    truth: str = "not organic"  # or "organic"


ORGANIC_SCENARIOS: tuple[OrganicScenario, ...] = (
    OrganicScenario("true 50% organic (at the bar)", 0.50),
    OrganicScenario("true 45% organic", 0.45),
    OrganicScenario("true 40% organic, 30% of paid untagged, half of organic untagged", 0.40,
                    organic_untagged=0.5, paid_untagged=0.3),
    OrganicScenario("true 65% organic, a third untagged", 0.65, organic_untagged=0.33, weekly=(60, 150),
                    truth="organic"),
    OrganicScenario("true 70% organic", 0.70, weekly=(40, 150), truth="organic"),
)


def organic_weeks(scenario: OrganicScenario, rng: np.random.Generator, weeks: int = 12) -> list[WeekChannels]:
    mean = rng.uniform(*scenario.weekly)
    out = []
    for i in range(weeks):
        n = int(rng.poisson(mean))
        organic = int(rng.binomial(n, scenario.organic))
        paid = n - organic
        o_untagged = int(rng.binomial(organic, scenario.organic_untagged))
        p_untagged = int(rng.binomial(paid, scenario.paid_untagged))
        out.append(WeekChannels(week=FIRST_WEEK + i, organic=organic - o_untagged, paid=paid - p_untagged,
                                unknown=0, direct=o_untagged + p_untagged))
    return out


def organic_pass(scenario: OrganicScenario, seed: int, settings: OrganicSettings | None = None) -> bool:
    rng = np.random.default_rng(seed)
    return organic_signal(organic_weeks(scenario, rng), ORGANIC_AS_OF, settings or OrganicSettings()).status == "pass"


# --------------------------------------------------------------------------- survey

SURVEY_AS_OF = date(2026, 11, 23)
TIER_SHARES: dict[ActivityTier, float] = {"light": 0.5, "regular": 0.3, "heavy": 0.2}
TIER_LIFT: dict[ActivityTier, float] = {"light": 0.0, "regular": 0.15, "heavy": 0.35}
PROPENSITY: dict[ActivityTier, float] = {"light": 1.0, "regular": 3.0, "heavy": 7.0}  # heavy answer 7x


def tier_scores(true_score: float) -> dict[ActivityTier, float]:
    """Very-disappointed rates per tier that average to ``true_score`` over the active users."""
    base = true_score - sum(TIER_SHARES[t] * TIER_LIFT[t] for t in TIER_SHARES)
    return {t: float(np.clip(base + TIER_LIFT[t], 0.0, 1.0)) for t in TIER_SHARES}


@dataclass(frozen=True)
class SurveyScenario:
    name: str
    true_score: float
    self_selected: bool  # heavy users answer 7x as often as light ones
    n: tuple[int, int] = (40, 300)
    looks: int = 1  # weekly looks, answers growing evenly from 40 to n
    weighted: bool = True  # respondents matched to users (else unweighted, as without matching)
    truth: str = "under the bar"


SURVEY_SCENARIOS: tuple[SurveyScenario, ...] = (
    SurveyScenario("true 40% (at the bar), one look", 0.40, self_selected=False),
    SurveyScenario("true 40%, looked at weekly from 40 to 300 answers", 0.40, self_selected=False,
                   n=(300, 300), looks=14),
    SurveyScenario("true 38%, keen users answer 7x more, weighted", 0.38, self_selected=True),
    SurveyScenario("true 30%, keen users answer 7x more, weighted", 0.30, self_selected=True),
    SurveyScenario("true 38%, keen users answer 7x more, unweighted (no matching)", 0.38,
                   self_selected=True, weighted=False),
    SurveyScenario("true 50%, 300 answers", 0.50, self_selected=False, n=(300, 300), truth="above the bar"),
    SurveyScenario("true 50%, keen users answer 7x more, 300 answers, weighted", 0.50, self_selected=True,
                   n=(300, 300), truth="above the bar"),
)

_ANSWER_OF = np.array(["very", "somewhat", "not"])


def survey_answers(scenario: SurveyScenario, rng: np.random.Generator, n: int
                   ) -> tuple[list[SurveyResponse], SurveyAudience]:
    tiers = list(TIER_SHARES)
    weights = np.array([TIER_SHARES[t] * (PROPENSITY[t] if scenario.self_selected else 1.0) for t in tiers])
    drawn = rng.choice(len(tiers), size=n, p=weights / weights.sum())
    scores = tier_scores(scenario.true_score)
    very = rng.random(n) < np.array([scores[tiers[i]] for i in drawn])
    other = np.where(rng.random(n) < 0.5, 1, 2)
    kinds = np.where(very, 0, other)
    day = SURVEY_AS_OF - timedelta(days=1)
    responses = [SurveyResponse(respondent=f"u{j}", answered_at_day=day, answer=_answer(str(_ANSWER_OF[kinds[j]])))
                 for j in range(n)]
    population = 2000
    audience = SurveyAudience(
        tiers={f"u{j}": tiers[drawn[j]] for j in range(n)} if scenario.weighted else {},
        active_by_tier={t: int(population * TIER_SHARES[t]) for t in tiers},
        channel_members=population,
    )
    return responses, audience


def _answer(a: str) -> Answer:
    assert a in ("very", "somewhat", "not")
    return a  # type: ignore[return-value]


def survey_pass(scenario: SurveyScenario, seed: int, settings: SurveySettings | None = None) -> bool:
    """One replicate; with several looks, whether any of them passed."""
    rng = np.random.default_rng(seed)
    s = settings or SurveySettings()
    n = int(rng.integers(scenario.n[0], scenario.n[1] + 1))
    responses, audience = survey_answers(scenario, rng, n)
    sizes = [n] if scenario.looks == 1 else np.linspace(40, n, scenario.looks).round().astype(int).tolist()
    for size in sizes:
        sub = responses[:size]
        aud = replace(audience, tiers={r.respondent: audience.tiers[r.respondent] for r in sub
                                       if r.respondent in audience.tiers})
        if survey_signal(sub, SURVEY_AS_OF, s, audience=aud).status == "pass":
            return True
    return False


def rate(hits: list[bool]) -> float:
    return sum(hits) / len(hits)
