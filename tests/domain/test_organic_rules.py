"""The organic rules of issue 11, worked by hand: the untagged-paid allowance, "direct (untagged)"
reported on its own, and passing on the one-sided 95% Wilson lower bound (checked against
statsmodels)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from statsmodels.stats.proportion import proportion_confint

from bot.domain.gate import evaluate
from bot.domain.organic import classify_signup, organic_signal, untagged_as_paid
from bot.domain.settings import DEFAULT_CHANNEL_MAP, OrganicSettings, ProductSettings
from bot.domain.types import WeekChannels
from bot.domain.weeks import week_start

from .test_gate import RETENTION, SURVEY

LAST = 2950
AS_OF = week_start(LAST + 1) + timedelta(days=2)
SETTINGS = OrganicSettings()


def steady(organic: int, paid: int, direct: int = 0, unknown: int = 0, weeks: int = 12) -> list[WeekChannels]:
    return [WeekChannels(week=LAST - weeks + 1 + i, organic=organic, paid=paid, unknown=unknown, direct=direct)
            for i in range(weeks)]


@pytest.mark.parametrize(
    ("untagged", "paid", "allowance", "expected"),
    [(40, 100, 0.25, 25), (10, 100, 0.25, 10), (40, 0, 0.25, 0), (40, 100, 0.0, 0), (0, 100, 0.25, 0)],
    ids=["capped-by-allowance", "capped-by-untagged", "no-paid-no-allowance", "allowance-off", "nothing-untagged"],
)
def test_untagged_as_paid(untagged: int, paid: int, allowance: float, expected: float) -> None:
    assert untagged_as_paid(untagged, paid, allowance) == expected


def test_the_allowance_worked_by_hand() -> None:
    # A week: 20 tagged organic, 42 tagged paid, 38 untagged. 0.25 x 42 = 10.5 untagged count as
    # paid, so organic = 20 + 38 - 10.5 = 47.5 of 100 a week: 47.5%, under the bar.
    s = organic_signal(steady(20, 42, direct=38), AS_OF, SETTINGS)
    assert s.organic_share == pytest.approx(0.475)
    assert s.untagged_signups == 4 * 38 and s.untagged_as_paid == pytest.approx(4 * 10.5)
    assert (s.organic_signups, s.paid_signups) == (190, 210)
    assert s.untagged_share == pytest.approx(0.38)
    assert s.status == "fail"
    assert "38% of signups carry no tags, 42 of them counted as paid links that lost their tags" in s.summary
    # Without the allowance the same signups read 58% organic.
    off = organic_signal(steady(20, 42, direct=38), AS_OF, dataclasses.replace(SETTINGS, untagged_paid_allowance=0.0))
    assert off.organic_share == pytest.approx(0.58)
    assert off.custom_allowance == 0.0 and "custom rule" in off.summary


def test_a_custom_allowance_is_disclosed_as_a_warning() -> None:
    org = organic_signal(steady(60, 20, direct=25), AS_OF, dataclasses.replace(SETTINGS, untagged_paid_allowance=0.0))
    settings = ProductSettings().with_value("organic.untagged_paid_allowance", "0")
    report = evaluate(product="p", product_name="P", as_of=AS_OF, retention=RETENTION, organic=org, survey=SURVEY,
                      settings=settings)
    codes = {w.code: w.message for w in report.warnings}
    assert codes["custom_rule"].startswith("Custom rule: untagged signups count as paid up to 0%")
    assert codes["untagged_signups"].startswith("24% of signups in the last 4 weeks carry no tags")


@pytest.mark.parametrize(("organic", "paid"), [(55, 45), (60, 40), (53, 47), (70, 30), (51, 49)])
def test_pass_is_judged_on_the_one_sided_wilson_lower_bound(organic: int, paid: int) -> None:
    s = organic_signal(steady(organic, paid), AS_OF, SETTINGS)
    n, k = 4 * (organic + paid), 4 * organic
    lower, _ = proportion_confint(k, n, alpha=0.10, method="wilson")  # each end one-sided 95%
    assert s.organic_share_lower == pytest.approx(lower, abs=1e-9)
    assert s.organic_share_ci == pytest.approx(proportion_confint(k, n, alpha=0.05, method="wilson"), abs=1e-9)
    assert (s.status == "pass") is (lower >= 0.5)
    if s.status != "pass":
        assert s.status == "borderline" and "could still be under" in s.summary


def test_direct_untagged_is_its_own_class() -> None:
    m = DEFAULT_CHANNEL_MAP
    assert classify_signup(None, None, None, m) == "direct"
    assert classify_signup("", "(direct)", "(none)", m) == "direct"
    assert classify_signup("direct", None, None, m) == "direct"
    assert classify_signup(None, "google", "(none)", m) == "unknown"
    assert classify_signup("newsletter", "partner_x", "sponsored", m) == "paid"
    assert classify_signup("Word of mouth", None, "(not set)", m) == "organic"
    assert classify_signup("tiktok", None, None, {**m, "tiktok": "direct"}) == "direct"


def test_weekly_channels_without_direct_still_work() -> None:
    # Storage written before "direct" existed has no such rows: WeekChannels defaults to 0.
    s = organic_signal([WeekChannels(week=LAST - i, organic=70, paid=30, unknown=0) for i in range(12)], AS_OF,
                       SETTINGS)
    assert s.status == "pass" and s.untagged_signups == 0 and "carry no tags" not in s.summary
