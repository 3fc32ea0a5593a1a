"""The value types the PMF domain computes with and returns.

Everything here is a frozen dataclass with no behaviour beyond small derived properties, so that
storage, rendering and Slack code can pass these around without importing the statistics. The
JSON shapes of SPEC §4 are produced by ``to_json`` methods here, in one place, so the CLI, the
Block Kit builders and the tests all agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.domain.active_events import ActiveEventsReport
from bot.domain.kinds import (  # noqa: F401  (the domain's names, one import away for every caller)
    ANSWERS,
    STATUSES,
    TIERS,
    ActivityTier,
    Answer,
    ChannelClass,
    Status,
    Verdict,
    _ci,
    _r,
)
from bot.domain.survey_types import (  # noqa: F401
    SegmentScore,
    SurveyAudience,
    SurveyCounts,
    SurveyResponse,
    SurveySignal,
)

# --------------------------------------------------------------------------- retention


@dataclass(frozen=True)
class Cohort:
    """One weekly signup cohort. ``week`` is a Monday-based week index (see ``weeks.py``);
    ``active[k]`` = members active in week ``week + k``, for complete weeks only."""

    week: int
    size: int
    active: tuple[int, ...]


@dataclass(frozen=True)
class CurvePoint:
    """The size-weighted average retention at one week offset, over the cohorts whose week
    ``week_offset`` is complete (``cohorts`` of them, ``users`` eligible members)."""

    week_offset: int
    retention: float
    users: int
    cohorts: int
    active: int


@dataclass(frozen=True)
class CohortTable:
    as_of: date
    last_complete_week: int  # week index of the last complete week
    cohorts: tuple[Cohort, ...]
    average: tuple[CurvePoint, ...]


@dataclass(frozen=True)
class TailPatterns:
    """Sufficient statistics for a bootstrap over users on the tail of the curve.

    ``offsets`` are the tail week offsets (ascending). For each cohort week, ``counts`` maps a
    bit mask (bit i set = active at ``offsets[i]``) to the number of members with exactly that
    pattern; members active at none of the offsets are under mask 0, so the counts of a cohort
    sum to its size. Only offsets complete for that cohort can have their bit set.
    """

    offsets: tuple[int, ...]
    counts: dict[int, dict[int, int]]  # cohort week -> {mask: users}


@dataclass(frozen=True)
class RetentionSignal:
    status: Status
    plateau_level: float | None
    plateau_level_ci: tuple[float, float] | None
    tail_slope: float | None
    tail_slope_ci: tuple[float, float] | None
    weeks_observed: int  # usable offsets (points with at least min_users eligible users)
    tail_offsets: tuple[int, ...]
    users: int  # users in the cohorts counted
    summary: str
    # The fixed set of cohorts the whole tail is averaged over (cohort week indexes) and its users.
    tail_cohorts: tuple[int, ...] = ()
    tail_users: int = 0
    # slope / level per week ("loses 3% of its remaining users a week" is -0.03), with its interval.
    relative_slope: float | None = None
    relative_slope_ci: tuple[float, float] | None = None
    # Newer cohorts' retention over the tail set's at the same weeks (observed / expected), with
    # the one-sided 95% upper bound; None when too few newer users reached them to compare.
    drift_ratio: float | None = None
    drift_ratio_upper: float | None = None
    drift_users: int = 0
    drifting: bool = False
    # The first week the drift figures above were measured from: the first tail week, or the
    # early offset max(4, ceil(first tail week / 2)) when that is where newer users retain worse.
    drift_offset: int | None = None
    # The tail's one-sided 95% lower slope bound is above 0: the same users came back (a win-back
    # campaign, a season, a launch), so a plateau cannot be judged until it settles.
    rising: bool = False
    # What this week's data alone says, before the confirm_weeks rule; the service passes the
    # previous week's value back in as ``previous_status``.
    unconfirmed_status: Status | None = None
    # What counted as activity (retention.active_events) and the top event names, when the
    # product's imports carried event names or a non-default rule is set.
    active_events: ActiveEventsReport | None = None

    @property
    def awaiting_confirmation(self) -> bool:
        """A first-time pass held back until it holds at the next weekly check."""
        return self.unconfirmed_status == "pass" and self.status != "pass"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "plateau_level": _r(self.plateau_level),
            "plateau_level_ci": _ci(self.plateau_level_ci),
            "tail_slope": _r(self.tail_slope, 5),
            "tail_slope_ci": _ci(self.tail_slope_ci, 5),
            "relative_slope": _r(self.relative_slope, 5),
            "relative_slope_ci": _ci(self.relative_slope_ci, 5),
            "weeks_observed": self.weeks_observed,
            "users": self.users,
            "tail_cohorts": len(self.tail_cohorts),
            "tail_users": self.tail_users,
            "drift_ratio": _r(self.drift_ratio),
            "drift_ratio_upper": _r(self.drift_ratio_upper),
            "drift_offset": self.drift_offset,
            "drifting": self.drifting,
            "rising": self.rising,
            "awaiting_confirmation": self.awaiting_confirmation,
            "summary": self.summary,
            **({"active_events": self.active_events.to_json()} if self.active_events else {}),
        }


# --------------------------------------------------------------------------- organic


@dataclass(frozen=True)
class WeekChannels:
    """Signups of one complete week by channel class."""

    week: int
    organic: int
    paid: int
    unknown: int
    direct: int = 0  # "direct (untagged)": signups that carried no tags at all
    # Signups whose class can change or needs telling, by key (bot/domain/channels.py): an
    # ambiguous source's name (counted in ``unknown`` until classified), "referral" (counted in
    # ``organic``, paid when referrals are rewarded), "click:<id>" (paid by an ad click id).
    keys: tuple[tuple[str, int], ...] = ()

    @property
    def classified(self) -> int:
        """Signups the share is computed over: organic, paid and untagged."""
        return self.organic + self.paid + self.direct

    @property
    def total(self) -> int:
        return self.organic + self.paid + self.direct + self.unknown


@dataclass(frozen=True)
class OrganicSignal:
    status: Status
    organic_share: float | None
    organic_share_ci: tuple[float, float] | None
    trend_per_week: float | None
    trend_ci: tuple[float, float] | None
    signups: int  # all signups in the window (organic + paid + unknown)
    unknown_share: float | None
    organic_signups: int
    paid_signups: int
    previous_organic_signups: int
    previous_paid_signups: int
    weeks_observed: int
    weekly_shares: tuple[tuple[int, float | None], ...]  # (week, organic share) over trend_weeks
    summary: str
    # The one-sided 95% Wilson lower bound of the share, which passing is judged on.
    organic_share_lower: float | None = None
    # Untagged ("direct") signups in the window, and how many of them count as paid under the
    # untagged-paid allowance (the rest count as organic and are in ``organic_signups``).
    untagged_signups: int = 0
    untagged_as_paid: float = 0.0
    untagged_share: float | None = None  # untagged / all signups in the window
    custom_allowance: float | None = None  # the allowance when a manager changed it (disclosed)
    # SPEC §5 round 2: what holds the signal back and what the manager can answer.
    unclassified_sources: tuple[tuple[str, int], ...] = ()  # ambiguous sources in the window, most first
    referral_signups: int = 0  # referral-tagged signups in the window
    referral_question: bool = False  # referrals above 15% of the window and "rewarded?" unanswered
    untagged_majority: bool = False  # untagged signups more than half of the classified ones
    click_id_signups: int = 0  # signups in the window that are paid by an ad click id
    dispersion: float = 1.0  # Pearson chi-square / df of the window's weekly shares (>= 1)
    share_without_biggest_week: float | None = None
    lower_without_biggest_week: float | None = None
    shrinking: bool = False  # quasi-Poisson: organic signups confidently falling
    organic_weekly_change: float | None = None  # fitted change of weekly organic signups per week

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "organic_share": _r(self.organic_share),
            "organic_share_ci": _ci(self.organic_share_ci),
            "organic_share_lower": _r(self.organic_share_lower),
            "untagged_signups": self.untagged_signups,
            "untagged_share": _r(self.untagged_share),
            "untagged_counted_paid": _r(self.untagged_as_paid, 1),
            "custom_untagged_paid_allowance": self.custom_allowance,
            "trend_per_week": _r(self.trend_per_week, 5),
            "trend_ci": _ci(self.trend_ci, 5),
            "signups": self.signups,
            "unknown_share": _r(self.unknown_share),
            "unclassified_sources": [{"source": k, "signups": n} for k, n in self.unclassified_sources],
            "referral_signups": self.referral_signups,
            "referrals_question": self.referral_question,
            "untagged_majority": self.untagged_majority,
            "click_id_signups": self.click_id_signups,
            "dispersion": _r(self.dispersion),
            "organic_share_without_biggest_week": _r(self.share_without_biggest_week),
            "shrinking": self.shrinking,
            "organic_weekly_change": _r(self.organic_weekly_change),
            "organic_signups": self.organic_signups,
            "paid_signups": self.paid_signups,
            "weeks_observed": self.weeks_observed,
            "summary": self.summary,
        }


# --------------------------------------------------------------------------- gate


@dataclass(frozen=True)
class Warning_:
    code: str
    message: str


@dataclass(frozen=True)
class CustomSetting:
    """A product setting that differs from its default (SPEC §8 "Custom rules"): ``default`` is
    None for a channel name the default map does not know."""

    key: str
    value: str | int | float
    default: str | int | float | None


@dataclass(frozen=True)
class DefaultRulesGate:
    """The gate computed again with the default settings, beside a product's custom rules (SPEC §5
    "Custom rules never hide"): its verdict, each signal's status under the defaults, and the
    settings that differ. Carried on the report, so it is cached and stored with it."""

    verdict: Verdict
    retention: Status
    organic: Status
    survey: Status
    custom: tuple[CustomSetting, ...] = ()

    def statuses(self) -> dict[str, Status]:
        return {"retention": self.retention, "organic": self.organic, "survey": self.survey}


@dataclass(frozen=True)
class GateReport:
    product: str
    product_name: str
    as_of: date
    verdict: Verdict
    retention: RetentionSignal
    organic: OrganicSignal
    survey: SurveySignal
    warnings: tuple[Warning_, ...] = ()
    next_steps: tuple[str, ...] = ()
    cohort_table: CohortTable | None = field(default=None, compare=False)
    # The gate under the default settings; None when every rule is the default.
    default_rules: DefaultRulesGate | None = None

    @property
    def default_rules_verdict(self) -> Verdict | None:
        return self.default_rules.verdict if self.default_rules is not None else None

    @property
    def verdict_differs_by_rules(self) -> bool:
        """True when the product's custom rules give another verdict than the defaults would."""
        return self.default_rules is not None and self.default_rules.verdict != self.verdict

    @property
    def has_data(self) -> bool:
        """False when nothing is known for the complete weeks the report covers: no users, no
        signups, no survey answers. Such a report is not a verdict but a "no data yet" state."""
        users = self.retention.users > 0 or bool(self.cohort_table and self.cohort_table.cohorts)
        signups = self.organic.weeks_observed > 0 or self.organic.signups > 0
        answers = self.survey.counts.scored + self.survey.counts.na > 0
        return users or signups or answers

    def to_json(self, set_by: dict[str, tuple[str | None, str | None]] | None = None) -> dict[str, Any]:
        """SPEC §4. ``default_rules_verdict`` is the verdict under the default settings (null when
        every rule is the default); ``custom_rules`` lists the settings that differ, with who set
        each and when (ISO) from ``set_by`` (key -> (actor, at)) when given."""
        d = self.default_rules
        who = set_by or {}
        return {
            "product": self.product,
            "as_of": self.as_of.isoformat(),
            "verdict": self.verdict,
            "default_rules_verdict": d.verdict if d is not None else None,
            "default_rules_signals": d.statuses() if d is not None else None,
            "custom_rules": [{"key": c.key, "value": c.value, "default": c.default,
                              "set_by": who.get(c.key, (None, None))[0], "set_at": who.get(c.key, (None, None))[1]}
                             for c in (d.custom if d is not None else ())],
            "signals": {
                "retention": self.retention.to_json(),
                "organic": self.organic.to_json(),
                "survey": self.survey.to_json(),
            },
            "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
            "next_steps": list(self.next_steps),
        }
