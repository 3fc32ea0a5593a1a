"""Monday-based week arithmetic, the one definition of "week" the whole product uses.

A week index counts weeks since Monday 1970-01-05 (index 0). Storage writes the index of every
activity at import time, so the same integer SQL runs on SQLite and PostgreSQL and the
timezone is applied once, in Python, where ``zoneinfo`` gets DST right.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

EPOCH_MONDAY = date(1970, 1, 5)
# The zone names that are UTC itself: a product in one of them needs no zone conversion.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"})
_EPOCH_ORDINAL = EPOCH_MONDAY.toordinal()


def week_of_date(d: date) -> int:
    """The week index of a calendar date."""
    return (d.toordinal() - _EPOCH_ORDINAL) // 7


def local_date(ts: datetime, tz: ZoneInfo) -> date:
    """The calendar date of an instant in ``tz``; naive datetimes are taken as UTC."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(tz).date()


def week_of(ts: datetime, tz: ZoneInfo) -> int:
    return week_of_date(local_date(ts, tz))


def week_start(index: int) -> date:
    """The Monday that starts week ``index``."""
    return EPOCH_MONDAY + timedelta(days=7 * index)


def last_complete_week(as_of: date) -> int:
    """The index of the last week that ended on or before ``as_of``.

    A week ends at the following Monday 00:00, so on a Monday the week just before it is
    complete; on any other day the current week is not.
    """
    return week_of_date(as_of) - 1
