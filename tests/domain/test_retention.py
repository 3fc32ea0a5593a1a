"""Cohort table and plateau test, on users simulated one by one (see ``_sim.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pytest

from bot.domain.retention import (
    build_cohort_table,
    choose_tail,
    plateau_test,
    tail_offsets,
    tail_patterns_from_users,
    usable_offsets,
)
from bot.domain.settings import RetentionSettings
from bot.domain.types import CohortTable, TailPatterns
from bot.domain.weeks import last_complete_week, week_start

from ._sim import FIRST_WEEK, Sim, counts_of, simulate, table_and_patterns

# The rules of the plateau itself, on one week's data: the two-week confirmation, the fixed set
# and the drift check have their own tests in test_retention_rules.py.
SETTINGS = RetentionSettings(confirm_weeks=1)


def flat(level: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda k: np.full_like(k, level)


def plateau(level: float, tau: float = 1.5) -> Callable[[np.ndarray], np.ndarray]:
    """Survival that drops quickly from 1 towards ``level`` and then stays there."""
    return lambda k: level + (1.0 - level) * np.exp(-k / tau)


# --------------------------------------------------------------------------- the table


def per_user_table(sim: Sim) -> tuple[int, dict[int, tuple[int, list[int]]], list[tuple[int, float, int, int]]]:
    """The cohort table computed the slow, obvious way from the user rows."""
    lcw = last_complete_week(sim.as_of)
    cohorts: dict[int, tuple[int, list[int]]] = {}
    for week in sorted({w for w, _ in sim.users}):
        if week > lcw:
            continue
        members = [set(offs) for w, offs in sim.users if w == week]
        cohorts[week] = (len(members), [sum(1 for m in members if k in m) for k in range(lcw - week + 1)])
    average = []
    for k in range(max(len(a) for _, a in cohorts.values())):
        users = active = n = 0
        for week, (size, act) in cohorts.items():
            if week + k <= lcw:  # young cohorts are censored, not zero
                users += size
                active += act[k]
                n += 1
        average.append((k, active / users, users, n))
    return lcw, cohorts, average


@pytest.mark.parametrize(
    ("weeks_back", "weekday"),
    [(0, 0), (0, 2), (0, 6), (3, 4)],
    ids=["as-of-monday", "as-of-wednesday", "as-of-sunday", "three-weeks-earlier-on-a-friday"],
)
def test_cohort_table_matches_a_per_user_computation(weeks_back: int, weekday: int) -> None:
    sim = simulate(7, [40, 55, 0, 70, 35, 60, 45, 80], plateau(0.35), flat(0.8), extra_weeks=4)
    # A cohort in the current, incomplete week and one a week later: neither may appear.
    users = sim.users + [(FIRST_WEEK + 8, (0, 1)), (FIRST_WEEK + 9, (0,))]
    sim = Sim(as_of=sim.as_of + timedelta(days=weekday - 7 * weeks_back), users=users)
    sizes, active = counts_of(sim.users)
    table = build_cohort_table(sim.as_of, sizes, active + [(FIRST_WEEK, -1, 99), (FIRST_WEEK + 50, 0, 5)])

    lcw, cohorts, average = per_user_table(sim)
    assert table.last_complete_week == lcw
    assert [(c.week, c.size, list(c.active)) for c in table.cohorts] == [
        (w, size, act) for w, (size, act) in sorted(cohorts.items())
    ]
    got = [(p.week_offset, p.retention, p.users, p.cohorts) for p in table.average]
    assert got == [(k, pytest.approx(r), u, n) for k, r, u, n in average]
    assert all(p.active == round(p.retention * p.users) for p in table.average)


def test_cohort_table_by_hand() -> None:
    as_of = week_start(13) + timedelta(days=3)  # a Thursday: week 13 is not complete, 12 is
    table = build_cohort_table(
        as_of,
        {10: 100, 11: 50, 12: 20, 13: 999, 9: 0},
        [(10, 0, 100), (10, 1, 40), (10, 2, 30), (10, 3, 25), (11, 0, 50), (11, 1, 30), (11, 1, 5),
         (12, 0, 20), (11, -1, 7), (13, 0, 999), (99, 0, 1)],
    )
    assert table.last_complete_week == 12
    assert [(c.week, c.size, c.active) for c in table.cohorts] == [
        (10, 100, (100, 40, 30)),  # offset 3 is week 13: not complete
        (11, 50, (50, 35)),  # duplicate rows add up
        (12, 20, (20,)),
    ]
    assert [(p.week_offset, p.retention, p.users, p.cohorts, p.active) for p in table.average] == [
        (0, 1.0, 170, 3, 170),
        (1, 75 / 150, 150, 2, 75),
        (2, 0.3, 100, 1, 30),  # only cohort 10 has a complete week 2: censored, not diluted
    ]


def test_usable_and_tail_offsets() -> None:
    table = build_cohort_table(week_start(20), {10 + i: 30 for i in range(10)}, [])
    # Offset k has 10 - k cohorts of 30 users: at least 60 users up to offset 8.
    settings = RetentionSettings(min_users=60, min_weeks=8, tail_weeks=4, min_cohorts=3)
    assert usable_offsets(table, settings) == tuple(range(9))
    # Only 2 cohorts reached offset 8, so the tail steps back to the 3 that reached offset 7.
    assert tail_offsets(table, settings) == (4, 5, 6, 7)
    # With 2 cohorts the tail is weeks 5-8, and storage also reads the drift check's early week 4.
    assert choose_tail(table, dataclasses.replace(settings, min_cohorts=2))[0] == (5, 6, 7, 8)
    assert tail_offsets(table, dataclasses.replace(settings, min_cohorts=2)) == (4, 5, 6, 7, 8)
    assert tail_offsets(table, dataclasses.replace(settings, min_weeks=10)) == ()
    # Week 0 (100% by definition) is never in the tail, so 8 tail weeks cannot fit in offsets 1-8.
    assert tail_offsets(table, dataclasses.replace(settings, tail_weeks=8, min_cohorts=1)) == tuple(range(1, 9))
    assert tail_offsets(table, dataclasses.replace(settings, tail_weeks=9)) == ()


def test_an_empty_table() -> None:
    table = build_cohort_table(date(2025, 6, 4), {}, [])
    assert table.cohorts == () and table.average == ()
    signal = plateau_test(table, None, SETTINGS)
    assert signal.status == "insufficient_data"
    assert signal.weeks_observed == 0 and signal.users == 0


# --------------------------------------------------------------------------- the plateau test

SCENARIOS = [
    # (id, seed, cohort sizes, survival, activity while alive, expected status)
    ("decays-towards-zero", 1, [600] * 12, lambda k: np.exp(-k / 2.5), flat(0.9), "fail"),
    ("plateau-30pct-2000-a-cohort", 3, [2000] * 20, plateau(1 / 3), flat(0.9), "pass"),
    ("still-sagging-2pts-a-week", 3, [1500] * 16, lambda k: np.clip(0.75 - 0.0222 * k, 0, 1), flat(0.9), "fail"),
    ("five-weeks-of-data", 4, [2000] * 5, plateau(1 / 3), flat(0.9), "insufficient_data"),
    # The same users coming back more and more is a lift, not a plateau: judged once it settles.
    ("rising-smile", 5, [1500] * 16, plateau(0.3), lambda k: np.minimum(0.95, 0.55 + 0.03 * k), "borderline"),
    ("flat-but-too-low", 6, [3000] * 14, plateau(0.025), flat(0.8), "fail"),
    ("level-may-be-under-5pct", 7, [150] * 20, plateau(0.06), flat(0.9), "borderline"),
    ("slight-sag-with-medium-cohorts", 8, [250] * 14, lambda k: np.clip(0.6 - 0.01 * k, 0, 1), flat(0.9),
     "borderline"),
]


@pytest.mark.parametrize(
    ("seed", "sizes", "survival", "activity", "expected"),
    [s[1:] for s in SCENARIOS],
    ids=[s[0] for s in SCENARIOS],
)
def test_plateau_scenarios(
    seed: int,
    sizes: list[int],
    survival: Callable[[np.ndarray], np.ndarray],
    activity: Callable[[np.ndarray], np.ndarray],
    expected: str,
) -> None:
    sim = simulate(seed, sizes, survival, activity)
    table, patterns = table_and_patterns(sim, SETTINGS)
    signal = plateau_test(table, patterns, SETTINGS)
    assert signal.status == expected, signal.summary
    assert signal.users == sum(sizes)
    assert f"{sum(sizes):,} users in {len(sizes)} cohorts" in signal.summary
    if expected == "insufficient_data":
        assert signal.tail_slope_ci is None
        assert signal.summary.startswith(f"Only {len(sizes)} weeks of retention")
        assert "8 are needed" in signal.summary
    else:
        assert signal.tail_slope_ci is not None and signal.plateau_level_ci is not None
        assert signal.tail_slope_ci[0] <= signal.tail_slope_ci[1]
        assert signal.tail_offsets == choose_tail(table, SETTINGS)[0]
        assert len(signal.tail_offsets) == SETTINGS.tail_weeks


def test_small_noisy_cohorts_around_a_plateau_rarely_pass() -> None:
    # ~45 users a cohort: a tail point rests on 50-300 users, far too few to call a slope flat.
    statuses = []
    for seed in range(20):
        sizes = [int(n) for n in np.random.default_rng(1000 + seed).integers(30, 61, size=10)]
        sim = simulate(seed, sizes, plateau(1 / 3), flat(0.9))
        table, patterns = table_and_patterns(sim, SETTINGS)
        statuses.append(plateau_test(table, patterns, SETTINGS, n_boot=500).status)
    assert statuses[0] != "pass"
    assert statuses.count("pass") <= 1, statuses


def _plateau_sim() -> tuple[CohortTable, TailPatterns, list[tuple[int, tuple[int, ...]]]]:
    sim = simulate(11, [400, 250, 300, 500, 350, 200, 450, 300, 250, 400, 300, 350], plateau(0.3), flat(0.85))
    table, patterns = table_and_patterns(sim, SETTINGS)
    return table, patterns, sim.users


def test_same_input_same_output_and_seed_only_moves_the_interval_slightly() -> None:
    table, patterns, _ = _plateau_sim()
    a = plateau_test(table, patterns, SETTINGS)
    assert plateau_test(table, patterns, SETTINGS) == a
    b = plateau_test(table, patterns, SETTINGS, seed=1)
    assert b.tail_slope == a.tail_slope and b.plateau_level == a.plateau_level
    assert a.tail_slope_ci is not None and b.tail_slope_ci is not None
    assert b.tail_slope_ci == pytest.approx(a.tail_slope_ci, abs=0.002)


def test_bootstrap_matches_a_naive_bootstrap_over_explicit_user_rows() -> None:
    table, patterns, users = _plateau_sim()
    n_boot = 4000
    signal = plateau_test(table, patterns, SETTINGS, n_boot=n_boot, seed=3)
    tail = signal.tail_offsets
    assert signal.tail_slope_ci is not None and signal.plateau_level_ci is not None

    # Independent version: one 0/1 row per user, resampled row by row within each cohort.
    rng = np.random.default_rng(12345)
    # Only the fixed set: the cohorts whose week at the last tail offset is complete.
    lengths = {c.week: len(c.active) for c in table.cohorts if len(c.active) > tail[-1]}
    assert tuple(sorted(lengths)) == signal.tail_cohorts
    sums = np.zeros((n_boot, len(tail)))
    denominators = np.zeros(len(tail))
    for week, length in lengths.items():
        rows = np.array(
            [[k in set(offs) and k < length for k in tail] for w, offs in users if w == week], dtype=float
        )
        eligible = np.array([k < length for k in tail], dtype=float)
        denominators += eligible * len(rows)
        picks = rng.integers(0, len(rows), size=(n_boot, len(rows)))
        sums += rows[picks].sum(axis=1)
    curves = sums / denominators
    slopes = np.polyfit(np.array(tail, dtype=float), curves.T, 1)[0]
    levels = curves.mean(axis=1)

    members = [c for c in table.cohorts if c.week in lengths]
    observed = np.array([sum(c.active[k] for c in members) / sum(c.size for c in members) for k in tail])
    assert signal.tail_slope == pytest.approx(np.polyfit(np.array(tail, dtype=float), observed, 1)[0])
    for ours, theirs in ((signal.tail_slope_ci, slopes), (signal.plateau_level_ci, levels)):
        naive = np.percentile(theirs, [5, 95])
        tolerance = 0.15 * float(np.std(theirs))  # Monte Carlo error of a 5% quantile is ~0.05 sd
        assert ours == pytest.approx(tuple(naive), abs=tolerance)


def test_ci_is_wider_than_if_points_were_independent() -> None:
    # Sanity check of the point of the bootstrap: the level of a curve whose points share users
    # varies more than the mean of independent binomial points would.
    table, patterns, _ = _plateau_sim()
    signal = plateau_test(table, patterns, SETTINGS, n_boot=4000)
    assert signal.plateau_level_ci is not None
    points = [p for p in table.average if p.week_offset in signal.tail_offsets]
    independent_sd = np.sqrt(sum(p.retention * (1 - p.retention) / p.users for p in points)) / len(points)
    ours_sd = (signal.plateau_level_ci[1] - signal.plateau_level_ci[0]) / (2 * 1.6449)
    assert ours_sd > 1.3 * independent_sd


def _without_tail_offset(patterns: TailPatterns) -> TailPatterns:
    # The last offset: the first may be the drift check's early offset, before the tail.
    return TailPatterns(offsets=patterns.offsets[:-1], counts=patterns.counts)


def _mismatched(patterns: TailPatterns) -> TailPatterns:
    week = min(patterns.counts)
    counts = dict(patterns.counts)
    moved = dict(counts[week])
    moved[0] -= 10
    moved[(1 << len(patterns.offsets)) - 1] = moved.get((1 << len(patterns.offsets)) - 1, 0) + 10
    counts[week] = moved
    return TailPatterns(offsets=patterns.offsets, counts=counts)


def _too_many(patterns: TailPatterns) -> TailPatterns:
    week = min(patterns.counts)
    return TailPatterns(offsets=patterns.offsets, counts={**patterns.counts, week: {0: 10**6}})


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (lambda p: None, "no per-user activity patterns"),
        (_without_tail_offset, "no activity patterns for week"),
        (_mismatched, "do not match the cohort table"),
        (_too_many, "more patterns than members"),
    ],
    ids=["no-patterns", "patterns-lack-a-tail-offset", "patterns-disagree-with-table", "patterns-exceed-cohort"],
)
def test_never_passes_without_an_interval(broken: Callable[[TailPatterns], TailPatterns | None], reason: str) -> None:
    sim = simulate(3, [2000] * 20, plateau(1 / 3), flat(0.9))
    table, patterns = table_and_patterns(sim, SETTINGS)
    assert plateau_test(table, patterns, SETTINGS).status == "pass"
    signal = plateau_test(table, broken(patterns), SETTINGS)
    assert signal.status == "borderline"
    assert signal.tail_slope_ci is None and signal.plateau_level_ci is None
    assert signal.tail_slope is not None and signal.plateau_level == pytest.approx(0.3, abs=0.02)
    assert "could not be computed" in signal.summary and reason in signal.summary


def test_patterns_may_leave_out_members_active_at_no_tail_week() -> None:
    table, patterns, _ = _plateau_sim()
    trimmed = TailPatterns(
        offsets=patterns.offsets,
        counts={w: {m: n for m, n in c.items() if m != 0} for w, c in patterns.counts.items()},
    )
    assert plateau_test(table, trimmed, SETTINGS) == plateau_test(table, patterns, SETTINGS)


def test_tail_patterns_from_users_by_hand() -> None:
    table = build_cohort_table(week_start(13), {10: 3, 12: 2}, [(10, 0, 3), (12, 0, 2)])
    users = [(10, (0, 1, 2)), (10, (0, 2)), (10, (0,)), (12, (0, 1)), (12, (0,)), (99, (0, 1))]
    patterns = tail_patterns_from_users(users, table, [2, 1])
    assert patterns.offsets == (1, 2)
    # Cohort 12 has only week 0 complete: its week-1 activity must not set a bit.
    assert patterns.counts == {10: {0b11: 1, 0b10: 1, 0: 1}, 12: {0: 2}}


def test_summary_reads_as_one_sentence_with_numbers() -> None:
    sim = simulate(3, [2000] * 20, plateau(1 / 3), flat(0.9))
    table, patterns = table_and_patterns(sim, SETTINGS)
    signal = plateau_test(table, patterns, SETTINGS)
    assert signal.summary.startswith("Retention flattens at 31% (90% CI ")
    assert "over weeks 9\u201314 after signup; slope " in signal.summary
    assert "of the remaining users a week" in signal.summary
    assert signal.summary.endswith("followed through the same 6 signup cohorts (4 Aug\u20138 Sep 2025, 12,000 users) "
                                   "of 40,000 users in 20 cohorts.")
    assert signal.to_json()["weeks_observed"] == 20
