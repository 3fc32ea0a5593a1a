"""The bootstrap behind the plateau test (SPEC §5 "Retention plateau"): resampling users within
their cohorts from per-user activity patterns, the tail's slope, level and relative slope with
their intervals, and the drift ratio of newer cohorts against the tail's fixed set at one offset.
Split from ``retention`` so each module stays readable; pure arithmetic on what storage supplies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bot.domain.confidence import RETENTION_BOUND_PCT, RETENTION_DRIFT_PCT, RETENTION_RISING_PCT, lower_percentile
from bot.domain.settings import RetentionSettings
from bot.domain.types import Cohort, TailPatterns


def _ols_weights(x: NDArray[np.float64]) -> NDArray[np.float64]:
    # The OLS slope is linear in y: slope = sum(w_i * y_i) with w = (x - mean x) / Sxx, which lets
    # one matrix product give the slope of every bootstrap replicate at once.
    xc = x - x.mean()
    return xc / float(xc @ xc)


class PatternsUnusable(Exception):
    """The patterns cannot support an interval; the message says why, for the summary."""


def _categories(
    cohorts: tuple[Cohort, ...], patterns: TailPatterns, offsets: tuple[int, ...],
) -> Iterator[tuple[Cohort, NDArray[np.int64], NDArray[np.int64]]]:
    """Each cohort with its members' categories at ``offsets``: (bits, members), one row per
    distinct pattern of activity at those offsets (bit i = active at ``offsets[i]``).

    Patterns that agree on ``offsets`` are one category (merging a multinomial's categories adds
    their probabilities, so resampled members keep the same law), which keeps a draw at
    2^len(offsets) categories at most instead of one per pattern of every offset storage read.
    np.unique sorts, so the draws depend on the patterns only, not on dict order."""
    missing = [k for k in offsets if k not in patterns.offsets]
    if missing:
        raise PatternsUnusable(f"no activity patterns for week {missing[0]}")
    bit_of = np.array([patterns.offsets.index(k) for k in offsets])
    place = np.int64(1) << np.arange(len(offsets), dtype=np.int64)
    for cohort in cohorts:
        raw = {m: n for m, n in patterns.counts.get(cohort.week, {}).items() if n > 0}
        total = sum(raw.values())
        if total > cohort.size:
            raise PatternsUnusable(f"more patterns than members in the cohort of week {cohort.week}")
        # Members active at none of the tail weeks may be left out by storage: they are mask 0.
        raw[0] = raw.get(0, 0) + cohort.size - total
        masks = np.fromiter(raw.keys(), dtype=np.int64, count=len(raw))
        counts = np.fromiter(raw.values(), dtype=np.int64, count=len(raw))
        sub = ((masks[:, None] >> bit_of[None, :]) & 1) @ place
        kept, where = np.unique(sub, return_inverse=True)
        merged = np.bincount(where, weights=counts, minlength=len(kept)).astype(np.int64)
        yield cohort, (kept[:, None] >> np.arange(len(offsets), dtype=np.int64)[None, :]) & 1, merged


def draw(
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
    boot = np.zeros((n_boot, len(offsets)), dtype=np.int64)
    seen = np.zeros(len(offsets), dtype=np.int64)
    for cohort, bits, members in _categories(cohorts, patterns, offsets):
        draws = rng.multinomial(cohort.size, members / cohort.size, size=n_boot)
        boot += draws @ bits
        seen += members @ bits
    return boot, seen


def draw_weighted(
    rng: np.random.Generator,
    cohorts: tuple[Cohort, ...],
    patterns: TailPatterns,
    offsets: tuple[int, ...],
    n_boot: int,
    weights: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """``draw``'s replicates weighted by offset, ``boot @ weights``, drawn directly: each member
    only matters through their value ``bits @ weights``, so members of equal value are one
    category (the same law for the weighted sum, and far fewer categories when the weights are
    equal: with ones, a member's value is how many of ``offsets`` they were active at). Returns
    the (n_boot,) weighted sums and the observed counts per offset."""
    total = np.zeros(n_boot, dtype=np.float64)
    seen = np.zeros(len(offsets), dtype=np.int64)
    for cohort, bits, members in _categories(cohorts, patterns, offsets):
        seen += members @ bits
        values, where = np.unique(bits @ weights, return_inverse=True)
        pooled = np.bincount(where, weights=members, minlength=len(values))
        total += rng.multinomial(cohort.size, pooled / cohort.size, size=n_boot) @ values
    return total, seen


@dataclass(frozen=True)
class Evidence:
    slope: float
    level: float
    relative: float | None
    slope_ci: tuple[float, float] | None = None
    level_ci: tuple[float, float] | None = None
    relative_ci: tuple[float, float] | None = None
    # The slope's one-sided lower bound at confidence.RETENTION_RISING_PCT: a tail is "rising"
    # only when this clears 0 (why that level: bot/domain/confidence.py).
    rise_lower: float | None = None


@dataclass(frozen=True)
class Drift:
    """Newer cohorts against the tail set from ``offset`` to ``last``: the ratio of their
    retention there, its one-sided 95% upper bound (None without patterns) and how many newer
    users it rests on."""

    offset: int
    ratio: float | None
    upper: float | None
    users: int
    last: int


# The bootstrap's bounds, from the confidence levels of bot/domain/confidence.py.
RISE_PERCENTILE = lower_percentile(RETENTION_RISING_PCT)  # the slope's lower bound for "rising" (2.0)
BOUND_PERCENTILES = (lower_percentile(RETENTION_BOUND_PCT), RETENTION_BOUND_PCT)  # (5.0, 95.0)
DRIFT_PERCENTILE = RETENTION_DRIFT_PCT  # the drift ratio's upper bound (95.0)


def _percentiles(x: NDArray[np.float64]) -> tuple[float, float]:
    lo, hi = np.percentile(x, list(BOUND_PERCENTILES))
    return float(lo), float(hi)


def evidence(
    members: tuple[Cohort, ...],
    patterns: TailPatterns | None,
    tail: tuple[int, ...],
    rng: np.random.Generator,
    n_boot: int,
) -> tuple[Evidence, str, NDArray[np.int64] | None]:
    """Point estimates on the fixed set, and their bootstrap intervals when the patterns allow.

    The slope, the level and the relative slope come from the same replicates, so slope ÷ level
    carries their correlation. Also returns those replicates of the set's actives at ``tail``
    (None without them): the drift check over the tail reuses them for the set.
    """
    users = float(sum(c.size for c in members))
    y = np.array([sum(c.active[k] for c in members) for k in tail], dtype=np.float64) / users
    w = _ols_weights(np.array(tail, dtype=np.float64))
    slope, level = float(y @ w), float(y.mean())
    relative = slope / level if level > 0 else None
    point = Evidence(slope=slope, level=level, relative=relative)
    if patterns is None:
        return point, "no per-user activity patterns were supplied", None
    try:
        boot, seen = draw(rng, members, patterns, tail, n_boot)
        expected = np.array([sum(c.active[k] for c in members) for k in tail], dtype=np.int64)
        if not np.array_equal(seen, expected):
            raise PatternsUnusable("the activity patterns do not match the cohort table")
    except PatternsUnusable as exc:
        return point, str(exc), None
    curves = boot / users
    slopes = curves @ w
    levels = curves.mean(axis=1)
    # A replicate with nobody retained has lost everyone: a relative slope of -1 a week.
    rels = np.divide(slopes, levels, out=np.full(n_boot, -1.0), where=levels > 0)
    return (
        Evidence(slope=slope, level=level, relative=relative, slope_ci=_percentiles(slopes),
                 level_ci=_percentiles(levels), relative_ci=_percentiles(rels),
                 rise_lower=float(np.percentile(slopes, RISE_PERCENTILE))),
        "",
        boot,
    )


def drift_at(
    members: tuple[Cohort, ...],
    cohorts: list[Cohort],
    patterns: TailPatterns | None,
    offsets: tuple[int, ...],
    settings: RetentionSettings,
    rng: np.random.Generator,
    n_boot: int,
    before: int | None = None,
    set_boot: NDArray[np.int64] | None = None,
) -> Drift | None:
    """The cohorts outside the tail set that reached ``offsets[0]`` (and, with ``before``, have not
    yet reached that offset), against the set, over ``offsets``.

    Each newer cohort counts at every one of ``offsets`` it has reached: the ratio is their active
    members over what the set's retention at the same weeks would give them (observed ÷
    expected), so one offset gives the plain ratio of the two retention rates. None when the
    newer cohorts hold fewer than ``min_users`` users. The ratio's upper bound comes from a
    bootstrap over users within cohorts of both groups (the 95th percentile: one-sided 95%).
    """
    in_set = {c.week for c in members}
    first = offsets[0]
    newer = tuple(c for c in cohorts if c.week not in in_set and len(c.active) > first
                  and (before is None or len(c.active) <= before))
    newer_users = sum(c.size for c in newer)
    if not newer or newer_users < settings.min_users:
        return None
    users = sum(c.size for c in members)
    base_active = np.array([sum(c.active[k] for c in members) for k in offsets], dtype=np.int64)
    exposed = np.array([sum(c.size for c in newer if len(c.active) > k) for k in offsets], dtype=np.float64)
    observed = np.array([sum(c.active[k] for c in newer if len(c.active) > k) for k in offsets], dtype=np.int64)
    expected = float(exposed @ base_active) / users
    ratio = float(observed.sum() / expected) if expected > 0 else None
    if patterns is None or ratio is None:
        return Drift(first, ratio, None, newer_users, offsets[-1])
    try:
        # Only the weighted sums enter the ratio: the set's actives weighted by the newer
        # cohorts' exposure, and the newer cohorts' actives summed over the offsets.
        if set_boot is not None:  # the evidence's replicates of the set at these very offsets
            mtotal, mseen = set_boot @ exposed, base_active
        else:
            mtotal, mseen = draw_weighted(rng, members, patterns, offsets, n_boot, exposed)
        ntotal, nseen = draw_weighted(rng, newer, patterns, offsets, n_boot, np.ones(len(offsets)))
    except PatternsUnusable:
        return Drift(first, ratio, None, newer_users, offsets[-1])
    if not (np.array_equal(mseen, base_active) and np.array_equal(nseen, observed)):
        return Drift(first, ratio, None, newer_users, offsets[-1])
    base = mtotal / users
    # A replicate where the tail set kept nobody says nothing against the newer users: a large
    # finite ratio (inf would break the percentile's interpolation).
    boot_ratio = np.divide(ntotal, base, out=np.full(n_boot, 1e9), where=base > 0)
    return Drift(first, ratio, float(np.percentile(boot_ratio, DRIFT_PERCENTILE)), newer_users, offsets[-1])
