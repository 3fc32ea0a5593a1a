"""Channel classification and the organic growth signal."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest
import statsmodels.api as sm

from bot.domain.organic import classify_channel, classify_utm, organic_signal, paid_growth
from bot.domain.settings import DEFAULT_CHANNEL_MAP, OrganicSettings
from bot.domain.types import WeekChannels
from bot.domain.weeks import week_start

MAP = DEFAULT_CHANNEL_MAP
SETTINGS = OrganicSettings()
LAST = 2950  # the last complete week of every scenario
AS_OF = week_start(LAST + 1) + timedelta(days=2)  # a Wednesday: week LAST + 1 is incomplete


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("Organic Search", "organic"), ("organic-social", "organic"), ("Word of Mouth", "organic"),
        ("referral", "organic"), ("(direct)", "direct"), ("Product Hunt", "organic"), ("podcast", "unknown"),
        ("cpc", "paid"), ("Paid Social", "paid"), ("Facebook Ads", "paid"), ("google_ads", "paid"),
        ("fb-ads", "paid"), ("bingads", "paid"), ("Sponsored Newsletter", "paid"), ("affiliates", "paid"),
        ("display_network", "paid"), ("partner_referral", "unknown"), ("seo_blog", "organic"),
        ("community_forum", "organic"), ("downloads", "unknown"), ("tiktok", "unknown"),
        ("other", "unknown"), ("", "direct"), ("   ", "direct"), (None, "direct"), ("(not set)", "direct"),
    ],
    ids=lambda v: repr(v),
)
def test_classify_channel(channel: str | None, expected: str) -> None:
    assert classify_channel(channel, MAP) == expected


def test_a_products_channel_map_wins_over_heuristics() -> None:
    custom = {**MAP, "tiktok": "paid", "paid_partner": "organic"}
    assert classify_channel("TikTok", custom) == "paid"
    assert classify_channel("Paid Partner", custom) == "organic"


@pytest.mark.parametrize(
    ("source", "medium", "expected"),
    [
        ("google", "cpc", "paid"), ("google", "organic", "organic"), ("newsletter", "email", "unknown"),
        ("facebook", "paid_social", "paid"), ("facebook", "Paid-Social", "paid"), ("facebook", "social", "organic"),
        ("linkedin", "cpm", "paid"), ("partner_site", "referral", "unknown"), ("network", "display", "paid"),
        ("blogger", "affiliate", "paid"), ("bing", "ppc", "paid"),
        (None, None, "direct"), ("", "", "direct"), ("(direct)", "(none)", "direct"),
        # A paid word anywhere wins over an organic-looking medium (SPEC §5).
        ("facebook_ads", "social", "paid"), ("sponsored_newsletter", "email", "paid"),
        ("google", "paid_search", "paid"), ("(direct)", "cpc", "paid"),
        ("google", None, "unknown"), ("google", "(none)", "unknown"), ("bing_ads", None, "paid"),
        ("product_hunt", "", "organic"), (None, "video", "unknown"), ("youtube", "video", "unknown"),
    ],
    ids=lambda v: repr(v),
)
def test_classify_utm(source: str | None, medium: str | None, expected: str) -> None:
    assert classify_utm(source, medium, MAP) == expected


def test_utm_medium_follows_the_products_overrides() -> None:
    assert classify_utm("facebook", "social", {**MAP, "social": "paid"}) == "paid"


# --------------------------------------------------------------------------- the signal


def weeks_of(organic: Sequence[int], paid: Sequence[int], unknown: Sequence[int] | None = None) -> list[WeekChannels]:
    """Consecutive weeks ending at LAST."""
    n = len(organic)
    unknown = unknown if unknown is not None else [0] * n
    return [
        WeekChannels(week=LAST - n + 1 + i, organic=o, paid=p, unknown=u)
        for i, (o, p, u) in enumerate(zip(organic, paid, unknown, strict=True))
    ]


def noisy(seed: int, weeks: int, signups: int, share: Sequence[float] | np.ndarray | float) -> list[WeekChannels]:
    """Weekly signups split organic/paid at the given true share(s), drawn per user."""
    rng = np.random.default_rng(seed)
    shares = np.broadcast_to(np.asarray(share, dtype=float), (weeks,))
    organic = rng.binomial(signups, shares)
    return weeks_of(list(organic), list(signups - organic))


def wilson_widened(weeks: Sequence[WeekChannels], organic: int, paid: int) -> tuple[float, float]:
    """The Wilson interval with n divided by the dispersion: the Pearson chi-square of the last 12
    weekly shares around their n-weighted least-squares line (numpy's polyfit), over weeks - 2,
    at least 1."""
    rows = [(w.week, w.organic, w.organic + w.paid) for w in weeks[-12:] if w.organic + w.paid]
    x, k, n_w = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    line = np.polyval(np.polyfit(x, k / n_w, 1, w=np.sqrt(n_w)), x)
    phi = max(1.0, float(((k - n_w * line) ** 2 / (n_w * line * (1 - line))).sum()) / (len(rows) - 2))
    n = organic + paid
    # Wilson at n / phi: the same interval as k successes of n with the variance times phi.
    z, p, m = 1.959963984540054, organic / n, n / phi
    centre, half = (p + z * z / (2 * m)), z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    return (centre - half) / (1 + z * z / m), (centre + half) / (1 + z * z / m)


SCENARIOS = [
    ("mostly-organic-and-steady", noisy(1, 12, 80, 0.75), "pass"),
    ("mostly-paid", noisy(2, 12, 80, 0.2), "fail"),
    ("organic-but-share-falling-fast", noisy(3, 12, 200, np.linspace(0.95, 0.55, 12)), "fail"),
    ("paid-but-share-rising-fast", noisy(4, 12, 200, np.linspace(0.1, 0.45, 12)), "borderline"),
    ("organic-share-steady-but-organic-signups-halving",
     weeks_of([60] * 8 + [30] * 4, [20] * 8 + [10] * 4), "borderline"),
    ("too-few-signups", noisy(5, 12, 5, 0.8), "insufficient_data"),
    ("five-weeks-of-history", noisy(6, 5, 100, 0.8), "insufficient_data"),
    ("most-signups-unknown", weeks_of([10] * 12, [2] * 12, [15] * 12), "insufficient_data"),
]


@pytest.mark.parametrize(("weeks", "expected"), [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_organic_scenarios(weeks: list[WeekChannels], expected: str) -> None:
    s = organic_signal(weeks, AS_OF, SETTINGS)
    assert s.status == expected, s.summary
    window = weeks[-4:]
    organic, paid = sum(w.organic for w in window), sum(w.paid for w in window)
    assert (s.organic_signups, s.paid_signups, s.signups) == (organic, paid, sum(w.total for w in window))
    assert s.organic_share == pytest.approx(organic / (organic + paid))
    assert s.organic_share_ci == pytest.approx(wilson_widened(weeks, organic, paid))
    assert s.weeks_observed == len(weeks)
    assert [w for w, _ in s.weekly_shares] == [w.week for w in weeks[-12:]]


def test_insufficient_summary_names_every_reason() -> None:
    s = organic_signal(weeks_of([2] * 5, [1] * 5, [5] * 5), AS_OF, SETTINGS)
    assert s.status == "insufficient_data"
    assert s.summary == (
        "Not enough to judge organic growth: 12 signups with a known channel in the last 4 weeks "
        "(30 needed); 5 weeks of signup history (6 needed); 62% of signups in the last 4 weeks "
        "have no known channel."
    )


def test_incomplete_and_missing_weeks() -> None:
    base = noisy(7, 12, 80, 0.7)
    # A week that has not ended is ignored; two weeks without rows count as zero signups.
    with_gaps = [w for w in base if w.week not in (LAST - 1, LAST - 6)]
    later = [WeekChannels(week=LAST + 1, organic=0, paid=10_000, unknown=0)]
    s = organic_signal(with_gaps + later, AS_OF, SETTINGS)
    assert s.paid_signups == sum(w.paid for w in with_gaps if w.week > LAST - 4)
    assert dict(s.weekly_shares)[LAST - 1] is None and dict(s.weekly_shares)[LAST - 6] is None
    assert s.weeks_observed == 12
    # The same weeks, given in another order and with a duplicate split in two, give the same signal.
    halves = [dataclasses.replace(with_gaps[0], organic=with_gaps[0].organic // 2, paid=0, unknown=0),
              dataclasses.replace(with_gaps[0], organic=with_gaps[0].organic - with_gaps[0].organic // 2)]
    assert organic_signal(halves + with_gaps[:0:-1], AS_OF, SETTINGS) == s


def test_trend_interval_matches_statsmodels_ols() -> None:
    weeks = noisy(8, 12, 60, np.linspace(0.5, 0.7, 12))
    weeks = [w for w in weeks if w.week != LAST - 3]  # a week without signups is skipped
    s = organic_signal(weeks, AS_OF, SETTINGS)
    points = [(w, v) for w, v in s.weekly_shares if v is not None]
    assert len(points) == 11
    x = sm.add_constant(np.array([w for w, _ in points], dtype=float))
    fit = sm.OLS(np.array([v for _, v in points]), x).fit()
    assert s.trend_per_week == pytest.approx(fit.params[1], abs=1e-10)
    assert s.trend_ci == pytest.approx(tuple(fit.conf_int(alpha=0.10)[1]), abs=1e-10)


def test_summary_of_a_passing_signal() -> None:
    s = organic_signal(noisy(1, 12, 80, 0.75), AS_OF, SETTINGS)
    assert s.summary.startswith(f"{round(100 * (s.organic_share or 0))}% of 320 signups with a known channel")
    assert "(95% CI " in s.summary and "50% needed" in s.summary and "points a week (90% CI " in s.summary
    assert s.to_json()["signups"] == 320


@pytest.mark.parametrize(
    ("paid", "previous", "expected"),
    [(120, 100, 0.2), (50, 100, -0.5), (10, 0, None), (0, 0, None)],
    ids=["up-20pct", "halved", "no-previous-paid", "no-paid-at-all"],
)
def test_paid_growth(paid: int, previous: int, expected: float | None) -> None:
    s = organic_signal(noisy(1, 12, 80, 0.75), AS_OF, SETTINGS)
    s = dataclasses.replace(s, paid_signups=paid, previous_paid_signups=previous)
    assert paid_growth(s) == (pytest.approx(expected) if expected is not None else None)
