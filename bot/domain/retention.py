"""Weekly cohorts, the average retention curve and the plateau test of SPEC §5.

This module owns the meaning of "retention has flattened": it turns per-cohort activity counts
into a ``CohortTable`` (complete weeks only, young cohorts censored rather than counted as zero),
picks the tail and the one fixed set of cohorts followed through it (so the slope is how the same
users' retention moves, never cohorts entering or leaving an average), and decides pass /
borderline / fail from a bootstrap over users within cohorts, because the points of one curve
share their users and are not independent samples. It also checks newer cohorts against that set
(drift) and holds a first pass back until the previous week's check agrees (``previous_status``).
Storage supplies the counts and the per-user activity patterns of the tail (``TailPatterns``);
everything here is pure arithmetic on them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from bot.domain import _text as t
from bot.domain.settings import RetentionSettings
from bot.domain.types import Cohort, CohortTable, CurvePoint, RetentionSignal, Status, TailPatterns
from bot.domain.weeks import last_complete_week, week_start

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


def choose_tail(table: CohortTable, settings: RetentionSettings) -> tuple[tuple[int, ...], tuple[Cohort, ...]]:
    """The tail offsets and the one fixed set of cohorts every tail point is averaged over.

    The tail is the last ``tail_weeks`` usable offsets (week 0 is never in it: it is 100% by
    definition), and its cohorts are those whose week at the last tail offset is complete, so the
    same users stand behind every point. When that set has fewer than ``min_cohorts`` cohorts or
    ``min_users`` users, the tail steps back one offset at a time until it has them. Returns
    ((), ()) when fewer than ``min_weeks`` offsets are usable or no tail has enough cohorts.
    """
    usable = usable_offsets(table, settings)
    if len(usable) < settings.min_weeks:
        return (), ()
    candidates = [k for k in usable if k > 0]
    n = settings.tail_weeks
    for end in range(len(candidates), n - 1, -1):
        tail = tuple(candidates[end - n:end])
        members = tuple(c for c in table.cohorts if c.size > 0 and len(c.active) > tail[-1])
        if len(members) >= settings.min_cohorts and sum(c.size for c in members) >= settings.min_users:
            return tail, members
    return (), ()


def tail_offsets(table: CohortTable, settings: RetentionSettings) -> tuple[int, ...]:
    """The tail chosen by ``choose_tail`` (the offsets storage must give activity patterns for:
    patterns of every cohort that reached the first of them, for the tail and the drift check)."""
    return choose_tail(table, settings)[0]


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


def _draw(
    rng: np.random.Generator,
    cohorts: tuple[Cohort, ...],
    patterns: TailPatterns,
    offsets: tuple[int, ...],
    n_boot: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Bootstrap replicates of the active members at ``offsets``, summed over ``cohorts``.

    Each cohort's members are resampled with replacement, which only needs the number of members
    per activity pattern: a multinomial draw over the patterns. Cohort sizes stay fixed (the
    design is stratified by cohort), and the numerators vary jointly across offsets as real users
    do. Returns the (n_boot, offsets) replicates and the observed counts the patterns imply.
    """
    missing = [k for k in offsets if k not in patterns.offsets]
    if missing:
        raise _PatternsUnusable(f"no activity patterns for week {missing[0]}")
    bit_of = np.array([patterns.offsets.index(k) for k in offsets])
    boot = np.zeros((n_boot, len(offsets)), dtype=np.int64)
    seen = np.zeros(len(offsets), dtype=np.int64)
    for cohort in cohorts:
        raw = {m: n for m, n in patterns.counts.get(cohort.week, {}).items() if n > 0}
        total = sum(raw.values())
        if total > cohort.size:
            raise _PatternsUnusable(f"more patterns than members in the cohort of week {cohort.week}")
        # Members active at none of the tail weeks may be left out by storage: they are mask 0.
        # Sorting the masks makes the draws depend on the patterns only, not on dict order.
        raw[0] = raw.get(0, 0) + cohort.size - total
        masks = np.array(sorted(raw), dtype=np.int64)
        counts = np.array([raw[m] for m in sorted(raw)], dtype=np.int64)
        bits = (masks[:, None] >> bit_of[None, :]) & 1
        draws = rng.multinomial(cohort.size, counts / cohort.size, size=n_boot)
        boot += draws @ bits
        seen += counts @ bits
    return boot, seen


@dataclass(frozen=True)
class _Evidence:
    slope: float
    level: float
    relative: float | None
    slope_ci: tuple[float, float] | None = None
    level_ci: tuple[float, float] | None = None
    relative_ci: tuple[float, float] | None = None
    drift: float | None = None
    drift_upper: float | None = None


def _percentiles(x: NDArray[np.float64]) -> tuple[float, float]:
    lo, hi = np.percentile(x, [5.0, 95.0])
    return float(lo), float(hi)


