"""Where ``compute_report`` reads its heavy inputs: the cohort sizes and activity, the tail's
activity patterns and the signups by channel class, each as of a last complete week.

``ReportData`` reads them from the database, one query each (``storage.repositories.reports``);
``bot.history.data`` answers the same questions for many as-of weeks from one read. It also
remembers each as-of date's unconfirmed retention status, which the following week's report
needs (``confirm_weeks``): a history of twelve weeks computes thirteen retention signals, not
twenty-four. No Slack here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.domain.active_events import ActiveEvents
from bot.domain.types import Status, TailPatterns, WeekChannels
from storage.repositories import reports as repo
from storage.repositories.audience import active_users_by_weeks
from storage.repositories.digests import count_active_users
from storage.repositories.fingerprint import Fingerprint, data_fingerprint


class ReportData:
    """The inputs of one product's reports, straight from the database."""

    def __init__(self, session: Session, product_id: int) -> None:
        self.session = session
        self.product_id = product_id
        # As-of date -> the retention signal's unconfirmed status (it does not depend on the
        # previous week's status, so it can be reused by the report a week later).
        self.unconfirmed: dict[date, Status | None] = {}

    def cohort_sizes(self, last_week: int) -> dict[int, int]:
        return repo.cohort_sizes(self.session, self.product_id, last_week)

    def cohort_activity(self, last_week: int) -> list[tuple[int, int, int]]:
        return repo.cohort_activity(self.session, self.product_id, last_week)

    def tail_patterns(self, last_week: int, offsets: Sequence[int], sizes: dict[int, int]) -> TailPatterns:
        return repo.tail_patterns(self.session, self.product_id, last_week, offsets, sizes)

    def weekly_channels(self, last_week: int) -> list[WeekChannels]:
        return repo.weekly_channels(self.session, self.product_id, last_week)

    def fingerprint(self, week: int, until: datetime, rule: ActiveEvents | None = None) -> Fingerprint:
        """What the snapshot of complete week ``week`` is keyed on (``data_fingerprint``; ``rule``:
        the product's ``retention.active_events``)."""
        return data_fingerprint(self.session, self.product_id, last_week=week, until=until, rule=rule)

    def active_users(self, week: int) -> int:
        """How many of the product's users were active in ``week``."""
        return count_active_users(self.session, product_id=self.product_id, week=week)

    def active_users_by_weeks(self, last_week: int) -> dict[int, int]:
        """Active users by weeks active of the 8 ending with ``last_week`` (the survey's tiers)."""
        return active_users_by_weeks(self.session, self.product_id, last_week)
