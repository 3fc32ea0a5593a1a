"""The plain values of in-channel surveys, shared by the service (``bot.surveys.service``), the Slack
side (``bot.surveys.slack``) and the Block Kit builders (``bot.surveys.blocks``).

Frozen dataclasses only, importing nothing but the pure domain, so that rendering never depends
on storage. ``SurveyInfo`` is a copy of a survey row; ``SurveyResults`` is what a closed survey's
results post shows, as computed by ``bot.surveys.service.compute_results``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.domain.lessons import Lessons
from bot.domain.settings import SurveySettings
from bot.domain.types import Answer, SegmentScore, SurveyCounts, SurveySignal

# How long a survey stays open unless its starter says otherwise (the digest's button states it).
DEFAULT_DAYS = 14

# Breakdowns (segments, the lessons' quotes) of anonymous surveys need at least this many people, so
# that nobody's answer can be read off a small group.
MIN_GROUP = 5

ROLES: tuple[str, ...] = (
    "Founder / executive",
    "Engineer / developer",
    "Product manager",
    "Designer",
    "Marketing / growth",
    "Sales / customer success",
    "Operations / support",
    "Data / analytics",
    "Student / researcher",
)
OTHER_ROLE = "Other"


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class SurveyInfo:
    """A survey as the Slack layer needs it (a copy of the row, safe to use after the session)."""

    id: int
    team_id: str
    workspace_id: int
    product_id: int
    product_slug: str
    product_name: str
    channel_id: str
    message_ts: str | None
    anonymous: bool
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    responses: int  # respondents so far (the live count)
    results_ts: str | None = None

    def is_open(self, now: datetime) -> bool:
        return self.closed_at is None and now < self.closes_at


AnswerStatus = Literal["recorded", "ignored", "closed", "not_found", "duplicate"]


@dataclass(frozen=True)
class AnswerOutcome:
    """What became of one answer. ``ignored``: the same click delivered again, or an older click
    that arrived after a newer one (the newer answer stands)."""

    status: AnswerStatus
    survey: SurveyInfo | None = None
    answer: Answer | None = None


ReplyStatus = Literal["answer", "comment", "not_respondent", "closed", "ignored", "not_survey", "duplicate"]


@dataclass(frozen=True)
class ReplyOutcome:
    """What a thread reply did: recorded an ``answer``, stored a ``comment``, came from someone
    who has not answered yet (``not_respondent``: nothing stored), arrived after the close, or
    was ``ignored`` (an edit or deletion with nothing to change)."""

    status: ReplyStatus
    survey: SurveyInfo | None = None
    answer: Answer | None = None


@dataclass(frozen=True)
class FollowUp:
    """The modal's answers. ``segment`` is the role (one of ``ROLES``, or free text for other)."""

    who_benefits: str | None = None
    main_benefit: str | None = None
    improve: str | None = None
    segment: str | None = None


FollowUpStatus = Literal["saved", "closed", "no_answer", "not_found"]


@dataclass(frozen=True)
class SegmentRow:
    """One segment of the results: the domain's score (hidden below 5 scored answers) and how
    many people (N/A included) are in it."""

    score: SegmentScore
    respondents: int


@dataclass(frozen=True)
class SurveyResults:
    """Everything the results post shows, computed by the domain from the stored responses."""

    survey: SurveyInfo
    as_of: date
    counts: SurveyCounts
    signal: SurveySignal  # this survey's answers alone
    gate: SurveySignal  # the product's survey signal: Slack and imported answers in the window
    settings: SurveySettings
    segments: tuple[SegmentRow, ...]
    hidden_segments: int  # anonymous surveys: segments with fewer than MIN_GROUP people, not shown
    hidden_respondents: int
    lessons: Lessons  # who loves it most, what they love, what holds back those who share it (SPEC §10)

    @property
    def respondents(self) -> int:
        return self.counts.scored + self.counts.na
