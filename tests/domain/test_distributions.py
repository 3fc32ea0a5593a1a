"""``bot.domain.distributions`` against ``scipy.stats``, the independent reference: the t
distribution's functions are scipy.stats' own (equal to the last bit), the binomial's agree to
1e-12 relative (cephes against Boost; below 1e-250 absolute) and exactly at the support's edges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bot.domain.distributions import binom_cdf, binom_sf, t_cdf, t_ppf


@pytest.mark.parametrize("dof", [1, 2, 3, 5, 10, 11, 30, 100])
def test_t_equals_scipy_stats(dof: int) -> None:
    for q in (0.01, 0.05, 0.5, 0.9, 0.95, 0.975, 0.99):
        assert t_ppf(q, dof) == stats.t.ppf(q, dof)
    for x in (-8.0, -1.5, 0.0, 0.3, 2.0, 12.0):
        assert t_cdf(x, dof) == stats.t.cdf(x, dof)


def test_binomial_equals_scipy_stats_inside_and_at_the_edges() -> None:
    n = np.arange(0, 400, 7)
    for p in (0.0, 0.01, 0.3, 0.4, 0.5, 0.55, 0.9, 1.0):
        for k in range(-3, 405, 5):
            ks = np.full(n.shape, k)
            np.testing.assert_allclose(binom_cdf(ks, n, p), stats.binom.cdf(ks, n, p), rtol=1e-12, atol=1e-250)
            np.testing.assert_allclose(binom_sf(ks, n, p), stats.binom.sf(ks, n, p), rtol=1e-12, atol=1e-250)
    # Outside the support: exact, as scipy.stats (cephes alone returns nan below 0).
    assert binom_cdf(-1, 10, 0.4).tolist() == 0.0 and binom_sf(-1, 10, 0.4).tolist() == 1.0
    assert binom_cdf(10, 10, 0.4).tolist() == 1.0 and binom_sf(10, 10, 0.4).tolist() == 0.0
    assert binom_cdf(2.7, 10, 0.4).tolist() == binom_cdf(2, 10, 0.4).tolist() == pytest.approx(stats.binom.cdf(2, 10, 0.4), rel=1e-12)
