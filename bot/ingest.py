"""CSV and HTTP ingestion: events, signups and survey responses into one product (SPEC §4, §7).

This module owns the import formats and their validation: the header rules, the timestamp rules
(ISO 8601 with an offset, naive = UTC, or a bare date = that day in the product's timezone), the
week each row falls in, and the messages a person gets for a bad file (with line numbers). A
file is streamed once in chunks, so memory stays bounded whatever its size: a worker thread
parses and compacts each chunk (events become each user's distinct weeks) while the calling
thread hands the previous one to ``storage.bulk.BulkWriter``, which merges it with set-based SQL
inside a single transaction that is committed only at the end. So an invalid row (without
``--skip-invalid``), a crash or an interrupt leaves the database exactly as it was, and
re-importing the same rows changes nothing. ``ingest_payload`` runs the HTTP API's JSON through
the very same row parsers and bulk writer.
"""

from __future__ import annotations

import csv
import gc
import io
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot import products
from bot.domain.survey import parse_answer
from bot.domain.weeks import EPOCH_MONDAY
from bot.errors import NotFound, UserError
from storage.bulk import BulkWriter, ResponseRow, SignupRow, tidy_after_import
from storage.models import Workspace
from storage.repositories import ProductRef

Factory = sessionmaker[Session]

# Rows per database round, by kind. The bigger an events chunk, the more repeated user-weeks are
# merged in Python before SQL sees them (on a time-ordered file about 0.67 distinct user-weeks per
# event at 200k rows) and the fewer rounds there are: 10M events into SQLite took ~62 s in 200k
# chunks, ~49 s in 500k and ~53 s in 1M, with peak RSS 333, 321 and 343 MB (SQLite's page cache
# is the largest part). A signup or response row holds a datetime and more text, so those chunks
# are smaller.
CHUNK_ROWS: dict[str, int] = {"events": 500_000, "signups": 50_000, "responses": 50_000}
# Parse on a worker thread while the calling thread writes: None = on PostgreSQL, and for the
# vectorised events reader (bot.csv_fast) on SQLite too (tests force both ways). PostgreSQL does
# its work in the server process, so parsing overlaps it for free. SQLite works inside this
# process, and there the csv module's parsing and SQLite slowed each other down more than they
# overlapped: 10M events took 78 s threaded and 57-62 s inline (bench/README.md).
PARSE_IN_THREAD: bool | None = None
# Events files go through the vectorised reader of bot.csv_fast where it applies (tests turn it off
# to compare). Its blocks are bot.csv_fast.BLOCK_BYTES, or ``chunk_rows`` lines when one is given.
FAST_EVENTS = True
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
                       "user_id,signed_up_at,channel (or utm_source,utm_medium instead of channel)"),
    "responses": _Format(("respondent_id", "answered_at", "answer"),
                         "respondent_id,answered_at,answer[,segment,who_benefits,main_benefit,improve]"),
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

    def summary(self) -> str:
        valid = self.rows_read - self.rejected
        unit = {"events": "new active user-weeks", "signups": "new signups", "responses": "new responses"}[self.kind]
        parts = [f"{self.inserted:,} {unit}"]
        if self.kind == "signups":
            parts.append(f"{self.updated:,} changed")
        if self.kind == "events":
            parts.append(f"{self.new_users:,} new users")
        parts.append(f"{self.unchanged:,} already known or repeated")
        text = (f"Imported {valid:,} of {self.rows_read:,} {self.kind} rows into {self.product} "
                f"in {self.seconds:.1f}s: " + ", ".join(parts))
        if self.rejected:
            text += f"; {self.rejected:,} rejected (see {self.rejected_file})"
        return text + "."


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
    utc = tz_name in ("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal")

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
    local = dt.date() if bare else dt.astimezone(tz).date()
    return dt.astimezone(UTC), (local.toordinal() - _EPOCH) // 7


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
    iu, it = index["user_id"], index["occurred_at"]
    week = week_parser(tz_name, "occurred_at")

    def parse(row: Sequence[str]) -> tuple[str, int]:
        uid = row[iu].strip()
        if not uid or len(uid) > 255:
            _user_id(uid, "user_id")
        return uid, week(row[it])

    return parse


