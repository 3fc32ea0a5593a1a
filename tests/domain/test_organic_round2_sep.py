"""The quasi-Poisson shrinking test on counts with no finite fit (issue 18 merge)."""

from bot.domain.organic_stats import quasi_poisson_trend


def test_counts_that_start_at_zero_have_no_fit_rather_than_an_error() -> None:
    # Zero organic signups for ten weeks, then some: the Poisson slope has no finite maximum.
    assert quasi_poisson_trend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]) is None


def test_ordinary_counts_still_fit() -> None:
    fit = quasi_poisson_trend([40, 38, 41, 35, 33, 30, 31, 28, 27, 25, 24, 22])
    assert fit is not None and fit.slope < 0 and fit.p_falling < 0.01
