"""Synthetic users for the domain tests: seeded, simulated one user at a time (vectorised).

Each user belongs to a weekly signup cohort, is active in week 0 (the signup counts), stays
"alive" while a uniform draw is under the survival curve ``survival(k)`` and, while alive, is
active in week ``k`` with probability ``activity(k)``. The rows are what storage would load:
per user, their cohort week and the week offsets they were active in (including offsets after
``as_of``, which the domain must ignore).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from bot.domain.retention import build_cohort_table, tail_offsets, tail_patterns_from_users
from bot.domain.settings import RetentionSettings
from bot.domain.types import CohortTable, TailPatterns
from bot.domain.weeks import week_start

Curve = Callable[[np.ndarray], np.ndarray]
FIRST_WEEK = 2900  # a Monday-based week index in 2025


@dataclass(frozen=True)
class Sim:
    as_of: date
    users: list[tuple[int, tuple[int, ...]]]  # (cohort week, active week offsets)


def simulate(
    seed: int,
    sizes: Sequence[int],
    survival: Curve,
    activity: Curve,
    *,
    extra_weeks: int = 3,
) -> Sim:
    """One cohort a week starting at FIRST_WEEK, with ``sizes[i]`` users in cohort ``i``.

    ``as_of`` is the Monday after the last cohort's week, so the last cohort has only week 0
    complete; activity is simulated ``extra_weeks`` beyond it to check that it is ignored.
    """
    rng = np.random.default_rng(seed)
    n_cohorts = len(sizes)
    horizon = n_cohorts + extra_weeks
    k = np.arange(horizon)
    surv = survival(k.astype(float))
    act = activity(k.astype(float))
    users: list[tuple[int, tuple[int, ...]]] = []
    for i, n in enumerate(sizes):
        u = rng.random(n)
        alive = u[:, None] < surv[None, :]
        active = alive & (rng.random((n, horizon)) < act[None, :])
        active[:, 0] = True
        for row in active:
            users.append((FIRST_WEEK + i, tuple(int(x) for x in np.flatnonzero(row))))
    last_week = FIRST_WEEK + n_cohorts - 1
    return Sim(as_of=week_start(last_week + 1), users=users)


def counts_of(users: Sequence[tuple[int, tuple[int, ...]]]) -> tuple[dict[int, int], list[tuple[int, int, int]]]:
    """What storage would aggregate: cohort sizes and (cohort, offset, active) rows."""
    sizes = Counter(w for w, _ in users)
    active = Counter((w, k) for w, offs in users for k in offs)
    return dict(sizes), [(w, k, n) for (w, k), n in sorted(active.items())]


def table_and_patterns(sim: Sim, settings: RetentionSettings) -> tuple[CohortTable, TailPatterns]:
    sizes, active = counts_of(sim.users)
    table = build_cohort_table(sim.as_of, sizes, active)
    patterns = tail_patterns_from_users(sim.users, table, tail_offsets(table, settings))
    return table, patterns