def _evidence(
    members: tuple[Cohort, ...],
    newer: tuple[Cohort, ...],
    patterns: TailPatterns | None,
    tail: tuple[int, ...],
    n_boot: int,
    seed: int,
) -> tuple[_Evidence, str]:
    """Point estimates on the fixed set, and their bootstrap intervals when the patterns allow.

    The slope, the level and the relative slope come from the same replicates, so slope ÷ level
    carries their correlation. The drift ratio (newer cohorts' retention at the first tail week
    over the tail set's) is bootstrapped the same way, its upper end a one-sided 95% bound.
    """
    users = float(sum(c.size for c in members))
    y = np.array([sum(c.active[k] for c in members) for k in tail], dtype=np.float64) / users
    w = _ols_weights(np.array(tail, dtype=np.float64))
    slope, level = float(y @ w), float(y.mean())
    relative = slope / level if level > 0 else None
    newer_users = sum(c.size for c in newer)
    first = tail[0]
    drift = None
    if newer:
        newer_rate = sum(c.active[first] for c in newer) / newer_users
        drift = float(newer_rate / y[0]) if y[0] > 0 else None
    point = _Evidence(slope=slope, level=level, relative=relative, drift=drift)
    if patterns is None:
        return point, "no per-user activity patterns were supplied"
    rng = np.random.default_rng(seed)
    try:
        boot, seen = _draw(rng, members, patterns, tail, n_boot)
        expected = np.array([sum(c.active[k] for c in members) for k in tail], dtype=np.int64)
        if not np.array_equal(seen, expected):
            raise _PatternsUnusable("the activity patterns do not match the cohort table")
        drift_upper = None
        if newer and drift is not None:
            nboot, nseen = _draw(rng, newer, patterns, (first,), n_boot)
            if int(nseen[0]) != sum(c.active[first] for c in newer):
                raise _PatternsUnusable("the activity patterns do not match the cohort table")
            base = boot[:, 0] / users
            # A replicate where the tail set kept nobody says nothing against the newer users:
            # a large finite ratio (inf would break the percentile's interpolation).
            ratio = np.divide(nboot[:, 0] / newer_users, base, out=np.full(n_boot, 1e9), where=base > 0)
            drift_upper = float(np.percentile(ratio, 95.0))
    except _PatternsUnusable as exc:
        return point, str(exc)
    curves = boot / users
    slopes = curves @ w
    levels = curves.mean(axis=1)
    # A replicate with nobody retained has lost everyone: a relative slope of -1 a week.
    rels = np.divide(slopes, levels, out=np.full(n_boot, -1.0), where=levels > 0)
    return (
        _Evidence(
            slope=slope,
            level=level,
            relative=relative,
            slope_ci=_percentiles(slopes),
            level_ci=_percentiles(levels),
            relative_ci=_percentiles(rels),
            drift=drift,
            drift_upper=drift_upper,
        ),
        "",
    )


