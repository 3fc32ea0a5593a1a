"""Hand-built domain values for the render tests: a realistic product ("Acme Analytics", 25
weekly cohorts growing 13% a week, retention flattening near 30%, mostly organic growth, a
borderline survey), an earlier report for the digest, one with too little data and one with none.
Built from the dataclasses directly, so these tests do not depend on the statistics modules; the
values are frozen, so the fixtures are shared by the whole session."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import pytest

from bot.domain.types import (
    Cohort,
    CohortTable,
    CurvePoint,
    GateReport,
    OrganicSignal,
    RetentionSignal,
    SurveyCounts,
    SurveySignal,
    Warning_,
)
from bot.domain.weeks import last_complete_week

AS_OF = date(2026, 11, 23)  # a Monday


def make_cohort_table(as_of: date = AS_OF, n_cohorts: int = 25, first_size: float = 20.0) -> CohortTable:
    """Cohorts growing 13% a week; retention 30% + 70%·e^(−k/1.8) with a deterministic wobble."""
    last = last_complete_week(as_of)
    cohorts = []
    for i in range(n_cohorts):
        week = last - n_cohorts + 1 + i
        size = int(first_size * 1.13**i)
        active = [size]
        for k in range(1, last - week + 1):
            r = 0.30 + 0.70 * math.exp(-k / 1.8)
            active.append(min(size, round(size * r * (1 + 0.06 * math.sin(i * 1.7 + k)))))
        cohorts.append(Cohort(week=week, size=size, active=tuple(active)))
    average = []
    for k in range(max(len(c.active) for c in cohorts)):
        eligible = [c for c in cohorts if len(c.active) > k]
        users = sum(c.size for c in eligible)
        active_k = sum(c.active[k] for c in eligible)
        average.append(CurvePoint(k, active_k / users, users, len(eligible), active_k))
    return CohortTable(as_of, last, tuple(cohorts), tuple(average))


def retention_for(table: CohortTable, *, min_users: int = 50, tail_weeks: int = 6) -> RetentionSignal:
    usable = [p for p in table.average if p.users >= min_users]
    tail = usable[-tail_weeks:]
    level = sum(p.active for p in tail) / sum(p.users for p in tail)
    return RetentionSignal(
        status="pass",
        plateau_level=level,
        plateau_level_ci=(level - 0.031, level + 0.029),
        tail_slope=-0.0021,
        tail_slope_ci=(-0.0079, 0.0036),
        weeks_observed=len(usable),
        tail_offsets=tuple(p.week_offset for p in tail),
        users=sum(c.size for c in table.cohorts),
        summary="Retention flattens at about 30% from week 17 on; the tail is flat within ±1 pt a week.",
    )


def make_organic(as_of: date = AS_OF) -> OrganicSignal:
    last = last_complete_week(as_of)
    shares = [0.47, 0.50, 0.49, 0.53, 0.52, None, 0.55, 0.58, 0.57, 0.60, 0.63, 0.61]
    return OrganicSignal(
        status="pass",
        organic_share=0.620,
        organic_share_ci=(0.587, 0.653),
        trend_per_week=0.011,
        trend_ci=(0.002, 0.020),
        signups=840,
        unknown_share=0.04,
        organic_signups=500,
        paid_signups=306,
        previous_organic_signups=430,
        previous_paid_signups=330,
        weeks_observed=26,
        weekly_shares=tuple((last - 11 + i, s) for i, s in enumerate(shares)),
        summary="62% of classified signups are organic and the share is rising about 1 pt a week.",
    )


def make_survey() -> SurveySignal:
    return SurveySignal(
        status="borderline",
        responses=40,
        very_disappointed=16,
        score=0.40,
        ci=(0.263, 0.554),
        not_applicable=2,
        more_responses_needed=0,
        counts=SurveyCounts(very=16, somewhat=17, not_=7, na=2),
        summary="16 of 40 users would be very disappointed; the interval still straddles 40%.",
    )


def make_report(as_of: date = AS_OF) -> GateReport:
    table = make_cohort_table(as_of)
    return GateReport(
        product="acme",
        product_name="Acme Analytics",
        as_of=as_of,
        verdict="unclear",
        retention=retention_for(table),
        organic=make_organic(as_of),
        survey=make_survey(),
        warnings=(Warning_("premature_scaling",
                           "Paid signups grew 24% over the previous 4 weeks while the verdict is "
                           "not ready: hold the ad budget until the gate says ready."),),
        next_steps=(
            "Survey: the score sits on the 40% bar; ask more active users (aim for 100 answers).",
            "Retention: keep watching; the plateau holds over 22 weeks.",
        ),
        cohort_table=table,
    )


def make_previous(report: GateReport) -> GateReport:
    r, o, s = report.retention, report.organic, report.survey
    assert r.plateau_level is not None and o.organic_share is not None
    return GateReport(
        product=report.product,
        product_name=report.product_name,
        as_of=date.fromordinal(report.as_of.toordinal() - 7),
        verdict="unclear",
        retention=replace(r, status="borderline", plateau_level=r.plateau_level - 0.004),
        organic=replace(o, organic_share=o.organic_share - 0.012),
        survey=replace(s, score=0.371, ci=(0.229, 0.537), responses=35),
    )


def make_insufficient_report(as_of: date = AS_OF) -> GateReport:
    table = make_cohort_table(as_of, n_cohorts=4, first_size=30)
    last = last_complete_week(as_of)
    return GateReport(
        product="newco",
        product_name="NewCo",
        as_of=as_of,
        verdict="unclear",
        retention=RetentionSignal(
            status="insufficient_data", plateau_level=None, plateau_level_ci=None, tail_slope=None,
            tail_slope_ci=None, weeks_observed=3, tail_offsets=(),
            users=sum(c.size for c in table.cohorts),
            summary="Only 3 weeks of retention with enough users so far; the plateau test needs 8.",
        ),
        organic=OrganicSignal(
            status="insufficient_data", organic_share=None, organic_share_ci=None,
            trend_per_week=None, trend_ci=None, signups=12, unknown_share=0.25,
            organic_signups=6, paid_signups=3, previous_organic_signups=0,
            previous_paid_signups=0, weeks_observed=3,
            weekly_shares=((last - 2, 0.5), (last - 1, None), (last, 0.75)),
            summary="9 classified signups in the window; at least 30 are needed.",
        ),
        survey=SurveySignal(
            status="insufficient_data", responses=12, very_disappointed=5, score=5 / 12,
            ci=(0.193, 0.680), not_applicable=1, more_responses_needed=28,
            counts=SurveyCounts(very=5, somewhat=4, not_=3, na=1),
            summary="12 responses so far; 40 are needed for a score.",
        ),
        next_steps=("Run a survey: `/pmf-check survey start`.",),
        cohort_table=table,
    )


def make_empty_report(as_of: date = AS_OF) -> GateReport:
    return GateReport(
        product="empty",
        product_name="Empty & <Co> $5",
        as_of=as_of,
        verdict="unclear",
        retention=RetentionSignal(
            status="insufficient_data", plateau_level=None, plateau_level_ci=None, tail_slope=None,
            tail_slope_ci=None, weeks_observed=0, tail_offsets=(), users=0, summary="",
        ),
        organic=OrganicSignal(
            status="insufficient_data", organic_share=None, organic_share_ci=None,
            trend_per_week=None, trend_ci=None, signups=0, unknown_share=None,
            organic_signups=0, paid_signups=0, previous_organic_signups=0,
            previous_paid_signups=0, weeks_observed=0, weekly_shares=(), summary="",
        ),
        survey=SurveySignal(
            status="insufficient_data", responses=0, very_disappointed=0, score=None, ci=None,
            not_applicable=0, more_responses_needed=0, counts=SurveyCounts(0, 0, 0, 0), summary="",
        ),
        cohort_table=CohortTable(as_of, last_complete_week(as_of), (), ()),
    )


@pytest.fixture(scope="session")
def report() -> GateReport:
    return make_report()


@pytest.fixture(scope="session")
def previous_report(report: GateReport) -> GateReport:
    return make_previous(report)


@pytest.fixture(scope="session")
def insufficient_report() -> GateReport:
    return make_insufficient_report()


@pytest.fixture(scope="session")
def empty_report() -> GateReport:
    return make_empty_report()