def signup_parser(index: Mapping[str, int], tz_name: str, channel_map: Mapping[str, str]) -> RowParser:
    iu, it = index["user_id"], index["signed_up_at"]
    ic, isrc, imed = index.get("channel", -1), index.get("utm_source", -1), index.get("utm_medium", -1)
    has_utm = isrc >= 0 or imed >= 0
    tz = ZoneInfo(tz_name)
    # Imported here: bot.domain.organic loads scipy (~90 MB), which only signups need.
    from bot.domain.organic import classify_channel, classify_utm

    classes: dict[tuple[str, str, str], tuple[str | None, str]] = {}  # few distinct channels: cache

    def channel_of(channel: str, source: str, medium: str) -> tuple[str | None, str]:
        key = (channel, source, medium)
        hit = classes.get(key)
        if hit is None:
            if channel or not has_utm:
                hit = (_text(channel, "channel", 200), classify_channel(channel, channel_map))
            else:
                label = " / ".join(p for p in (source.strip(), medium.strip()) if p) or None
                if label is not None and len(label) > 200:
                    raise RowError("utm_source", "utm_source and utm_medium are longer than 200 characters")
                hit = (label, classify_utm(source, medium, channel_map))
            classes[key] = hit
        return hit

    def parse(row: Sequence[str]) -> SignupRow:
        uid = _user_id(row[iu], "user_id")
        at, week = _instant_and_week(row[it], "signed_up_at", tz)
        channel, cls = channel_of(_cell(row, ic).strip(), _cell(row, isrc), _cell(row, imed))
        return uid, week, at, channel, cls

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
        return key, rid, at, answer, seg, who, benefit, improve

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
        self.add: Callable[[Any], None] = self._pairs.add if kind == "events" else self._add_keyed

    def _add_keyed(self, item: Any) -> None:
        self._keyed[item[0]] = item

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
    inserted: int = 0
    updated: int = 0
    new_users: int = 0

    def write(self, writer: BulkWriter, kind: str, payload: Any) -> None:
        if kind == "events":
            new_users, new_weeks = writer.events(payload)
            self.new_users += new_users
            self.inserted += new_weeks
        elif kind == "signups":
            new, changed, _ = writer.signups(payload)
            self.inserted += new
            self.updated += changed
        else:
            self.inserted += writer.responses(payload)


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


# ----------------------------------------------------------------------------- product lookup
# ----------------------------------------------------------------------------- CSV import
def _parse_in_thread(session: Session, fast: bool) -> bool:
    if PARSE_IN_THREAD is not None:
        return PARSE_IN_THREAD
    # The vectorised reader (bot.csv_fast) does most of its work without the GIL, so it overlaps
    # SQLite too: 10M events in ~25 s threaded against ~32 s inline.
    return fast or session.get_bind().dialect.name == "postgresql"


def rejected_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejected.csv")


def _open_csv(path: Path) -> io.BufferedReader:
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        raise UserError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder, not a CSV file.") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied.") from None
    return raw


def _not_utf8(path: Path, line: int) -> UserError:
    return UserError(f"{path} is not UTF-8 text (undecodable bytes near line {line}); nothing was imported. "
                     "Re-save it as UTF-8 (in Excel: Save As > \"CSV UTF-8\") and import it again.")


def _header_index(header: Sequence[str], kind: str, path: Path) -> dict[str, int]:
    fmt = _FORMATS[kind]
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(name.strip().lower(), i)  # the first of two same-named columns wins
    missing = [c for c in fmt.required if c not in index]
    if kind == "signups" and not any(c in index for c in ("channel", "utm_source", "utm_medium")):
        missing.append("channel (or utm_source,utm_medium)")
    if missing:
        found = ",".join(h.strip() for h in header) or "(nothing)"
        raise UserError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}. "
                        f"The header row must name the columns {fmt.usage} (any order, extra columns ignored); "
                        f"found: {found}.")
    return index


def _parser_for(kind: str, index: Mapping[str, int], product: ProductRef) -> RowParser:
    s = product.settings
    if kind == "events":
        return event_parser(index, s.timezone)
    if kind == "signups":
        return signup_parser(index, s.timezone, s.channel_map)
    return response_parser(index, s.timezone)