def plateau_test(
    table: CohortTable,
    patterns: TailPatterns | None,
    settings: RetentionSettings,
    *,
    previous_status: Status | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> RetentionSignal:
    """SPEC §5 "Retention plateau": has retention flattened, for the same users, at a useful level?

    The tail and its fixed set of cohorts come from ``choose_tail``. ``tail_slope`` is the OLS
    slope of the set's retention over the tail (per week), ``plateau_level`` its mean and
    ``relative_slope`` their ratio (the share of the remaining users lost a week). Intervals come
    from a bootstrap over users within cohorts (``n_boot`` replicates, seeded so the same data
    always gives the same answer): the 5th and 95th percentiles, each a one-sided 95% bound.

    pass: slope lower bound > -flat_tolerance, relative slope lower bound > -relative_tolerance,
    level lower bound >= min_plateau and no drift, and the previous week's check (its
    ``unconfirmed_status``, passed in as ``previous_status``) passed too when ``confirm_weeks`` is
    2; a first-time pass reads borderline, "passes if it holds next week".
    fail: slope or relative slope upper bound < -its tolerance, or level upper bound < min_plateau.
    Drift (newer cohorts' retention at the first tail week confidently under ``drift_ratio`` of
    the set's, when they hold at least ``min_users``) caps the status at borderline. Otherwise
    borderline: no evidence of a slope is never evidence of a plateau. Without usable ``patterns``
    there is no interval, and the result is borderline at best.
    """
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    cohorts = [c for c in table.cohorts if c.size > 0]
    users = sum(c.size for c in cohorts)
    population = f"{t.plural(users, 'user')} in {t.plural(len(cohorts), 'cohort')}"
    usable = usable_offsets(table, settings)
    tail, members = choose_tail(table, settings)
    if not tail:
        if len(usable) < settings.min_weeks:
            why = (
                f"{'No week' if not usable else 'Only ' + t.plural(len(usable), 'week')} of retention with at least "
                f"{t.count(settings.min_users)} users observed; {settings.min_weeks} are needed "
                f"({population})."
            )
        else:
            why = (
                f"No stretch of {settings.tail_weeks} weeks is followed by at least "
                f"{settings.min_cohorts} signup cohorts with {t.count(settings.min_users)}+ users yet "
                f"({population})."
            )
        return RetentionSignal(
            status="insufficient_data",
            plateau_level=None,
            plateau_level_ci=None,
            tail_slope=None,
            tail_slope_ci=None,
            weeks_observed=len(usable),
            tail_offsets=(),
            users=users,
            summary=why,
            unconfirmed_status="insufficient_data",
        )

    member_weeks = {c.week for c in members}
    newer_all = tuple(c for c in cohorts if c.week not in member_weeks and len(c.active) > tail[0])
    newer_users = sum(c.size for c in newer_all)
    newer = newer_all if newer_users >= settings.min_users else ()
    ev, reason = _evidence(members, newer, patterns, tail, n_boot, seed)
    tail_users = sum(c.size for c in members)
    span = t.week_span(tail)
    rests = (
        f"followed through the same {t.plural(len(members), 'signup cohort')} "
        f"({t.day_range(week_start(members[0].week), week_start(members[-1].week))}, "
        f"{t.plural(tail_users, 'user')}) of {population}"
    )
    drifting = ev.drift_upper is not None and ev.drift_upper < settings.drift_ratio

    status: Status
    if ev.slope_ci is None or ev.level_ci is None or ev.relative_ci is None:
        status = "borderline"
        summary = (
            f"Retention over {span} is at {t.pct(ev.level)} with a slope of {t.pts(ev.slope)} "
            f"points a week, but its interval could not be computed ({reason}), so it cannot pass; "
            f"{rests}."
        )
    else:
        tol, rtol, floor = settings.flat_tolerance, settings.relative_tolerance, settings.min_plateau
        slope_txt = (
            f"slope {t.pts(ev.slope)} points a week ({t.pts_range(*ev.slope_ci)}), "
            f"{rel_pct(ev.relative)} of the remaining users a week ({rel_range(ev.relative_ci)})"
        )
        level_txt = f"{t.pct(ev.level)} (90% CI {t.pct_range(*ev.level_ci)})"
        if ev.slope_ci[1] < -tol or ev.relative_ci[1] < -rtol:
            status = "fail"
            summary = f"Retention is still falling over {span}: {slope_txt}, now around {level_txt}; {rests}."
        elif ev.level_ci[1] < floor:
            status = "fail"
            summary = (
                f"Retention levels off too low: {level_txt} over {span}, under the "
                f"{t.share_setting(floor)} minimum; {slope_txt}; {rests}."
            )
        elif ev.slope_ci[0] > -tol and ev.relative_ci[0] > -rtol and ev.level_ci[0] >= floor:
            status = "pass"
            summary = f"Retention flattens at {level_txt} over {span}; {slope_txt}; {rests}."
        else:
            status = "borderline"
            doubts = []
            if ev.slope_ci[0] <= -tol or ev.relative_ci[0] <= -rtol:
                doubts.append(
                    f"it may still be losing more than {t.pts(tol, signed=False)} points or "
                    f"{t.share_setting(rtol)} of its users a week"
                )
            if ev.level_ci[0] < floor:
                doubts.append(f"the level may be under {t.share_setting(floor)}")
            summary = (
                f"Retention may be flattening at {level_txt} over {span}, but "
                f"{' and '.join(doubts)}; {slope_txt}; {rests}."
            )
    if drifting and ev.drift is not None and ev.drift_upper is not None:
        if status == "pass":
            status = "borderline"
        summary = (
            f"Newer users retain less than your first ones: at week {tail[0]} the "
            f"{t.plural(newer_users, 'newer user')} keep {t.pct(ev.drift)} of the first cohorts' "
            f"retention (at most {t.pct(ev.drift_upper)}, under {t.share_setting(settings.drift_ratio)}). "
            + summary
        )
    unconfirmed = status
    if status == "pass" and settings.confirm_weeks > 1 and previous_status != "pass":
        status = "borderline"
        summary = "Passes if it holds next week: " + summary[0].lower() + summary[1:]
    return RetentionSignal(
        status=status,
        plateau_level=ev.level,
        plateau_level_ci=ev.level_ci,
        tail_slope=ev.slope,
        tail_slope_ci=ev.slope_ci,
        weeks_observed=len(usable),
        tail_offsets=tail,
        users=users,
        summary=summary,
        tail_cohorts=tuple(c.week for c in members),
        tail_users=tail_users,
        relative_slope=ev.relative,
        relative_slope_ci=ev.relative_ci,
        drift_ratio=ev.drift,
        drift_ratio_upper=ev.drift_upper,
        drift_users=newer_users if newer else 0,
        drifting=drifting,
        unconfirmed_status=unconfirmed,
    )


def rel_pct(x: float | None) -> str:
    # A relative change a week as a signed share: -0.031 -> "−3.1%".
    if x is None:
        return "n/a"
    return ("+" if x > 0 else "") + t.pct(x)


def rel_range(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None else f"{rel_pct(ci[0])} to {rel_pct(ci[1])}"
