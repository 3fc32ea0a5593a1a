"""The survey's value types (SPEC §5 "Sean Ellis score"): a response, the counts, a segment's
score, who could have answered, and the signal. Re-exported by ``bot.domain.types``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from bot.domain.kinds import ActivityTier, Answer, Status, _ci, _r

# --------------------------------------------------------------------------- survey


@dataclass(frozen=True)
class SurveyResponse:
    """One answer, from a Slack survey or an import. ``respondent`` is an opaque key (an
    imported id, a Slack user id, or a keyed hash for anonymous surveys)."""

    respondent: str
    answered_at_day: date
    answer: Answer
    segment: str | None = None
    main_benefit: str | None = None
    order: float = 0.0  # tie-break for "latest" (e.g. a timestamp); larger = later
    improve: str | None = None  # the "how could we improve it" follow-up (the survey's lessons)
    # Matched when it was given, keeping no identity (anonymous Slack answers, SPEC §5 "Who
    # answered"): ``active`` says whether the respondent was an active user then and ``tier``
    # their activity tier. None = not matched at answer time; a key the audience matched wins.
    active: bool | None = None
    tier: ActivityTier | None = None


@dataclass(frozen=True)
class SurveyCounts:
    very: int
    somewhat: int
    not_: int
    na: int

    @property
    def scored(self) -> int:
        return self.very + self.somewhat + self.not_


@dataclass(frozen=True)
class SegmentScore:
    segment: str
    responses: int
    very_disappointed: int
    score: float | None  # None when hidden (fewer than the minimum for a breakdown)
    ci: tuple[float, float] | None


@dataclass(frozen=True)
class SurveyAudience:
    """Who could have answered, for weighting the score and showing the response rate.

    ``tiers`` maps a respondent key (as in ``SurveyResponse.respondent``) that was matched to a
    product user to that user's activity tier, or to None when the user is not active (Ellis's
    definition: active in at least 2 weeks and within the last two weeks); those answers are not
    counted. A respondent key absent from ``tiers`` is unmatched and counts unweighted.
    ``active_by_tier`` counts the product's active users per tier; ``channel_members`` is the
    number of people the Slack survey could reach, the base of the unmatched response rate.
    """

    tiers: dict[str, ActivityTier | None] = field(default_factory=dict)
    active_by_tier: dict[ActivityTier, int] = field(default_factory=dict)
    channel_members: int | None = None

    @property
    def active_users(self) -> int:
        return sum(self.active_by_tier.values())


@dataclass(frozen=True)
class SurveySignal:
    status: Status
    responses: int  # scored responses (very + somewhat + not)
    very_disappointed: int
    score: float | None
    ci: tuple[float, float] | None
    not_applicable: int
    more_responses_needed: int
    counts: SurveyCounts
    summary: str
    pass_bound: float | None = None  # the Wilson lower bound at pass_z that passing is judged on
    weighted: bool = False  # score weighted by activity tier (all or some answers matched)
    effective_responses: float | None = None  # Kish effective n the intervals rest on
    unmatched: int = 0  # scored answers that could not be matched to a product user
    inactive_excluded: int = 0  # answers from matched users who are not active, left out
    response_rate: float | None = None
    response_rate_base: Literal["active_users", "channel_members"] | None = None
    changed_by_window: bool = False  # the status moved only because answers left the window
    # What more_responses_needed would read after the next answer either way (very or not): the
    # number moves by tens as single answers arrive, so surfaces show this range (None: no range).
    more_responses_range: tuple[int, int] | None = None

    @property
    def more_responses_text(self) -> str:
        """ "about 350–470" (or "about 423" when the range is one number)."""
        lo, hi = self.more_responses_range or (self.more_responses_needed, self.more_responses_needed)
        return f"about {lo:,}" if lo == hi else f"about {lo:,}–{hi:,}"
    # Coverage (SPEC §5): tiers holding >= 20% of the active users with fewer than 5 counted
    # answers, with the answers they have; any caps the signal at borderline.
    uncovered_tiers: tuple[tuple[ActivityTier, int], ...] = ()
    # More than 25% of the counted answers cannot be tied to an active user: at most borderline.
    too_many_unmatched: bool = False
    # The score passes only thanks to unmatched answers (the matched ones alone do not): borderline.
    unmatched_lift: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "responses": self.responses,
            "very_disappointed": self.very_disappointed,
            "score": _r(self.score, 3),
            "ci": _ci(self.ci, 3),
            "pass_bound": _r(self.pass_bound, 3),
            "not_applicable": self.not_applicable,
            "more_responses_needed": self.more_responses_needed,
            "weighted": self.weighted,
            "effective_responses": _r(self.effective_responses, 1),
            "unmatched": self.unmatched,
            "inactive_excluded": self.inactive_excluded,
            "response_rate": _r(self.response_rate, 3),
            "response_rate_base": self.response_rate_base,
            "changed_by_window": self.changed_by_window,
            "uncovered_tiers": [{"tier": tier, "answers": n} for tier, n in self.uncovered_tiers],
            "too_many_unmatched": self.too_many_unmatched,
            "unmatched_lift": self.unmatched_lift,
            "summary": self.summary,
        }
