"""The four distribution functions the gate's statistics use, from ``scipy.special``.

``scipy.special`` imports in ~0.15 s and ``scipy.stats`` in ~0.55 s (measured on the 2-core dev
machine): at a million users that was a quarter of a ``check``'s compute, paid by every report
process. The t distribution's are the very functions ``scipy.stats.t`` calls (``stdtr``,
``stdtrit``: equal to the last bit). The binomial's are cephes' ``bdtr``/``bdtrc``, which differ
from ``scipy.stats.binom``'s (Boost) by a few units in the last place, and relatively more only
in tails below 1e-250 (``tests/domain/test_distributions.py``); their support edges are handled here as
``scipy.stats`` does. Imported on first use: start-up loads no scipy at all."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def t_cdf(x: float, dof: float) -> float:
    """P(T <= x) for Student's t with ``dof`` degrees of freedom."""
    from scipy import special

    return float(special.stdtr(dof, x))


def t_ppf(q: float, dof: float) -> float:
    """The ``q`` quantile of Student's t with ``dof`` degrees of freedom."""
    from scipy import special

    return float(special.stdtrit(dof, q))


def binom_cdf(k: ArrayLike, n: ArrayLike, p: float) -> NDArray[np.float64]:
    """P(X <= k) for X ~ Binomial(n, p), elementwise: 0 below the support, 1 from n on."""
    from scipy import special

    k, n = np.floor(np.asarray(k, dtype=np.float64)), np.asarray(n, dtype=np.float64)
    inside = (k >= 0) & (k < n)
    mid = special.bdtr(np.where(inside, k, 0).astype(np.int64), n.astype(np.int64), p)
    return np.asarray(np.where(k < 0, 0.0, np.where(k >= n, 1.0, mid)), dtype=np.float64)


def binom_sf(k: ArrayLike, n: ArrayLike, p: float) -> NDArray[np.float64]:
    """P(X > k) for X ~ Binomial(n, p), elementwise: 1 below the support, 0 from n on."""
    from scipy import special

    k, n = np.floor(np.asarray(k, dtype=np.float64)), np.asarray(n, dtype=np.float64)
    inside = (k >= 0) & (k < n)
    mid = special.bdtrc(np.where(inside, k, 0).astype(np.int64), n.astype(np.int64), p)
    return np.asarray(np.where(k < 0, 1.0, np.where(k >= n, 0.0, mid)), dtype=np.float64)
