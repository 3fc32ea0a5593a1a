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
from datetime import date

import numpy as np

from bot.domain import _text as t
from bot.domain.retention_boot import drift_at, evidence
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


def early_offset(tail: tuple[int, ...]) -> int | None:
    """The early offset of the drift check, max(4, ceil(first tail week / 2)) (SPEC §5 "Drift"),
    or None when it would not come before the tail (then the first tail week is the only one)."""
    if not tail:
        return None
    early = max(4, -(-tail[0] // 2))
    return early if early < tail[0] else None


def tail_offsets(table: CohortTable, settings: RetentionSettings) -> tuple[int, ...]:
    """The offsets storage must give activity patterns for: the tail chosen by ``choose_tail``
    and, before it, the weeks from the early offset of the drift check (``early_offset``) up to
    the tail; patterns of every cohort that reached the first of them. () when there is no tail."""
    tail = choose_tail(table, settings)[0]
    early = early_offset(tail)
    return tail if early is None else (*range(early, tail[0]), *tail)


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
    Drift (newer cohorts' retention over the tail weeks they reached, or from the early offset
    ``early_offset(tail)`` up to the tail for those too young for it, confidently under
    ``drift_ratio`` of the set's at the same weeks, when they hold at least ``min_users``) caps
    the status at borderline, and so does a rising tail (the slope's lower
    bound above 0: a win-back campaign or a season lifts the same users; judged once it settles). Otherwise
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

    rng = np.random.default_rng(seed)
    ev, reason, set_boot = evidence(members, patterns, tail, rng, n_boot)
    # Drift is looked for over the tail, among the cohorts outside the set that reached its first
    # week, and from the early offset up to the tail among the newer ones, too young for that
    # week: two groups that share no cohort, each counted at every week of its span it reached.
    # The one that is confidently low (the early one first) is reported.
    early = early_offset(tail)
    spans = ([(tuple(range(early, tail[0])), tail[0])] if early is not None else []) + [(tail, None)]
    checks = [d for offs, b in spans
              if (d := drift_at(members, cohorts, patterns, offs, settings, rng, n_boot, b,
                                set_boot if offs == tail else None)) is not None]
    low = [d for d in checks if d.upper is not None and d.upper < settings.drift_ratio]
    drift = low[0] if low else (checks[-1] if checks else None)
    drifting = bool(low)
    tail_users = sum(c.size for c in members)
    span = t.week_span(tail)
    rests = (
        f"followed through the same {t.plural(len(members), 'signup cohort')} "
        f"({t.day_range(week_start(members[0].week), week_start(members[-1].week))}, "
        f"{t.plural(tail_users, 'user')}) of {population}"
    )

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
        if ev.level_ci[1] <= 0:  # nobody active at any tail week, in any replicate: no slope to read
            status = "fail"
            summary = f"No user of these cohorts was active over {span}: retention there is 0%; {rests}."
        elif ev.slope_ci[1] < -tol or ev.relative_ci[1] < -rtol:
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
    rising = ev.rise_lower is not None and ev.rise_lower > 0
    if rising:
        if status == "pass":
            status = "borderline"
        line = rising_line(len(tail))
        summary = f"{line[0].upper()}{line[1:]}. " + summary
    if drifting and drift is not None and drift.ratio is not None and drift.upper is not None:
        if status == "pass":
            status = "borderline"
        summary = (
            f"Newer users retain less than your first ones: {drift_weeks(drift.offset, drift.last)} the "
            f"{t.plural(drift.users, 'newer user')} keep {t.pct(drift.ratio)} of the first cohorts' "
            f"retention (at most {t.pct(drift.upper)}, under {t.share_setting(settings.drift_ratio)}). "
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
        drift_ratio=drift.ratio if drift else None,
        drift_ratio_upper=drift.upper if drift else None,
        drift_users=drift.users if drift else 0,
        drifting=drifting,
        drift_offset=drift.offset if drift else None,
        rising=rising,
        unconfirmed_status=unconfirmed,
    )


def drift_weeks(first: int, last: int) -> str:
    """Where newer users were compared: "at week 9", "over weeks 4\u20138"."""
    return f"at week {first}" if first == last else f"over weeks {first}{t.EN_DASH}{last}"


def rising_line(weeks: int) -> str:
    """The one plain line for a confidently rising tail (SPEC §5 "Rising tail")."""
    return (
        f"your retention rose over the last {t.plural(weeks, 'week')} \u2014 a plateau must hold "
        "without a lift; it is judged once it settles"
    )


def rel_pct(x: float | None) -> str:
    # A relative change a week as a signed share: -0.031 -> "−3.1%".
    if x is None:
        return "n/a"
    return ("+" if x > 0 else "") + t.pct(x)


def rel_range(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None else f"{rel_pct(ci[0])} to {rel_pct(ci[1])}"