class _Rejects:
    """Invalid rows: the first few messages, the total, and with ``--skip-invalid`` the rows
    themselves, written to ``FILE.rejected.csv.tmp`` and renamed only once the import commits."""

    def __init__(self, path: Path, header: Sequence[str], keep_rows: bool) -> None:
        self.final = rejected_path(path)
        self.tmp = self.final.with_name(self.final.name + ".tmp")
        self.header = list(header)
        self.keep_rows = keep_rows
        self.count = 0
        self.first: list[str] = []
        self._fh: io.TextIOWrapper | None = None
        self._out: Any = None

    def add(self, line: int, row: Sequence[str], message: str) -> None:
        self.count += 1
        if len(self.first) < MAX_REPORTED_ERRORS:
            self.first.append(f"line {line}: {message}")
        if self.keep_rows:
            if self._out is None:
                self._fh = open(self.tmp, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in commit/discard
                self._out = csv.writer(self._fh)
                self._out.writerow([*self.header, "error"])
            self._out.writerow([*row, f"line {line}: {message}"])

    def commit(self) -> str | None:
        if self._fh is None:
            return None
        self._fh.close()
        os.replace(self.tmp, self.final)
        return str(self.final)

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self.tmp.unlink(missing_ok=True)


_DONE = object()


class _Producer:
    """Reads, parses and compacts the CSV, yielding one writer payload per chunk.

    With ``threaded`` the reading runs on a worker thread while the calling thread writes the
    previous chunk: both drivers release the GIL while the database works, so parsing and SQL
    overlap on two cores. The database is only ever touched by the calling thread. The worker
    starts a chunk only once the writer has taken the previous one, so at most two chunks (one
    being written, one being parsed) are in memory."""

    def __init__(self, reader: Any, parse: RowParser, kind: str, chunk_rows: int, rejects: _Rejects,
                 keep_writing_after_errors: bool, raw: io.BufferedReader, bar: Any, n_columns: int,
                 threaded: bool, fast: Any = None) -> None:
        self._threaded = threaded
        self._fast = fast  # bot.csv_fast.EventBlocks, or None for the csv module all the way
        self._sending = True
        self._reader, self._parse, self._kind, self._chunk_rows = reader, parse, kind, chunk_rows
        self._rejects, self._keep_writing = rejects, keep_writing_after_errors
        self._raw, self._bar, self._n_columns = raw, bar, n_columns
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rows = 0

    def __iter__(self) -> Iterator[Any]:
        if not self._threaded:
            yield from self._payloads()
            return
        self._thread = threading.Thread(target=self._run, name="pmfbot-import-parser", daemon=True)
        self._thread.start()
        while True:
            item = self._queue.get()
            self._queue.task_done()  # lets the worker start on the next chunk
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        """Ask the worker to end and wait for it (after an error or an interrupt)."""
        self._stop.set()
        while self._thread is not None and self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)  # unblock a worker waiting to hand over a chunk
                self._queue.task_done()
            except queue.Empty:
                pass

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for payload in self._payloads():
                if not self._put(payload):
                    return
                self._queue.join()  # wait until the writer has taken it (memory: two chunks)
                if self._stop.is_set():
                    return
        except BaseException as err:  # noqa: BLE001 - handed to the calling thread, which re-raises it
            self._put(err)
        else:
            self._put(_DONE)

    @property
    def line_num(self) -> int:
        """The last line read, as csv.reader counts lines."""
        return int(self._reader.line_num)

    def _payloads(self) -> Iterator[Any]:
        if self._fast is None:
            yield from self._row_payloads(self._reader)
        else:
            yield from self._fast_payloads()
        self._bar.update((self._bar.total or 0) - self._bar.n)

    def _fast_payloads(self) -> Iterator[Any]:
        """Vectorised blocks; a block it hands back as bytes goes through the csv module below."""
        self._reader = self._fast
        for block in self._fast:
            if block.pairs is not None:
                self.rows += block.rows
                if self._sending:
                    yield block.pairs
            else:
                self._reader = block_reader = self._fast.python_reader(block)
                yield from self._row_payloads(block_reader)
                self._fast.line_num = block_reader.line_num
                self._reader = self._fast
            del block
            self._bar.update(self._raw.tell() - self._bar.n)
            if self._stop.is_set():
                return

    def _row_payloads(self, reader: Any) -> Iterator[Any]:
        parse, rejects, bar, raw = self._parse, self._rejects, self._bar, self._raw
        chunk = _Chunk(self._kind)
        add = chunk.add
        rows = blank = 0
        next_flush = self._chunk_rows
        # The hot loop: one parse call and one set/dict insert per row, nothing else.
        for row in reader:
            rows += 1
            try:
                add(parse(row))
            except (RowError, IndexError) as err:
                if not row:
                    blank += 1  # a blank line is not a row
                    continue
                msg = str(err) if isinstance(err, RowError) else (
                    f"expected at least {self._n_columns} columns, found {len(row)}")
                rejects.add(reader.line_num, row, msg)
                if not self._keep_writing:
                    # The file will be refused: keep validating to report every error, but
                    # stop sending rows that would only be rolled back.
                    self._sending = False
            if rows >= next_flush:
                next_flush += self._chunk_rows
                payload = chunk.take()
                add = chunk.add
                if self._sending:
                    yield payload
                del payload  # parsed rows are held by one chunk at a time, not two
                bar.update(raw.tell() - bar.n)
                if self._stop.is_set():
                    return
        self.rows += rows - blank
        payload = chunk.take()
        if self._sending:
            yield payload


