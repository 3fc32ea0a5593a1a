"""The import formats (SPEC §4): timestamps and week indexes in the product's zone, one row parser per
kind (events, signups, responses) with line-numbered errors, and the chunks the bulk writer takes."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain._text import plural
from bot.domain.survey import parse_answer
from bot.domain.weeks import EPOCH_MONDAY, UTC_NAMES
from bot.errors import UserError
from bot.ingest.event_names import named_pairs
from storage.bulk import BulkWriter
from storage.event_weeks import recount_event_names, write_event_weeks
from storage.staging import EventPairs, ResponseRow, SignupRow

MAX_REPORTED_ERRORS = 10  # errors quoted in the message; the total is always given
MAX_PAYLOAD_ITEMS = 10_000  # SPEC §7
MIN_YEAR, MAX_YEAR = 1970, 2999  # a typo like 0202 would otherwise make a 1,800-year cohort table

_EPOCH = EPOCH_MONDAY.toordinal()
_MIN_WEEK = (date(MIN_YEAR, 1, 1).toordinal() - _EPOCH) // 7
_MAX_WEEK = (date(MAX_YEAR, 12, 31).toordinal() - _EPOCH) // 7
_fromiso = datetime.fromisoformat


# ----------------------------------------------------------------------------- formats
@dataclass(frozen=True)
class _Format:
    required: tuple[str, ...]
    usage: str


_FORMATS: dict[str, _Format] = {
    "events": _Format(("user_id", "occurred_at"), "user_id,occurred_at[,event]"),
    "signups": _Format(("user_id", "signed_up_at"),
                       "user_id,signed_up_at,channel (or utm_source,utm_medium instead of channel)"
                       "[,landing_url,referrer,email]"),
    "responses": _Format(("respondent_id", "answered_at", "answer"),
                         "respondent_id,answered_at,answer[,segment,who_benefits,main_benefit,improve]"),
}

# The optional columns each kind may carry besides its required ones: what a CSV header may name
# (extra CSV columns are ignored) and all a SQL source's query may return (anything else is refused).
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("event",),
    "signups": ("channel", "utm_source", "utm_medium", "utm_campaign", "landing_url", "referrer", "email"),
    "responses": ("segment", "who_benefits", "main_benefit", "improve"),
}


class RowError(ValueError):
    """One invalid value; ``column`` names the field (CSV column or JSON key)."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


class PayloadError(UserError):
    """An HTTP ingest payload was refused; ``errors`` are ``{"path", "message"}`` items and nothing
    was written."""

    def __init__(self, errors: list[dict[str, str]], message: str | None = None) -> None:
        shown = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:MAX_REPORTED_ERRORS])
        super().__init__(message or f"{len(errors)} invalid item(s): {shown}")
        self.errors = errors


class PayloadTooLarge(PayloadError):
    """More than ``MAX_PAYLOAD_ITEMS`` items in one request (HTTP 413)."""


# ----------------------------------------------------------------------------- result
@dataclass
class ImportResult:
    """What one import did. ``inserted`` counts new rows of the kind's unit (user-weeks for
    events, signups, responses); ``unchanged`` counts valid rows that added nothing new
    (already imported, or repeated in the file)."""

    kind: str
    product: str
    path: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    new_users: int = 0
    rejected_file: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # how the file was read (bot.ingest.layout)

    def summary(self) -> str:
        valid = self.rows_read - self.rejected
        unit = {"events": "new active user-week", "signups": "new signup", "responses": "new response"}[self.kind]
        parts = [plural(self.inserted, unit)]
        if self.kind == "signups":
            parts.append(f"{self.updated:,} changed")
        if self.kind == "events":
            parts.append(plural(self.new_users, "new user"))
        parts.append(f"{self.unchanged:,} already known or repeated")
        text = (f"Imported {valid:,} of {plural(self.rows_read, self.kind[:-1] + ' row')} into {self.product} "
                f"in {self.seconds:.1f}s: " + ", ".join(parts))
        if self.rejected:
            text += f"; {self.rejected:,} rejected (see {self.rejected_file})"
        text += "."
        if self.notes:
            text += " Read as: " + "; ".join(self.notes) + "."
        return text


# ----------------------------------------------------------------------------- timestamps
def _bad_time(column: str, raw: str) -> RowError:
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    return RowError(column, f"{column} {shown!r} is not an ISO 8601 timestamp "
                            "(e.g. 2026-03-02T14:05:00Z, 2026-03-02T15:05:00+01:00 or 2026-03-02)")


def _parse_instant(raw: str, column: str, tz: ZoneInfo) -> tuple[datetime, bool]:
    """(aware UTC-or-offset datetime, is a bare date). The slow path behind the week parsers."""
    s = raw.strip()
    if not s:
        raise RowError(column, f"{column} is empty")
    try:
        dt = _fromiso(s)
    except ValueError:
        raise _bad_time(column, raw) from None
    if not MIN_YEAR <= dt.year <= MAX_YEAR:
        raise RowError(column, f"{column} {raw.strip()!r} is outside the years {MIN_YEAR}-{MAX_YEAR}")
    if len(s) <= 10:
        # A bare date is a calendar day in the product's timezone (its local midnight).
        return dt.replace(tzinfo=tz), True
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt, False


