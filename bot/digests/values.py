"""The plain values the digest use cases hand to the runner, the listeners and the renderer:
subscriptions and their last delivery, a delivery job, a digest's content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.digests.schedule import Schedule, report_week
from bot.domain.types import GateReport
from bot.history.values import History
from storage.repositories.products import ProductRef

# =============================================================================== value types


@dataclass(frozen=True)
class DeliveryInfo:
    period: date
    due_at: datetime
    status: str
    late: bool
    sent_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class SubscriptionInfo:
    id: int
    product_slug: str
    product_name: str
    channel_id: str
    schedule: Schedule
    active: bool
    paused_reason: str | None
    created_by: str | None
    next_run: datetime | None
    last_delivery: DeliveryInfo | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int


@dataclass(frozen=True)
class OpenSurvey:
    channel_id: str
    responses: int
    closes_at: datetime
    anonymous: bool


@dataclass(frozen=True)
class WeekActivity:
    """What arrived for one complete week: active users, signups, survey answers."""

    active_users: int
    signups: int
    responses: int

    @property
    def empty(self) -> bool:
        return not (self.active_users or self.signups or self.responses)


@dataclass(frozen=True)
class DigestContent:
    """Everything a digest for one product and week shows (the same for every channel)."""

    product: ProductRef
    week: int  # the last complete week the report covers
    report: GateReport
    previous: GateReport | None
    activity: WeekActivity
    open_surveys: tuple[OpenSurvey, ...]
    history: History | None = None  # the weeks up to ``week``, for the trajectory chart that follows
    custom_rules: str | None = None  # "Custom rules: …" when the product's rules are not the defaults
    source_problem: str | None = None  # why the product's SQL source failed its last sync, if it did

    @property
    def no_new_data(self) -> bool:
        return self.activity.empty

    @property
    def has_chart(self) -> bool:
        """The chart follows the digest unless the week brought nothing new or there is no data."""
        return self.report.has_data and not self.no_new_data


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery with what the sender needs; ``worker`` holds the lease."""

    id: int
    worker: str
    subscription_id: int
    team_id: str
    channel_id: str
    created_by: str | None
    product: ProductRef
    schedule: Schedule
    subscription_active: bool
    status: str
    attempts: int
    period: date
    due_at: datetime
    claimed_at: datetime
    late: bool

    @property
    def week(self) -> int:
        """The last complete week (product time zone) when the run was due."""
        return report_week(self.product, self.due_at)


@dataclass(frozen=True)
class PlanResult:
    claimed: int
    skipped: int


@dataclass(frozen=True)
class FailureOutcome:
    """After a failed week: whether to tell the subscriber (once) and whether it is now paused."""

    notify_user: str | None
    paused: bool
    consecutive_failures: int


