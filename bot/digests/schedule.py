"""When a weekly digest is due, and the arguments of ``/pmf-check digest weekly``. Pure.

Schedules are stored as wall-clock time plus an IANA zone and turned into instants here with
``zoneinfo`` (never a cron trigger), so a 09:00 Europe/Berlin digest is at 09:00 local on both
sides of a DST change. A local time that does not exist (the spring-forward gap) runs at the
first valid instant after it; one that exists twice (fall-back) runs at the first occurrence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.weeks import last_complete_week
from bot.errors import UserError

if TYPE_CHECKING:
    from storage.repositories.products import ProductRef

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_LONG: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_WEEKDAY = 0
DEFAULT_TIME = time(9, 0)
DEFAULT_TZ = "UTC"
# =============================================================================== schedule (pure)
# This module is the one home of the schedule's words: the day names, the defaults and how a
# schedule reads ("Mondays at 09:00 (Europe/Berlin)"); the digest's blocks and App Home import them.


class ScheduleLike(Protocol):
    """What ``describe`` reads: a ``Schedule``, or a stored subscription's schedule."""

    @property
    def weekday(self) -> int: ...
    @property
    def local_time(self) -> time: ...
    @property
    def timezone(self) -> str: ...


def every(weekday: int) -> str:
    """"Mondays": the day a weekly digest runs on (0 = Monday)."""
    return f"{WEEKDAY_LONG[weekday]}s"


def describe(s: ScheduleLike) -> str:
    """"Mondays at 09:00 (Europe/Berlin)"."""
    return f"{every(s.weekday)} at {s.local_time:%H:%M} ({s.timezone})"


def default_when() -> str:
    """"Monday 09:00": when a digest runs unless the command says otherwise (the zone is the
    invoker's)."""
    return f"{WEEKDAY_LONG[DEFAULT_WEEKDAY]} {DEFAULT_TIME:%H:%M}"


