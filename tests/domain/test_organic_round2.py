"""Issue 18's organic rules on hand-made weeks: the biggest week left out, the referral question,
untagged majority, classified and unclassified ambiguous sources, and the one plain line with its
next step that each state puts in next_steps."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.domain.gate import evaluate
from bot.domain.organic import organic_signal
from bot.domain.organic_stats import wilson_dispersed
from bot.domain.settings import OrganicSettings, ProductSettings
from bot.domain.types import WeekChannels
from bot.domain.weeks import week_start

from .test_gate import RETENTION, SURVEY

LAST = 2950
AS_OF = week_start(LAST + 1) + timedelta(days=2)
S = OrganicSettings()
Z1 = 1.6448536269514722


def weeks(rows: list[tuple[int, int, int, int]], keys: list[tuple[tuple[str, int], ...]] | None = None
          ) -> list[WeekChannels]:
    """(organic, paid, unknown, untagged) per week, ending at LAST."""
    keys = keys or [()] * len(rows)
    return [WeekChannels(week=LAST - len(rows) + 1 + i, organic=o, paid=p, unknown=u, direct=d, keys=k)
            for i, ((o, p, u, d), k) in enumerate(zip(rows, keys, strict=True))]


def steps(signal):  # type: ignore[no-untyped-def]
    return evaluate(product="p", product_name="P", as_of=AS_OF, retention=RETENTION, organic=signal, survey=SURVEY,
                    settings=ProductSettings()).next_steps


def test_one_viral_week_must_not_carry_the_share() -> None:
    # 12 steady weeks at 40 organic / 60 paid, then the last week brings 300 more organic signups.
    rows = [(40, 60, 0, 0)] * 11 + [(340, 60, 0, 0)]
    s = organic_signal(weeks(rows), AS_OF, S)
    # Window: 460 organic of 700 = 65.7%; without the viral week 120 of 300 = 40%.
    assert s.organic_share == pytest.approx(460 / 700)
    assert s.share_without_biggest_week == pytest.approx(0.4)
    assert s.organic_share_lower is not None and s.organic_share_lower >= 0.5
    assert s.lower_without_biggest_week == pytest.approx(wilson_dispersed(0.4, 300, s.dispersion, Z1)[0])
    assert s.status != "pass"
    assert "without its biggest week the share is 40%" in s.summary
    assert any(x.startswith("Without its biggest week the organic share is 40%") for x in steps(s))


def test_referrals_above_15_percent_ask_once_whether_they_are_rewarded() -> None:
    # 70 organic (20 of them referral-tagged: 20% of 100), 30 paid a week: passes on the share.
    rows, keys = [(70, 30, 0, 0)] * 12, [(("referral", 20),)] * 12
    asked = organic_signal(weeks(rows, keys), AS_OF, S)
    assert asked.referral_question and asked.status == "borderline" and asked.referral_signups == 80
    assert "20% of signups came from referrals" in asked.summary
    (step,) = [x for x in steps(asked) if "referral" in x]
    assert step.startswith("20% of signups came from referrals: are signups from referrals rewarded")
    assert "`/pmf-check config organic.referrals_rewarded yes|no`" in step
    no = organic_signal(weeks(rows, keys), AS_OF, dataclasses.replace(S, referrals_rewarded="no"))
    assert not no.referral_question and no.status == "pass" and no.organic_share == pytest.approx(0.7)
    yes = organic_signal(weeks(rows, keys), AS_OF, dataclasses.replace(S, referrals_rewarded="yes"))
    assert yes.organic_share == pytest.approx(0.5) and yes.paid_signups == 200 and yes.status != "pass"
    # 15% or less: not asked.
    few = organic_signal(weeks(rows, [(("referral", 15),)] * 12), AS_OF, S)
    assert not few.referral_question and few.status == "pass"


def test_untagged_majority_is_at_most_borderline() -> None:
    # 20 tagged organic, 10 tagged paid, 70 untagged a week: untagged 70 > half of 100 classified.
    s = organic_signal(weeks([(20, 10, 0, 70)] * 12), AS_OF, S)
    assert s.untagged_majority and s.status == "borderline"
    assert "most signups carry no tags, so paid and organic cannot be told apart" in s.summary
    assert any(x.startswith("Most signups carry no tags, so paid and organic cannot be told apart") for x in steps(s))
    assert not organic_signal(weeks([(50, 10, 0, 40)] * 12), AS_OF, S).untagged_majority


def test_ambiguous_sources_wait_for_a_manager_and_passing_must_not_hang_on_them() -> None:
    # 60 organic, 15 paid and 25 partner (unknown) a week: 80% of the classified are organic, but
    # with partner paid it would be 60 of 100 — still over the bar, so it passes and lists partner.
    rows, keys = [(60, 15, 25, 0)] * 12, [(("partner", 25),)] * 12
    s = organic_signal(weeks(rows, keys), AS_OF, S)
    assert s.unclassified_sources == (("partner", 100),) and s.status == "pass"
    assert ("1 source needs classifying: partner (100) — `/pmf-check config organic.classify partner organic|paid`"
            in s.summary)
    # 40 organic, 15 paid, 45 partner: 73% of the classified, 40% if partner is paid: borderline.
    rows2, keys2 = [(40, 15, 45, 0)] * 12, [(("partner", 45),)] * 12
    held = organic_signal(weeks(rows2, keys2), AS_OF, S)
    assert held.organic_share == pytest.approx(40 / 55) and held.status == "borderline"
    assert steps(held)[0].startswith("1 source needs classifying: partner (180)")
    paid = organic_signal(weeks(rows2, keys2), AS_OF, S, sources={"partner": "paid"})
    assert paid.unclassified_sources == () and paid.paid_signups == 4 * 60 and paid.status == "fail"
    organic = organic_signal(weeks(rows2, keys2), AS_OF, S, sources={"partner": "organic"})
    assert organic.organic_signups == 4 * 85 and organic.unknown_share == 0.0 and organic.status == "pass"


def test_signups_paid_by_a_click_id_are_reported() -> None:
    s = organic_signal(weeks([(30, 70, 0, 0)] * 12, [(("click:gclid", 50), ("click:fbclid", 10))] * 12), AS_OF, S)
    assert s.click_id_signups == 240 and "240 signups came from an ad click" in s.summary
    assert s.to_json()["click_id_signups"] == 240