def week_parser(tz_name: str, column: str) -> Callable[[str], int]:
    """A fast ``raw timestamp -> week index`` function for one product timezone.

    The common case, a UTC product with naive or zero-offset timestamps, never touches zoneinfo:
    the week is the proleptic ordinal of the (offset-corrected) date. Anything else goes through
    ``astimezone``, so offsets and DST are exact."""
    tz = ZoneInfo(tz_name)
    utc = tz_name in UTC_NAMES

    def slow(raw: str) -> int:
        dt, bare = _parse_instant(raw, column, tz)
        d = dt.date() if bare else dt.astimezone(tz).date()
        return (d.toordinal() - _EPOCH) // 7

    if utc:
        def week(raw: str) -> int:
            try:
                dt = _fromiso(raw)
                zone = dt.tzinfo
                # "Z" and "+00:00" parse to the timezone.utc singleton: no conversion needed.
                if zone is not None and zone is not UTC:
                    dt = dt.astimezone(UTC)
            except (ValueError, OverflowError):
                return slow(raw)
            w = (dt.toordinal() - _EPOCH) // 7
            if w < _MIN_WEEK or w > _MAX_WEEK:
                return slow(raw)  # raises the out-of-range error
            return w
    else:
        def week(raw: str) -> int:
            try:
                dt = _fromiso(raw)
                if dt.tzinfo is None:
                    return slow(raw)  # naive and bare dates need the rules in _parse_instant
                w = (dt.astimezone(tz).toordinal() - _EPOCH) // 7
            except (ValueError, OverflowError):
                return slow(raw)
            if w < _MIN_WEEK or w > _MAX_WEEK:
                return slow(raw)
            return w
    return week


def _instant_and_week(raw: str, column: str, tz: ZoneInfo) -> tuple[datetime, int]:
    dt, bare = _parse_instant(raw, column, tz)
    utc = dt if dt.tzinfo is UTC else dt.astimezone(UTC)  # "Z" parses to UTC itself: no conversion
    local = dt.date() if bare else utc.date() if tz.key in UTC_NAMES else dt.astimezone(tz).date()
    return utc, (local.toordinal() - _EPOCH) // 7


# ----------------------------------------------------------------------------- row parsers
def _user_id(raw: str, column: str) -> str:
    uid = raw.strip()
    if not uid:
        raise RowError(column, f"{column} is empty")
    if len(uid) > 255:
        raise RowError(column, f"{column} is longer than 255 characters")
    return uid


def _text(raw: str, column: str, limit: int | None) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if limit is not None and len(value) > limit:
        raise RowError(column, f"{column} is longer than {limit} characters")
    return value


RowParser = Callable[[Sequence[str]], Any]


def _cell(row: Sequence[str], i: int) -> str:
    return row[i] if 0 <= i < len(row) else ""


def event_parser(index: Mapping[str, int], tz_name: str) -> RowParser:
    """(user id, week); with an ``event`` column (user id, week, event name): the name trimmed,
    cut to 200 characters, "" when blank (then the row is activity with no name)."""
    iu, it = index["user_id"], index["occurred_at"]
    week = week_parser(tz_name, "occurred_at")
    ie = index.get("event", -1)
    if ie >= 0:
        def parse_named(row: Sequence[str]) -> tuple[str, int, str]:
            uid = row[iu].strip()
            if not uid or len(uid) > 255:
                _user_id(uid, "user_id")
            return uid, week(row[it]), (row[ie].strip()[:200] if ie < len(row) else "")

        return parse_named

    def parse(row: Sequence[str]) -> tuple[str, int]:
        uid = row[iu].strip()
        if not uid or len(uid) > 255:
            _user_id(uid, "user_id")
        return uid, week(row[it])

    return parse


