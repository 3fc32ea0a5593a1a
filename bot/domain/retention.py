"""Weekly cohorts, the average retention curve and the plateau test of SPEC §5.

This module owns the meaning of "retention has flattened": it turns per-cohort activity counts
into a ``CohortTable`` (complete weeks only, young cohorts censored rather than counted as zero),
picks the tail of the average curve, and decides pass / borderline / fail from a bootstrap over
users, because the points of one curve share their users and are not independent samples.
Storage supplies the counts and the per-user activity patterns of the tail (``TailPatterns``);
everything here is pure arithmetic on them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np
from numpy.typing import NDArray

from bot.domain import _text as t
from bot.domain.settings import RetentionSettings
from bot.domain.types import Cohort, CohortTable, CurvePoint, RetentionSignal, Status, TailPatterns
from bot.domain.weeks import last_complete_week

# --------------------------------------------------------------------------- the table


def build_cohort_table(
    as_of: date,
    sizes: Mapping[int, int],
    active_counts: Iterable[tuple[int, int, int]],
) -> CohortTable:
    """The cohort table as of ``as_of``, from cohort sizes and (cohort week, offset, active) rows.

    Only cohorts that started in a complete week are kept, and each lists ``active[k]`` only for
    the complete weeks ``cohort + k <= last_complete_week``; a missing row means 0 active. Rows with
    a negative offset, for an unknown cohort or beyond the last complete week are ignored, and
    duplicate rows for the same (cohort, offset) are added up. Empty cohorts (size 0) are dropped:
    they carry no users and would only inflate the cohort count.

    The average point at offset ``k`` is size-weighted over the cohorts whose week ``k`` is
    complete: sum(active) / sum(size). Younger cohorts are left out of that point (censored),
    never counted as zero, which would make a healthy curve look like it decays.
    """
    lcw = last_complete_week(as_of)
    kept = {w: int(n) for w, n in sizes.items() if w <= lcw and n > 0}
    active: dict[int, list[int]] = {w: [0] * (lcw - w + 1) for w in kept}
    for week, offset, n in active_counts:
        row = active.get(week)
        if row is None or offset < 0 or offset >= len(row):
            continue
        row[offset] += int(n)
    cohorts = tuple(Cohort(week=w, size=kept[w], active=tuple(active[w])) for w in sorted(kept))

    points: list[CurvePoint] = []
    longest = max((len(c.active) for c in cohorts), default=0)
    for k in range(longest):
        eligible = [c for c in cohorts if len(c.active) > k]
        users = sum(c.size for c in eligible)
        act = sum(c.active[k] for c in eligible)
        points.append(
            CurvePoint(
                week_offset=k,
                retention=act / users,
                users=users,
                cohorts=len(eligible),
                active=act,
            )
        )
    return CohortTable(as_of=as_of, last_complete_week=lcw, cohorts=cohorts, average=tuple(points))


def usable_offsets(table: CohortTable, settings: RetentionSettings) -> tuple[int, ...]:
    """Offsets whose average point rests on at least ``min_users`` eligible users (week 0 too)."""
    return tuple(p.week_offset for p in table.average if p.users >= settings.min_users)


def tail_offsets(table: CohortTable, settings: RetentionSettings) -> tuple[int, ...]:
    """The last ``tail_weeks`` usable offsets, or () when fewer than ``min_weeks`` are usable."""
    usable = usable_offsets(table, settings)
    if len(usable) < settings.min_weeks:
        return ()
    return usable[-settings.tail_weeks:]


def tail_patterns_from_users(
    user_rows: Iterable[tuple[int, Iterable[int]]],
    table: CohortTable,
    offsets: Iterable[int],
) -> TailPatterns:
    """``TailPatterns`` from one row per user: (cohort week, the week offsets they were active).

    Users of cohorts not in ``table`` are ignored, and a bit is only set for an offset that is
    complete for the user's cohort, so the patterns describe exactly what the table counts.
    Storage computes the same thing in SQL; this is the reference implementation.
    """
    offs = tuple(sorted(set(offsets)))
    bit = {k: i for i, k in enumerate(offs)}
    length = {c.week: len(c.active) for c in table.cohorts}
    counts: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for week, active in user_rows:
        if week not in length:
            continue
        mask = 0
        for k in set(active):
            if k in bit and k < length[week]:
                mask |= 1 << bit[k]
        counts[week][mask] += 1
    return TailPatterns(offsets=offs, counts={w: dict(m) for w, m in counts.items()})


# --------------------------------------------------------------------------- the plateau test


def _ols_weights(x: NDArray[np.float64]) -> NDArray[np.float64]:
    # The OLS slope is linear in y: slope = sum(w_i * y_i) with w = (x - mean x) / Sxx, which lets
    # one matrix product give the slope of every bootstrap replicate at once.
    xc = x - x.mean()
    return xc / float(xc @ xc)


class _PatternsUnusable(Exception):
    """The patterns cannot support an interval; the message says why, for the summary."""


def _bootstrap(
    table: CohortTable,
    patterns: TailPatterns,
    tail: tuple[int, ...],
    n_boot: int,
    seed: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Bootstrap replicates of (tail slope, plateau level), resampling users within cohorts.

    Each cohort's members are resampled with replacement, which for the tail only needs the
    number of members per activity pattern: a multinomial draw over the patterns. Cohort sizes
    stay fixed (the design is stratified by cohort), so every point keeps its eligible users as
    denominator and only the numerators vary, jointly across offsets as real users do.
    """
    missing = [k for k in tail if k not in patterns.offsets]
    if missing:
        raise _PatternsUnusable(f"no activity patterns for week {missing[0]}")
    bit_of = [patterns.offsets.index(k) for k in tail]
    n_tail = len(tail)
    rng = np.random.default_rng(seed)
    boot_active = np.zeros((n_boot, n_tail), dtype=np.int64)
    seen_active = np.zeros(n_tail, dtype=np.int64)
    for cohort in table.cohorts:
        eligible = np.array([len(cohort.active) > k for k in tail])
        if cohort.size <= 0 or not eligible.any():
            continue
        raw = {m: n for m, n in patterns.counts.get(cohort.week, {}).items() if n > 0}
        total = sum(raw.values())
        if total > cohort.size:
            raise _PatternsUnusable(f"more patterns than members in the cohort of week {cohort.week}")
        # Members active at none of the tail weeks may be left out by storage: they are mask 0.
        # Sorting the masks makes the draws depend on the patterns only, not on dict order.
        raw[0] = raw.get(0, 0) + cohort.size - total
        masks = np.array(sorted(raw), dtype=np.int64)
        counts = np.array([raw[m] for m in sorted(raw)], dtype=np.int64)
        # (patterns, tail offsets) 0/1 matrix; offsets not yet complete for this cohort stay 0.
        bits = ((masks[:, None] >> np.array(bit_of)[None, :]) & 1) * eligible[None, :]
        draws = rng.multinomial(cohort.size, counts / cohort.size, size=n_boot)
        boot_active += draws @ bits
        seen_active += counts @ bits
    points = {p.week_offset: p for p in table.average}
    expected = np.array([points[k].active for k in tail], dtype=np.int64)
    if not np.array_equal(seen_active, expected):
        raise _PatternsUnusable("the activity patterns do not match the cohort table")
    users = np.array([points[k].users for k in tail], dtype=np.float64)
    curves = boot_active / users
    slopes = curves @ _ols_weights(np.array(tail, dtype=np.float64))
    levels = curves.mean(axis=1)
    return slopes, levels