def import_csv(
    factory: Factory,
    *,
    kind: str,
    path: Path | str,
    product_slug: str,
    team_id: str | None = None,
    skip_invalid: bool = False,
    progress: bool = False,
    chunk_rows: int | None = None,
) -> ImportResult:
    """Import one CSV file of ``kind`` into a product, all or nothing (see the module docstring).

    Without ``skip_invalid`` any invalid row rejects the whole file: the first errors are named by
    line number with the total count, and nothing is written. With it, invalid rows go to
    ``FILE.rejected.csv`` (their original cells plus an ``error`` column) and the rest is imported.
    ``chunk_rows`` (default ``CHUNK_ROWS``) is how many rows are parsed per database round.

    What each kind does: events make sure the user exists (``first_week`` = the earliest active
    week ever seen) and record each (user, week) once. Signups set the user's signup week, time,
    channel and its class, and count as activity in the signup week; importing a user's signup
    again with other values replaces them (the last row for a user in a file wins), equal values
    change nothing, and activity is never removed. Responses are keyed by respondent and
    ``answered_at`` (``import:{respondent_id}:{answered_at in UTC}``): an existing key is left
    as it is, and a later answer by the same respondent is a new response.
    """
    if kind not in _FORMATS:
        raise UserError(f"Unknown import kind {kind!r}: use events, signups or responses.")
    path = Path(path)
    started = time.monotonic()
    raw = _open_csv(path)
    try:
        size = os.fstat(raw.fileno()).st_size
        if size == 0:
            raise UserError(f"{path} is empty; expected a header row: {_FORMATS[kind].usage}.")
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark that is not part of the header.
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        try:
            header = next(reader, [])
        except UnicodeDecodeError:
            raise _not_utf8(path, 1) from None
        except csv.Error as err:
            raise UserError(f"{path}, line 1: {err}") from None
        if not any(h.strip() for h in header):
            raise UserError(f"{path} has no header row; the first line must be: {_FORMATS[kind].usage}.")
        index = _header_index(header, kind, path)

        with factory() as session, _gc_paused():
            product = products.cli_product(session, product_slug, team_id)
            result = ImportResult(kind=kind, product=product.slug, path=str(path))
            rejects = _Rejects(path, header, keep_rows=skip_invalid)
            bar = _progress_bar(size, path, progress)
            fast = _fast_events(kind, raw, header, index, product, chunk_rows)
            writer = BulkWriter(session, product.id, sqlite_cache_kib=fast and fast.sqlite_cache_kib)
            producer = _Producer(reader, _parser_for(kind, index, product), kind, chunk_rows or CHUNK_ROWS[kind],
                                 rejects, skip_invalid, raw, bar, max(index.values()) + 1,
                                 threaded=_parse_in_thread(session, fast is not None), fast=fast)
            counts = _Counts()
            try:
                try:
                    for payload in producer:
                        counts.write(writer, kind, payload)
                        del payload  # not held while the next chunk is parsed
                except UnicodeDecodeError:
                    raise _not_utf8(path, producer.line_num + 1) from None
                except csv.Error as err:
                    raise UserError(f"{path}, line {producer.line_num}: {err}; nothing was imported.") from None
                finally:
                    bar.close()
                result.rows_read, result.rejected = producer.rows, rejects.count
                if rejects.count and not skip_invalid:
                    raise UserError(_refusal(path, rejects.count, producer.rows, rejects.first))
                writer.close()
                session.commit()
                result.rejected_file = rejects.commit()
                tidy_after_import(session.get_bind().engine, kind, counts.inserted + counts.updated + counts.new_users)
            except BaseException:
                producer.stop()
                with suppress(Exception):  # the connection may be what failed; the rollback still runs
                    writer.close()  # gives a pooled SQLite connection its normal cache size back
                session.rollback()
                rejects.discard()
                raise
        result.inserted, result.updated, result.new_users = counts.inserted, counts.updated, counts.new_users
        result.unchanged = result.rows_read - result.rejected - result.inserted - result.updated
        result.seconds = time.monotonic() - started
        return result
    finally:
        raw.close()


