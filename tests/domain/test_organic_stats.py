"""The organic signal's statistics against independent computations (statsmodels, scipy), and the
classification of issue 18 (ad click ids, ambiguous sources, referral tags)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.stats import chi2_contingency

from bot.domain.channels import classify_tags, click_id, is_ambiguous
from bot.domain.organic_stats import dispersion, quasi_poisson_trend, wilson_dispersed
from bot.domain.settings import DEFAULT_CHANNEL_MAP, ProductSettings, SettingError
from bot.domain.survey import _wilson_p


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quasi_poisson_matches_statsmodels_glm_with_pearson_scale(seed: int) -> None:
    rng = np.random.default_rng(seed)
    weeks = np.arange(12, dtype=float)
    counts = rng.negative_binomial(4, 4 / (4 + 200 * 0.97 ** weeks))
    fit = quasi_poisson_trend(counts)
    assert fit is not None
    glm = sm.GLM(counts, sm.add_constant(weeks), family=sm.families.Poisson()).fit(scale="X2")
    assert fit.slope == pytest.approx(glm.params[1], abs=1e-8)
    assert fit.se == pytest.approx(glm.bse[1], rel=1e-6)
    assert fit.dispersion == pytest.approx(glm.scale, rel=1e-6)
    # One-sided t test on n - 2 degrees of freedom (statsmodels reports the normal z).
    assert fit.p_falling == pytest.approx(stats.t.cdf(glm.tvalues[1], len(weeks) - 2), rel=1e-6)


def test_quasi_poisson_needs_three_weeks_with_signups() -> None:
    assert quasi_poisson_trend([5, 6]) is None and quasi_poisson_trend([0, 0, 0]) is None


def test_dispersion_is_scipys_pearson_chi_square_over_df_floored_at_one() -> None:
    k, n = [30, 55, 20, 70], [100, 100, 80, 120]
    table = np.array([k, [b - a for a, b in zip(k, n, strict=True)]]).T
    expected = chi2_contingency(table, correction=False).statistic / 3
    assert expected > 1 and dispersion(k, n) == pytest.approx(expected)
    assert dispersion([50, 50, 50], [100, 100, 100]) == 1.0  # less than binomial: floored
    assert dispersion([5], [10]) == 1.0 and dispersion([0, 0], [10, 10]) == 1.0


def test_linear_dispersion_reads_a_steady_trend_as_no_dispersion() -> None:
    n = [200] * 8
    k = [round(200 * (0.4 + 0.03 * i)) for i in range(8)]  # a steady rise, no noise
    assert dispersion(k, n) > 3 and dispersion(k, n, linear=True) == pytest.approx(1.0)


def test_wilson_dispersed_is_wilson_on_n_over_phi() -> None:
    assert wilson_dispersed(0.6, 1000, 4.0, 1.96) == _wilson_p(0.6, 250, 1.96)
    assert wilson_dispersed(0.6, 1000, 0.5, 1.96) == _wilson_p(0.6, 1000, 1.96)


# --------------------------------------------------------------------------- classification
@pytest.mark.parametrize(
    ("urls", "expected"),
    [(["https://x.io/signup?gclid=abc"], "gclid"), (["https://x.io/?utm_source=a&FBCLID=1"], "fbclid"),
     (["?msclkid=9"], "msclkid"), (["ttclid=9&x=1"], "ttclid"), (["https://x.io/#/start?ScCid=7"], "ScCid"),
     ([None, "", "https://ref.example/?li_fat_id=3"], "li_fat_id"), (["https://x.io/?gclid="], None),
     (["https://x.io/?utm_source=google&utm_medium=cpc"], None), (["https://x.io/gclid"], None)],
)
def test_click_ids_are_found_by_parsing_the_query(urls: list[str | None], expected: str | None) -> None:
    assert click_id(urls) == expected


@pytest.mark.parametrize(
    ("channel", "source", "medium", "click", "cls", "key"),
    [
        (None, None, None, "gclid", "paid", "click:gclid"),  # auto-tagged ads: no UTM at all
        (None, "google", "organic", "fbclid", "paid", "click:fbclid"),  # a click id wins over tags
        ("partner", None, None, None, "unknown", "partner"),
        (None, "acme_partners", "referral", None, "unknown", "acme_partners"),
        ("Podcast", None, None, None, "unknown", "podcast"),
        (None, "techweekly", "newsletter", None, "unknown", "newsletter"),
        ("podcast", "spotify", None, None, "unknown", "podcast"),
        (None, "sponsored_newsletter", "email", None, "paid", None),
        (None, "influencer", None, None, "unknown", "influencer"),
        (None, "sponsor", None, None, "unknown", "sponsor"),
        (None, "google", None, None, "unknown", "google"), ("search", None, None, None, "unknown", "search"),
        (None, "bing", "", None, "unknown", "bing"), (None, "google", "cpc", None, "paid", None),
        (None, "google", "organic", None, "organic", None), ("organic search", None, None, None, "organic", None),
        ("referral", None, None, None, "organic", "referral"), (None, "referral", "email", None, "organic", "referral"),
        (None, "news.ycombinator.com", "referral", None, "organic", None),  # a linking site, not a programme
        (None, None, None, None, "direct", None),
    ],
)
def test_classify_tags(channel: str | None, source: str | None, medium: str | None, click: str | None,
                       cls: str, key: str | None) -> None:
    got = classify_tags(channel, source, medium, DEFAULT_CHANNEL_MAP, click=click)
    assert (got.cls, got.key) == (cls, key)


def test_every_key_can_be_classified() -> None:
    for tags in [("podcast", "spotify", None), (None, "techweekly", "newsletter"), (None, "acme_partner", "cpm_x"),
                 ("search", None, None), (None, "bing", None), ("Influencer Program", None, None)]:
        key = classify_tags(*tags, DEFAULT_CHANNEL_MAP).key
        if key is not None:
            assert is_ambiguous(key), tags
            ProductSettings().with_value("organic.classify", f"{key} paid")


def test_a_channel_override_settles_an_ambiguous_source_at_import() -> None:
    assert classify_tags("partner", None, None, {**DEFAULT_CHANNEL_MAP, "partner": "paid"}).cls == "paid"


def test_organic_classify_takes_ambiguous_sources_only() -> None:
    s = ProductSettings().with_value("organic.classify", "Acme Partners paid")
    assert s.source_classes == (("acme_partners", "paid"),) and s.to_dict() == {"organic.classify.acme_partners": "paid"}
    assert ProductSettings.from_dict(s.to_dict()) == s
    assert is_ambiguous("google") and not is_ambiguous("tiktok")
    for bad in ("tiktok paid", "partner maybe", "partner", "referral paid"):
        with pytest.raises(SettingError):
            ProductSettings().with_value("organic.classify", bad)
    assert ProductSettings().with_value("organic.referrals_rewarded", "Yes").organic.referrals_rewarded == "yes"
    with pytest.raises(SettingError, match="yes or no"):
        ProductSettings().with_value("organic.referrals_rewarded", "maybe")
