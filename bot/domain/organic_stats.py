"""The statistics of the organic signal (SPEC §5), each checked against statsmodels in the tests:

- ``dispersion``: how much more the weekly organic shares vary than binomial sampling allows
  (Pearson chi-square over the weeks / df, floored at 1; the signal measures it over the trend
  weeks around the share's trend line, see bot/domain/organic.py);
- ``wilson_dispersed``: the Wilson interval with its variance multiplied by that dispersion
  (the effective number of signups is n / dispersion);
- ``quasi_poisson_trend``: the log-linear trend of weekly organic signups, a Poisson regression
  whose standard error is scaled by the dispersion of its Pearson residuals (quasi-Poisson), so
  week-to-week swings in volume are not read as shrinking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.domain.distributions import t_cdf
from bot.domain.survey import _wilson_p


def dispersion(successes: Sequence[float], totals: Sequence[float], *, linear: bool = False) -> float:
    """Pearson chi-square / df of the weekly shares, at least 1: around the pooled share (df = weeks
    - 1), or with ``linear`` around the n-weighted least-squares line through the weekly shares
    (df = weeks - 2), so a share that moves steadily is not read as one that jumps about.

    Weeks without signups are left out; with too few weeks, or a pooled share of 0 or 1, there is
    nothing to measure and the dispersion is 1."""
    pairs = [(float(k), float(n), i) for i, (k, n) in enumerate(zip(successes, totals, strict=True)) if n > 0]
    params = 2 if linear else 1
    if len(pairs) <= params:
        return 1.0
    k = np.array([p[0] for p in pairs])
    n = np.array([p[1] for p in pairs])
    pooled = float(k.sum() / n.sum())
    if pooled <= 0.0 or pooled >= 1.0:
        return 1.0
    if linear:
        x = np.array([p[2] for p in pairs], dtype=np.float64)
        xc = x - float((n * x).sum() / n.sum())
        slope = float((n * xc * (k / n)).sum() / (n * xc * xc).sum())
        p = np.clip(pooled + slope * xc, 1e-3, 1 - 1e-3)
    else:
        p = np.full(len(pairs), pooled)
    chi2 = float((((k - n * p) ** 2) / (n * p * (1.0 - p))).sum())
    return max(1.0, chi2 / (len(pairs) - params))


def wilson_dispersed(share: float, n: float, phi: float, z: float) -> tuple[float, float]:
    """The Wilson interval of ``share`` out of ``n`` with its variance times ``phi`` (>= 1)."""
    return _wilson_p(share, n / max(1.0, phi), z)


@dataclass(frozen=True)
class Trend:
    """The fitted log-linear trend of a weekly count: slope per week (log scale), its
    quasi-Poisson standard error, the dispersion used, and the one-sided p of "falling"."""

    slope: float
    se: float
    dispersion: float
    p_falling: float

    @property
    def weekly_change(self) -> float:
        """The fitted change per week as a fraction (e^slope - 1)."""
        return math.expm1(self.slope)


def quasi_poisson_trend(counts: Sequence[float], weeks: Sequence[float] | None = None) -> Trend | None:
    """Poisson regression of ``counts`` on the week (log link, by iteratively reweighted least
    squares), with the slope's standard error scaled by sqrt(Pearson chi-square / (n - 2)) of
    the fit (not floored: the quasi-Poisson estimate), and a one-sided t test (n - 2 degrees of
    freedom) of slope < 0. None with fewer than 3 weeks or no counts at all."""
    y = np.asarray(counts, dtype=np.float64)
    x = np.arange(len(y), dtype=np.float64) if weeks is None else np.asarray(weeks, dtype=np.float64)
    if len(y) < 3 or y.sum() <= 0:
        return None
    xc = x - x.mean()
    design = np.column_stack([np.ones_like(xc), xc])
    beta = np.array([math.log(y.mean()), 0.0])
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            for _ in range(100):
                mu = np.exp(design @ beta)
                # Newton step: (X' W X) delta = X' (y - mu), W = mu for the canonical log link.
                info = design.T @ (design * mu[:, None])
                step = np.linalg.solve(info, design.T @ (y - mu))
                beta = beta + step
                if float(np.max(np.abs(step))) < 1e-10:
                    break
            else:
                return None
            mu = np.exp(design @ beta)
            info = design.T @ (design * mu[:, None])
            cov = np.linalg.inv(info)
    except (np.linalg.LinAlgError, FloatingPointError):
        # No finite maximum: the counts are all zero on one side of some week (no organic signups
        # until recently, say), so the log-linear slope runs off to infinity. There is no fit to
        # test; the share and its trend still judge the signal.
        return None
    dof = len(y) - 2
    phi = float(((y - mu) ** 2 / mu).sum()) / dof
    cov = cov * phi
    se = math.sqrt(float(cov[1, 1]))
    slope = float(beta[1])
    p = t_cdf(slope / se, dof) if se > 0 else (1.0 if slope >= 0 else 0.0)
    return Trend(slope=slope, se=se, dispersion=phi, p_falling=p)