def _fast_events(kind: str, raw: io.BufferedReader, header: Sequence[str], index: Mapping[str, int],
                 product: ProductRef, chunk_rows: int | None) -> Any:
    """bot.csv_fast's reader for an events file, or None where it does not apply (another kind,
    pyarrow missing, a header that is not one plain line): then the csv module reads it all."""
    if kind != "events" or not FAST_EVENTS:
        return None
    from bot import csv_fast

    start = csv_fast.data_start(raw) if csv_fast.available() else None
    if start is None:
        return None
    tz = product.settings.timezone
    return csv_fast.EventBlocks(raw, start, len(header), index["user_id"], index["occurred_at"], tz,
                                event_parser({"user_id": 0, "occurred_at": 1}, tz), (MIN_YEAR, MAX_YEAR),
                                block_lines=chunk_rows)


def _refusal(path: Path, bad: int, total: int, errors: Sequence[str]) -> str:
    lines = "\n".join(f"  {e}" for e in errors)
    more = f"\n  ... and {bad - len(errors):,} more" if bad > len(errors) else ""
    return (f"{path}: {bad:,} of {total:,} rows are invalid; nothing was imported.\n{lines}{more}\n"
            f"Fix them, or pass --skip-invalid to import the valid rows and write the others to "
            f"{rejected_path(path).name}.")


class _NoBar:
    n = 0
    total = 0

    def update(self, _n: int) -> None:
        return None

    def close(self) -> None:
        return None


def _progress_bar(size: int, path: Path, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=path.name, file=sys.stderr,
                leave=False, dynamic_ncols=True)


# ----------------------------------------------------------------------------- HTTP payload
_PAYLOAD_FIELDS: dict[str, tuple[str, ...]] = {
    "events": ("user_id", "occurred_at", "event"),
    "signups": ("user_id", "signed_up_at", "channel", "utm_source", "utm_medium"),
}


