"""bot/domain/retention_boot.py's draws against hand-computed moments.

A cohort of N members resampled with replacement: the bootstrap total of a per-member value V is a
sum of N independent draws of V from the cohort's empirical distribution, so its mean is N·E[V] and
its variance N·Var[V], summed over cohorts. Checked for ``draw`` (per offset) and ``draw_weighted``
(a weighted sum over offsets, drawn with members of equal value merged), on patterns that hold
more offsets than the draw uses (the merge of patterns that agree on the draw's offsets)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.domain.retention_boot import PatternsUnusable, draw, draw_weighted
from bot.domain.types import Cohort, TailPatterns

# Patterns over offsets (4, 5, 6, 7): bit i = active at offsets[i]. Cohort 10: 1,000 members,
# cohort 11: 600 (members absent from the counts are mask 0).
PATTERNS = TailPatterns(offsets=(4, 5, 6, 7), counts={
    10: {0b0001: 120, 0b0011: 80, 0b1111: 60, 0b1000: 40, 0b0110: 30},
    11: {0b0010: 50, 0b1010: 45, 0b1100: 25},
})
COHORTS = (Cohort(10, 1000, (1000,) * 8), Cohort(11, 600, (600,) * 8))
OFFSETS = (5, 7)  # bits 1 and 3 of the patterns


def _values(weights: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per cohort: its size, and each member's (value, count) by hand, mask 0 included."""
    out = []
    for c in COHORTS:
        counts = dict(PATTERNS.counts[c.week])
        counts[0] = counts.get(0, 0) + c.size - sum(counts.values())
        vals = np.array([((m >> 1) & 1) * weights[0] + ((m >> 3) & 1) * weights[1] for m in counts])
        out.append((c.size, vals, np.array(list(counts.values()), dtype=float)))
    return out


def _moments(weights: np.ndarray) -> tuple[float, float]:
    mean = var = 0.0
    for size, vals, n in _values(weights):
        p = n / size
        ev = float(p @ vals)
        mean += size * ev
        var += size * (float(p @ vals**2) - ev**2)
    return mean, var


@pytest.mark.parametrize("weights", [np.array([1.0, 1.0]), np.array([300.0, 75.0])])
def test_weighted_draw_has_the_hand_computed_mean_and_variance(weights: np.ndarray) -> None:
    n_boot = 20000
    total, seen = draw_weighted(np.random.default_rng(7), COHORTS, PATTERNS, OFFSETS, n_boot, weights)
    mean, var = _moments(weights)
    se = (var / n_boot) ** 0.5
    assert abs(total.mean() - mean) < 4 * se
    assert total.var() == pytest.approx(var, rel=0.05)
    # Observed actives per offset: offset 5 (bit 1) and offset 7 (bit 3), by hand.
    assert seen.tolist() == [80 + 60 + 30 + 50 + 45, 60 + 40 + 45 + 25]


def test_draw_per_offset_agrees_with_the_weighted_draw_in_law() -> None:
    n_boot = 20000
    boot, seen = draw(np.random.default_rng(11), COHORTS, PATTERNS, OFFSETS, n_boot)
    weights = np.array([300.0, 75.0])
    mean, var = _moments(weights)
    combined = boot @ weights
    assert abs(combined.mean() - mean) < 4 * (var / n_boot) ** 0.5
    assert combined.var() == pytest.approx(var, rel=0.05)
    assert seen.tolist() == [265, 170]
    # Each offset's own variance, by hand (weights picking one offset).
    for i, w in enumerate((np.array([1.0, 0.0]), np.array([0.0, 1.0]))):
        assert boot[:, i].var() == pytest.approx(_moments(w)[1], rel=0.05)


def test_a_draw_refuses_offsets_the_patterns_lack_and_too_many_members() -> None:
    with pytest.raises(PatternsUnusable, match="week 9"):
        draw_weighted(np.random.default_rng(1), COHORTS, PATTERNS, (5, 9), 10, np.ones(2))
    crowded = TailPatterns(offsets=(5,), counts={10: {1: 2000}})
    with pytest.raises(PatternsUnusable, match="more patterns than members"):
        draw(np.random.default_rng(1), COHORTS[:1], crowded, (5,), 10)