def signup_parser(index: Mapping[str, int], tz_name: str, channel_map: Mapping[str, str],
                  email_key: Callable[[str], str | None] | None = None) -> RowParser:
    """``SignupRow``s; with an ``email`` column and ``email_key`` (the keyed hash, see
    ``bot.domain.matching.email_hash``) each row's ``email_hash`` is the hash of its email (None
    when blank): the address itself goes no further than this parser."""
    iu, it = index["user_id"], index["signed_up_at"]
    ie = index.get("email", -1) if email_key is not None else -1
    ic, isrc, imed = index.get("channel", -1), index.get("utm_source", -1), index.get("utm_medium", -1)
    iland, iref = index.get("landing_url", -1), index.get("referrer", -1)
    has_utm = isrc >= 0 or imed >= 0
    tz = ZoneInfo(tz_name)
    # Imported here: bot.domain.channels is only needed for signups.
    from bot.domain.channels import classify_tags, click_id

    classes: dict[tuple[str, str, str, str | None], tuple[str | None, str, str | None]] = {}  # few distinct: cache

    def channel_of(channel: str, source: str, medium: str, click: str | None) -> tuple[str | None, str, str | None]:
        key = (channel, source, medium, click)
        hit = classes.get(key)
        if hit is None:
            # The class reads every tag (a paid word in any of them wins, SPEC §5) and the click
            # id of the landing URL or referrer; the label shown is the channel, or the UTM pair
            # when there is no channel.
            tagged = classify_tags(channel, source, medium, channel_map, click=click)
            if channel or not has_utm:
                hit = (_text(channel, "channel", 200), tagged.cls, tagged.key)
            else:
                label = " / ".join(p for p in (source.strip(), medium.strip()) if p) or None
                if label is not None and len(label) > 200:
                    raise RowError("utm_source", "utm_source and utm_medium are longer than 200 characters")
                hit = (label, tagged.cls, tagged.key)
            classes[key] = hit
        return hit

    def parse(row: Sequence[str]) -> SignupRow:
        uid = _user_id(row[iu], "user_id")
        at, week = _instant_and_week(row[it], "signed_up_at", tz)
        click = click_id((_cell(row, iland), _cell(row, iref))) if iland >= 0 or iref >= 0 else None
        channel, cls, ckey = channel_of(_cell(row, ic).strip(), _cell(row, isrc), _cell(row, imed), click)
        if ie < 0:
            return SignupRow(uid, week, at, channel, cls, ckey)
        raw = _cell(row, ie)
        hashed = email_key(raw) if raw.strip() and email_key is not None else None
        if raw.strip() and hashed is None:
            raise RowError("email", "email is not an email address (expected name@domain)")
        return SignupRow(uid, week, at, channel, cls, ckey, email_hash=hashed)

    return parse


def response_parser(index: Mapping[str, int], tz_name: str) -> RowParser:
    ir, it, ia = index["respondent_id"], index["answered_at"], index["answer"]
    extra = [(index.get(c, -1), c, 200 if c == "segment" else None)
             for c in ("segment", "who_benefits", "main_benefit", "improve")]
    tz = ZoneInfo(tz_name)

    def parse(row: Sequence[str]) -> ResponseRow:
        rid = _user_id(row[ir], "respondent_id")
        at, _week = _instant_and_week(row[it], "answered_at", tz)
        raw_answer = row[ia]
        answer = parse_answer(raw_answer)
        if answer is None:
            shown = raw_answer.strip()[:40]
            raise RowError("answer", f"answer {shown!r} is not one of: Very disappointed, Somewhat disappointed, "
                                     "Not disappointed, N/A (or 1-4, very, somewhat, not, n/a)")
        seg, who, benefit, improve = (_text(_cell(row, i), c, lim) for i, c, lim in extra)
        key = f"import:{rid}:{at.isoformat()}"
        return ResponseRow(key, rid, at, answer, seg, who, benefit, improve)

    return parse


# ----------------------------------------------------------------------------- chunks
class _Chunk:
    """Parsed rows of one kind, compacted for the bulk writer: distinct (user, week) pairs for
    events; for signups and responses the last row per user / dedupe key (the file's order
    decides, also across chunks since they are written in order)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._pairs: set[tuple[str, int]] = set()
        self._keyed: dict[str, Any] = {}
        adders: dict[str, Callable[[Any], None]] = {"events": self._pairs.add, "signups": self._add_signup,
                                                     "responses": self._add_response}
        self.add = adders[kind]

    def _add_signup(self, row: SignupRow) -> None:
        self._keyed[row.user_id] = row

    def _add_response(self, row: ResponseRow) -> None:
        self._keyed[row.dedupe_key] = row

    def take(self) -> Any:
        """The writer's input for the rows added so far; starts a new chunk."""
        if self.kind == "events":
            out: Any = self._pairs
            self._pairs = set()
            self.add = self._pairs.add
        else:
            out = list(self._keyed.values())
            self._keyed = {}
        return out


@dataclass
class _Counts:
    names: set[str] = field(default_factory=set)  # the event names written (storage.event_weeks)
    inserted: int = 0
    updated: int = 0
    new_users: int = 0

    def write(self, writer: BulkWriter, kind: str, payload: Any) -> None:
        if kind == "events":
            if not isinstance(payload, EventPairs) and payload and len(next(iter(payload))) == 3:
                payload = named_pairs(payload)  # an `event` column: (user, week, name) rows
            new_users, new_weeks = writer.events(payload)
            if isinstance(payload, EventPairs) and payload.events is not None and len(payload):
                # Right after the pairs: the writer's staged users are this chunk's.
                write_event_weeks(writer, payload.events)
                self.names.update(n for n in payload.events.names if n)
            self.new_users += new_users
            self.inserted += new_weeks
        elif kind == "signups":
            new, changed, _ = writer.signups(payload)  # with their email hashes, if any
            self.inserted += new
            self.updated += changed
        else:
            self.inserted += writer.responses(payload)

    def finish(self, writer: BulkWriter) -> None:
        """Once every chunk is written: recount the event names' user-weeks, if any were named."""
        recount_event_names(writer, self.names)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """An import allocates millions of short-lived tuples and no reference cycles; the cyclic
    collector would rescan them over and over (measured: it doubles the compaction time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