def _as_cell(value: Any) -> str | None:
    """A JSON value as the CSV cell it stands for; None when it cannot be one."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def ingest_payload(factory: Factory, *, workspace_id: int, payload: Any) -> dict[str, Any]:
    """The HTTP API (SPEC §7): validate every item, then write all of it in one transaction.

    ``payload`` is ``{"product": SLUG, "events": [...], "signups": [...]}`` with at most
    ``MAX_PAYLOAD_ITEMS`` items. Any invalid item raises ``PayloadError`` listing every error
    with its path (``events[3].occurred_at``) and nothing is written; too many items raise
    ``PayloadTooLarge``. Returns ``{"product", "events": {"received", "inserted"}, "signups":
    {"received", "inserted", "updated"}}`` where events' ``inserted`` counts new user-weeks.
    """
    if not isinstance(payload, dict):
        raise PayloadError([{"path": "", "message": "the body must be a JSON object"}])
    errors: list[dict[str, str]] = []
    slug = payload.get("product")
    if not isinstance(slug, str) or not slug.strip():
        errors.append({"path": "product", "message": "product (the product's slug) is required"})
    unknown = sorted(k for k in payload if k not in ("product", "events", "signups"))
    for key in unknown:
        errors.append({"path": key, "message": "unknown key; expected product, events and signups"})
    lists: dict[str, list[Any]] = {}
    for kind in ("events", "signups"):
        items = payload.get(kind, [])
        if not isinstance(items, list):
            errors.append({"path": kind, "message": f"{kind} must be a list"})
            items = []
        lists[kind] = items
    total = sum(len(v) for v in lists.values())
    if total > MAX_PAYLOAD_ITEMS:
        raise PayloadTooLarge([{"path": "", "message": f"{total:,} items; at most {MAX_PAYLOAD_ITEMS:,} per request"}])

    with factory() as session:
        product: ProductRef | None = None
        if isinstance(slug, str) and slug.strip():
            ws = session.get(Workspace, workspace_id)
            try:
                if ws is None:
                    raise NotFound("unknown workspace")
                product = products.cli_product(session, slug, ws.team_id)
            except NotFound as err:
                errors.append({"path": "product", "message": str(err)})
        parsed: dict[str, list[Any]] = {"events": [], "signups": []}
        if product is not None:
            for kind, items in lists.items():
                parsed[kind] = _parse_items(kind, items, product, errors)
        if errors:
            raise PayloadError(errors)
        assert product is not None
        counts = {"signups": _Counts(), "events": _Counts()}
        writer = BulkWriter(session, product.id)
        try:
            # Signups first, so that users created by this request get their signup row at once.
            for kind in ("signups", "events"):
                chunk = _Chunk(kind)
                for item in parsed[kind]:
                    chunk.add(item)
                counts[kind].write(writer, kind, chunk.take())
            writer.close()
            session.commit()
        except BaseException:
            with suppress(Exception):
                writer.close()
            session.rollback()
            raise
    return {
        "product": product.slug,
        "events": {"received": len(lists["events"]), "inserted": counts["events"].inserted,
                   "new_users": counts["events"].new_users},
        "signups": {"received": len(lists["signups"]), "inserted": counts["signups"].inserted,
                    "updated": counts["signups"].updated},
    }


def _parse_items(kind: str, items: list[Any], product: ProductRef, errors: list[dict[str, str]]) -> list[Any]:
    fields = _PAYLOAD_FIELDS[kind]
    index = {f: i for i, f in enumerate(fields)}
    s = product.settings
    if kind == "events":
        parsers = {"": event_parser(index, s.timezone)}
    else:
        # An item names its channel either way; each way has its own rules (SPEC §4).
        parsers = {
            "channel": signup_parser({k: v for k, v in index.items() if not k.startswith("utm_")}, s.timezone,
                                     s.channel_map),
            "utm": signup_parser({k: v for k, v in index.items() if k != "channel"}, s.timezone, s.channel_map),
        }
    out: list[Any] = []
    required = _FORMATS[kind].required
    for n, item in enumerate(items):
        where = f"{kind}[{n}]"
        if not isinstance(item, dict):
            errors.append({"path": where, "message": "each item must be a JSON object"})
            continue
        row: list[str] = []
        ok = True
        for f in fields:
            cell = _as_cell(item.get(f))
            if cell is None:
                errors.append({"path": f"{where}.{f}", "message": f"{f} must be a string"})
                ok = False
                cell = ""
            row.append(cell)
        for f in required:
            if f not in item:
                errors.append({"path": f"{where}.{f}", "message": f"{f} is required"})
                ok = False
        if not ok:
            continue
        mode = "" if kind == "events" else ("utm" if ("utm_source" in item or "utm_medium" in item)
                                            and not item.get("channel") else "channel")
        try:
            out.append(parsers[mode](row))
        except RowError as err:
            errors.append({"path": f"{where}.{err.column}", "message": str(err)})
    return out