@dataclass(frozen=True)
class Schedule:
    """Weekly at ``local_time`` on ``weekday`` (0 = Monday) in the IANA zone ``timezone``."""

    weekday: int
    local_time: time
    timezone: str

    @classmethod
    def stored(cls, weekday: int, local_time: str, timezone: str) -> Schedule:
        """The schedule of a stored subscription row (``local_time`` as "HH:MM"): the one place a
        row becomes a schedule, for the subscription's view and for the delivery planner.
        Raises ``ValueError`` on a malformed time."""
        hh, mm = local_time.split(":")
        return cls(weekday, time(int(hh), int(mm)), timezone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> str:
        """"Mondays at 09:00 (Europe/Berlin)"."""
        return describe(self)


@dataclass(frozen=True)
class Occurrence:
    """One scheduled run: the local date it belongs to and the UTC instant it is due."""

    local_date: date
    due_at: datetime

    @property
    def period(self) -> date:
        """The claim key: the Monday of the local week. One digest per subscription per week,
        even if the weekday is changed after this week's digest went out."""
        return self.local_date - timedelta(days=self.local_date.weekday())


def resolve_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``day at`` in ``zone``.

    Ambiguous (fall-back) → the first occurrence (``fold=0``). Non-existent (spring-forward
    gap) → the first valid instant after it, i.e. the transition itself: found by bisecting
    between the two readings of the wall time, because zoneinfo exposes no transition list.
    """
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    other = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = sorted((int(first.timestamp()), int(other.timestamp())))

    def wall(ts: int) -> datetime:
        return datetime.fromtimestamp(ts, UTC).astimezone(zone).replace(tzinfo=None)

    # Invariant: wall(lo) < naive <= wall(hi); transitions fall on whole seconds.
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if wall(mid) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def occurrence_on(schedule: Schedule, day: date) -> Occurrence:
    return Occurrence(day, resolve_local(day, schedule.local_time, schedule.zone))


def latest_due(schedule: Schedule, now: datetime) -> Occurrence:
    """The most recent run at or before ``now``."""
    today = now.astimezone(schedule.zone).date()
    day = today - timedelta(days=(today.weekday() - schedule.weekday) % 7)
    occ = occurrence_on(schedule, day)
    if occ.due_at > now:
        occ = occurrence_on(schedule, day - timedelta(days=7))
    return occ


def next_run(schedule: Schedule, now: datetime) -> Occurrence:
    """The first run strictly after ``now``."""
    today = now.astimezone(schedule.zone).date()
    day = today + timedelta(days=(schedule.weekday - today.weekday()) % 7)
    occ = occurrence_on(schedule, day)
    if occ.due_at <= now:
        occ = occurrence_on(schedule, day + timedelta(days=7))
    return occ


def local_label(at: datetime, tz: str, *, with_date: bool = True) -> str:
    """An instant in ``tz``: "Mon 30 Mar 09:00 CEST" (or "Mon 09:00" without the date)."""
    local = at.astimezone(ZoneInfo(tz))
    day = WEEKDAY_NAMES[local.weekday()]
    if with_date:
        return f"{day} {local.day} {local:%b %H:%M} {local.tzname() or tz}"
    return f"{day} {local:%H:%M}"


# =============================================================================== parsing (pure)

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_CHANNEL_RE = re.compile(r"^<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>$")
_BARE_CHANNEL_RE = re.compile(r"^([CG][A-Z0-9]{8,})$")
_DAY_ALIASES = {name: i for i, name in enumerate(WEEKDAYS)} | {
    name.lower(): i for i, name in enumerate(WEEKDAY_LONG)
} | {"tues": 1, "wednes": 2, "thur": 3, "thurs": 3}

WEEKLY_USAGE = "/pmf-check digest weekly [#channel] [mon…sun] [HH:MM] [Area/City]"


@dataclass(frozen=True)
class WeeklyArgs:
    """``digest weekly`` arguments; None = not given (the caller applies the defaults)."""

    channel_id: str | None = None
    weekday: int | None = None
    local_time: time | None = None
    timezone: str | None = None


MAX_ID = 20  # Slack's ids are shorter (bot.slack.guard.SLACK_ID); the columns hold 32


def parse_channel(word: str) -> str | None:
    """The id of an escaped channel mention ``<#C0123ABCD|name>`` (or a bare id), else None; a
    UserError for an id longer than any Slack id (no channel has it, and it would not fit)."""
    m = _CHANNEL_RE.match(word) or _BARE_CHANNEL_RE.match(word)
    if m and len(m.group(1)) > MAX_ID:
        raise UserError(f"`{m.group(1)}` is not a Slack channel id (at most {MAX_ID} characters): pick the "
                        "channel from the autocomplete list (type `#`).", usage=WEEKLY_USAGE)
    return m.group(1) if m else None


def parse_time(word: str) -> time | None:
    m = _TIME_RE.match(word)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise UserError(f"`{word}` is not a time of day: use HH:MM from 00:00 to 23:59, e.g. `09:00`.",
                        usage=WEEKLY_USAGE)
    return time(hour, minute)


def validate_zone(name: str) -> str:
    """An IANA zone name as ``zoneinfo`` knows it (``UTC`` or ``Area/City``)."""
    if not name or ".." in name or name.startswith("/"):
        raise UserError(f"`{name}` is not a time zone: use an IANA name such as `Europe/Berlin` or `UTC`.",
                        usage=WEEKLY_USAGE)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"`{name}` is not a time zone I know: use an IANA name such as `Europe/Berlin`, "
                        "`America/New_York` or `UTC`.", usage=WEEKLY_USAGE) from None
    return name


def parse_weekly_args(words: Sequence[str]) -> WeeklyArgs:
    """``[#channel] [mon…sun] [HH:MM] [Area/City]`` in any order, each at most once."""
    found: dict[str, Any] = {}

    def put(key: str, value: Any, word: str) -> None:
        if key in found:
            raise UserError(f"`{word}`: the {key.replace('_', ' ')} is given twice.", usage=WEEKLY_USAGE)
        found[key] = value

    for word in words:
        low = word.lower().rstrip(",")
        if (channel := parse_channel(word)) is not None:
            put("channel_id", channel, word)
        elif word.startswith("#"):
            raise UserError(f"I could not read the channel `{word}`: pick it from the list Slack offers "
                            "when you type `#`, so that it arrives as a channel link.", usage=WEEKLY_USAGE)
        elif low in _DAY_ALIASES or low.rstrip("s") in _DAY_ALIASES:
            put("weekday", _DAY_ALIASES.get(low, _DAY_ALIASES.get(low.rstrip("s"))), word)
        elif (at := parse_time(low)) is not None:
            put("local_time", at, word)
        elif "/" in word or word.upper() in ("UTC", "GMT"):
            put("timezone", validate_zone("UTC" if word.upper() in ("UTC", "GMT") else word), word)
        else:
            raise UserError(f"I did not understand `{word}`: expected a #channel, a weekday (mon…sun), "
                            "a time (HH:MM) or a time zone (Area/City).", usage=WEEKLY_USAGE)
    return WeeklyArgs(**found)


def parse_channel_only(words: Sequence[str], usage: str) -> str | None:
    """``[#channel]`` for ``digest off`` / ``digest now``."""
    if not words:
        return None
    if len(words) == 1 and (channel := parse_channel(words[0])) is not None:
        return channel
    raise UserError(f"I expected at most one #channel, got `{' '.join(words)}`.", usage=usage)


def report_week(product: ProductRef, at: datetime) -> int:
    """The last complete week (product time zone) at instant ``at``."""
    return last_complete_week(at.astimezone(ZoneInfo(product.settings.timezone)).date())