def plateau_test(
    table: CohortTable,
    patterns: TailPatterns | None,
    settings: RetentionSettings,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> RetentionSignal:
    """SPEC §5 "Retention plateau": has the average curve flattened, at a useful level?

    The tail is the last ``tail_weeks`` usable offsets. ``tail_slope`` is the OLS slope of the
    average retention over the tail (retention per week) and ``plateau_level`` the mean of the
    tail points. Their intervals come from a bootstrap over users (``n_boot`` replicates, seeded
    so the same data always gives the same answer) and are the 5th and 95th percentiles: a 90%
    interval whose ends are each a one-sided 95% bound, which is what the rules use.

    pass: slope lower bound > -flat_tolerance and level lower bound >= min_plateau.
    fail: slope upper bound < -flat_tolerance or level upper bound < min_plateau.
    Otherwise borderline: a wide interval that straddles the tolerance is not a plateau, since no
    evidence of a slope is never evidence of its absence. Without usable ``patterns`` there is no
    interval, and the result is borderline at best: it never passes on a point estimate alone.
    """
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    cohorts = [c for c in table.cohorts if c.size > 0]
    users = sum(c.size for c in cohorts)
    population = f"{t.plural(users, 'user')} in {t.plural(len(cohorts), 'cohort')}"
    usable = usable_offsets(table, settings)
    tail = tail_offsets(table, settings)
    if not tail:
        return RetentionSignal(
            status="insufficient_data",
            plateau_level=None,
            plateau_level_ci=None,
            tail_slope=None,
            tail_slope_ci=None,
            weeks_observed=len(usable),
            tail_offsets=(),
            users=users,
            summary=(
                f"Only {t.plural(len(usable), 'week')} of retention with at least "
                f"{t.count(settings.min_users)} users observed; {settings.min_weeks} are needed "
                f"({population})."
            ),
        )

    points = {p.week_offset: p for p in table.average}
    y = np.array([points[k].retention for k in tail], dtype=np.float64)
    slope = float(y @ _ols_weights(np.array(tail, dtype=np.float64)))
    level = float(y.mean())
    span = t.week_span(tail)

    reason = "no per-user activity patterns were supplied"
    slope_ci: tuple[float, float] | None = None
    level_ci: tuple[float, float] | None = None
    if patterns is not None:
        try:
            slopes, levels = _bootstrap(table, patterns, tail, n_boot, seed)
        except _PatternsUnusable as exc:
            reason = str(exc)
        else:
            s_lo, s_hi = np.percentile(slopes, [5.0, 95.0])
            l_lo, l_hi = np.percentile(levels, [5.0, 95.0])
            slope_ci = (float(s_lo), float(s_hi))
            level_ci = (float(l_lo), float(l_hi))

    status: Status
    if slope_ci is None or level_ci is None:
        status = "borderline"
        summary = (
            f"Retention over {span} is at {t.pct(level)} with a slope of {t.pts(slope)} pts/week, "
            f"but its interval could not be computed ({reason}), so it cannot pass; "
            f"{population}."
        )
    else:
        tol, floor = settings.flat_tolerance, settings.min_plateau
        slope_txt = f"slope {t.pts(slope)} pts/week ({t.pts_range(*slope_ci)})"
        level_txt = f"{t.pct(level)} (90% CI {t.pct_range(*level_ci)})"
        if slope_ci[0] > -tol and level_ci[0] >= floor:
            status = "pass"
            summary = f"Retention flattens at {level_txt} over {span}; {slope_txt}, {population}."
        elif slope_ci[1] < -tol:
            status = "fail"
            summary = (
                f"Retention is still falling over {span}: {slope_txt}, now around {level_txt}; "
                f"{population}."
            )
        elif level_ci[1] < floor:
            status = "fail"
            summary = (
                f"Retention levels off too low: {level_txt} over {span}, under the {t.share_setting(floor)} "
                f"minimum; {slope_txt}, {population}."
            )
        else:
            status = "borderline"
            doubts = []
            if slope_ci[0] <= -tol:
                doubts.append(f"it may still be falling more than {t.pts(tol, signed=False)} pts/week")
            if level_ci[0] < floor:
                doubts.append(f"the level may be under {t.share_setting(floor)}")
            summary = (
                f"Retention may be flattening at {level_txt} over {span}, but "
                f"{' and '.join(doubts)}; {slope_txt}, {population}."
            )
    return RetentionSignal(
        status=status,
        plateau_level=level,
        plateau_level_ci=level_ci,
        tail_slope=slope,
        tail_slope_ci=slope_ci,
        weeks_observed=len(usable),
        tail_offsets=tail,
        users=users,
        summary=summary,
    )
