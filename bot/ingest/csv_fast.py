"""Vectorised reading of an events CSV: blocks of the file become distinct (user, week) pairs.

This module owns the fast path of ``pmfbot import events`` (SPEC §4). The file is read in blocks
of raw bytes cut at a line end (never inside a quoted field), so the line number of each block's
first line is known. pyarrow's C++ reader parses a block (on the importer's parser thread, beside
the SQL of the previous chunk); Arrow casts and numpy turn the timestamps into week indexes with
exactly the rules of ``bot.ingest.week_parser`` (ISO 8601 with ``Z`` or an offset, naive = UTC,
``YYYY-MM-DD`` = that day in the product's timezone, DST through ``zoneinfo``); and the blocks of
one writer chunk are reduced to their distinct (user, week) pairs before any SQL. A value
outside the shapes handled here (``+0200``, ``20260302``, surrounding spaces ...) goes through the
Python row parser, so it means what it meant before. A block holding anything the vectorised path
does not vouch for — an invalid row, a short or long row, undecodable bytes, a NUL, a lone CR,
an oversized line — is handed back whole as bytes, for the Python CSV path, which then names
errors by line number, writes ``--skip-invalid`` rejects and counts rows exactly as before.
"""

from __future__ import annotations

import csv
import ctypes
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

import numpy as np

from bot.domain.weeks import EPOCH_MONDAY, UTC_NAMES
from storage.bulk import EventPairs
from storage.staging import EventWeeks

# Bytes per block parsed at a time, and events per writer chunk: the parsed (user, week) columns
# of several blocks (~15 MB as Arrow strings and int64 weeks at 500k events) are merged into one
# chunk, and the bigger it is, the more repeated user-weeks are merged before SQL. With the parse
# on its own thread two chunks are in memory; measured on 10M bench events (shared 2 cores, noisy):
# 1M-event chunks took ~20 s at 449 MB peak RSS, 500k ones ~25 s at 390 MB (the budget is 400).
# Once event names were kept too, 500k (three 8 MB blocks of a 38-byte-a-row file) peaked at
# 392-415 MiB; 400k (two blocks) at 341-347 MiB for 7-10% more CPU (issue 22 round 5, 3 pairs).
BLOCK_BYTES = 8 << 20
MERGE_ROWS = 400_000
# Arrow's reader may split a block over its own thread pool; on 2 cores, with the parse already
# on a thread of its own beside SQL, that bought nothing measurable and ~36 MB of peak RSS
# (per-thread malloc arenas): 24.4 s / 426 MB threaded against 24.8 s / 390 MB single.
READ_THREADS = False
# SQLite's page cache for an import read this way (KiB), to leave the parser's buffers room in the
# 400 MB budget (measured on 10M events: 390 MB peak at 64 MB, ~450 MB at 128 MB; on 3.4M events
# of 1M users, one a user-week, 401 MB at 64 MB and 385 MB at 40 MB for the same CPU: 10.4 s). With
# event names kept beside them (activity_event_weeks), 400-410 MB at 40 MB, 394 MB at 32 MB, same CPU.
SQLITE_CACHE_KIB = 32768
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
# The shapes computed here; anything else is left to datetime.fromisoformat in the row parser.
_TS_RE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?$"
# A user id that str.strip() leaves as it is: printable ASCII at both ends, no line break.
_UID_RE = r"^[\x21-\x7e](?:.*[\x21-\x7e])?$"
_UNIX_TO_EPOCH_DAYS = EPOCH_MONDAY.toordinal() - 719163  # date(1970, 1, 1).toordinal() == 719163

RowParser = Callable[[Sequence[str]], tuple[str, int]]


def available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Block:
    """One block of the file: its first line number, and either its distinct pairs (every row
    valid, ``rows`` of them) or its raw bytes for the Python CSV path."""

    first_line: int
    rows: int = 0
    pairs: EventPairs | None = None
    raw: bytes | None = None


class BlockReader:
    """csv.reader over one block, as the whole file's reader would read it: ``line_num`` counts
    from the block's first line. (Iterating yields the csv reader itself: no Python per row.)"""

    def __init__(self, raw: bytes, first_line: int) -> None:
        self._reader = csv.reader(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline=""))
        self._before = first_line - 1

    def __iter__(self) -> Iterator[list[str]]:
        return iter(self._reader)

    @property
    def line_num(self) -> int:
        return self._before + self._reader.line_num


def data_start(raw: IO[bytes]) -> int | None:
    """The byte offset of line 2 when the header is one whole line (no quoted line break, no lone
    CR), else None."""
    raw.seek(0)
    first = raw.readline(1 << 16)
    if not first.endswith(b"\n") or first.count(b'"') % 2 or b"\r" in first[:-2]:
        return None
    return len(first)


class EventBlocks:
    """Iterates the blocks of an events file from ``start`` (the first data line, line 2)."""

    sqlite_cache_kib = SQLITE_CACHE_KIB  # for the writer of what this reads

    def __init__(self, raw: IO[bytes], start: int, n_header: int, iu: int, it: int, tz_name: str,
                 parse_row: RowParser, years: tuple[int, int], block_bytes: int = BLOCK_BYTES,
                 block_lines: int | None = None, ie: int | None = None) -> None:
        self._raw, self._start, self._n_header = raw, start, n_header
        self._iu, self._it = iu, it
        self._ie = ie  # the event name column, if any (kept beside the pairs: EventPairs.events)
        self._tz_name = tz_name
        self._tz = ZoneInfo(tz_name)
        self._parse_row = parse_row
        # Years a timestamp may name, and the weeks they span (as bot.ingest checks them).
        self._years = years
        first, last = datetime(years[0], 1, 2, tzinfo=UTC), datetime(years[1], 12, 30, tzinfo=UTC)
        self._instants = (int(first.timestamp()), int(last.timestamp()))
        self._weeks_range = ((date(years[0], 1, 1).toordinal() - EPOCH_MONDAY.toordinal()) // 7,
                             (date(years[1], 12, 31).toordinal() - EPOCH_MONDAY.toordinal()) // 7)
        self._block_bytes = max(1, block_bytes)
        self._block_lines = block_lines  # at most this many lines a block (the caller's chunk_rows)
        self.line_num = 1  # the last line handed out, as csv.reader counts lines

    # ---------------------------------------------------------------- cutting the file
    def _raw_blocks(self) -> Iterator[bytes]:
        """Blocks that end at a line end outside any quoted field (even count of quotes before it)."""
        raw = self._raw
        raw.seek(self._start)
        buf = b""
        eof = False
        need_more = True
        while buf or not eof:
            if need_more and not eof:
                more = raw.read(self._block_bytes)
                eof = not more
                buf += more
            cut = 0
            if self._block_lines:
                ends = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
                if ends.size >= self._block_lines:
                    cut = self._cut(buf[:ends[self._block_lines - 1] + 1])
                elif not eof:
                    need_more = True
                    continue
            if cut <= 0:
                cut = len(buf) if eof else self._cut(buf)
            need_more = cut <= 0 or self._block_lines is None
            if cut > 0:
                block, buf = buf[:cut], buf[cut:]
                yield block  # the only copy of the block held here while the caller parses it
                del block

    @staticmethod
    def _cut(buf: bytes) -> int:
        end = buf.rfind(b"\n")
        if end < 0:
            return 0
        if b'"' not in buf:
            return end + 1
        quotes = buf.count(b'"', 0, end + 1)
        while quotes % 2:  # inside a quoted field: step back a line
            prev = buf.rfind(b"\n", 0, end)
            if prev < 0:
                return 0
            quotes -= buf.count(b'"', prev + 1, end + 1)
            end = prev
        return end + 1

    @staticmethod
    def python_reader(block: Block) -> BlockReader:
        """A csv.reader over a block handed back as bytes, counting lines from the block's first."""
        assert block.raw is not None
        return BlockReader(block.raw, block.first_line)

    def __iter__(self) -> Iterator[Block]:
        import pyarrow as pa
        import pyarrow.compute as pc

        # Process-wide (an import runs in the CLI's process): Arrow's own allocator (mimalloc) kept
        # ~10-50 MB more resident than malloc across blocks, measured in the same runs.
        pa.set_memory_pool(pa.system_memory_pool())
        _steady_mmap_threshold()

        # Vectorised blocks are merged into one writer chunk (pairs are a set: their order and
        # that of the blocks handed back in between does not matter). With block_lines (tests,
        # small chunks) each block is its own chunk.
        merge_rows = 1 if self._block_lines else MERGE_ROWS
        users: list[Any] = []
        weeks: list[np.ndarray] = []
        events: list[Any] = []
        rows = 0

        def merged() -> EventPairs:
            named = pa.chunked_array(events, pa.string()) if self._ie is not None else None
            return _distinct(pa.chunked_array(users, pa.string()), np.concatenate(weeks), pa, pc, named)

        for chunk in self._raw_blocks():
            first = self.line_num + 1
            parsed = self._parse(chunk)
            if parsed is None:
                # The caller's Python path counts this block's lines (and moves line_num).
                yield Block(first, raw=chunk)
                continue
            self.line_num += chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
            del chunk
            users.append(parsed[0])
            weeks.append(parsed[1])
            if self._ie is not None:
                events.append(parsed[2])
            rows += len(parsed[1])
            if rows >= merge_rows:
                yield Block(first, rows=rows, pairs=merged())
                users, weeks, events, rows = [], [], [], 0
        if rows:
            yield Block(self.line_num, rows=rows, pairs=merged())

    # ---------------------------------------------------------------- one block
    def _parse(self, chunk: bytes) -> tuple[Any, ...] | None:
        """A block's (user id array, week array), every row valid; None: hand the block back."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        if b"\x00" in chunk or chunk.count(b"\r") != chunk.count(b"\r\n"):
            return None  # the csv module's own errors, and its idea of a line, decide these
        try:  # the whole block must be UTF-8 (the csv module decodes every column); no copy made
            offsets = pa.py_buffer(np.array([0, len(chunk)], dtype=np.int32))
            pa.Array.from_buffers(pa.binary(), 1, [None, offsets, pa.py_buffer(chunk)]).cast(pa.string())
        except pa.ArrowInvalid:
            return None
        limit = csv.field_size_limit()
        if len(chunk) > limit:  # a field past the csv module's limit is an error there
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            if np.diff(ends, prepend=-1, append=len(chunk)).max() > limit:
                return None
        odd = False

        def invalid_row(_row: Any) -> str:
            nonlocal odd
            odd = True  # a short or long row: the Python path reports or accepts it
            return "skip"

        names = [f"c{i}" for i in range(self._n_header)]
        cu, ct = names[self._iu], names[self._it]
        wanted = list(dict.fromkeys([cu, ct] + ([names[self._ie]] if self._ie is not None else [])))
        try:
            table = pacsv.read_csv(
                pa.py_buffer(chunk),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=READ_THREADS),
                parse_options=pacsv.ParseOptions(newlines_in_values=b'"' in chunk, invalid_row_handler=invalid_row),
                convert_options=pacsv.ConvertOptions(
                    include_columns=wanted, column_types={c: pa.string() for c in wanted},
                    strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if odd:
            return None
        if table.num_rows == 0:
            return pa.array([], pa.string()), np.zeros(0, np.int64), pa.array([], pa.string())
        uid = table.column(cu).combine_chunks()
        ts = table.column(ct).combine_chunks()
        # Event names as the row parser keeps them: trimmed, at most 200 characters.
        ev = (pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(table.column(names[self._ie]).combine_chunks()), 0, 200)
              if self._ie is not None else None)
        del table
        computed = self._weeks(ts, pa, pc)
        if computed is None:
            return None
        weeks, ok = computed
        ok &= np.asarray(pc.match_substring_regex(uid, _UID_RE), dtype=bool)
        ok &= np.asarray(pc.utf8_length(uid), dtype=np.int64) <= 255
        if not ok.all():
            # The rows these rules do not cover go through the Python row parser, one by one.
            bad = np.flatnonzero(~ok)
            fixed: dict[int, str] = {}
            for i, u, t in zip(bad.tolist(), uid.take(bad).to_pylist(), ts.take(bad).to_pylist(), strict=True):
                try:
                    clean, weeks[i] = self._parse_row((u, t))
                except (ValueError, IndexError):
                    return None  # an invalid row: the Python CSV path names it by line
                if clean != u:
                    fixed[i] = clean
            if fixed:  # user ids the parser stripped: rebuild the column once
                values = uid.to_pylist()
                for i, clean in fixed.items():
                    values[i] = clean
                uid = pa.array(values, type=pa.string())
        return uid, weeks, ev

    def _weeks(self, ts: Any, pa: Any, pc: Any) -> tuple[np.ndarray, np.ndarray] | None:
        """Week index of each timestamp, and where it was computed here (elsewhere: garbage).
        None when Arrow refuses a value of a checked shape (Feb 30, hour 24 ...): the block then
        goes to the Python path, which decides what such a value means."""
        n = len(ts)
        ok = np.asarray(pc.match_substring_regex(ts, _TS_RE), dtype=bool)
        length = np.asarray(pc.utf8_length(ts), dtype=np.int64)
        sign = pc.utf8_slice_codeunits(ts, -6, -5)
        zoned = ok & (np.asarray(pc.ends_with(ts, "Z"), dtype=bool)
                      | ((length >= 22) & np.asarray(pc.is_in(sign, value_set=pa.array(["+", "-"])), dtype=bool)))
        micros = np.zeros(n, dtype=np.int64)
        # Arrow's ISO 8601 parser: with a zone, straight to UTC; without one, as UTC (naive = UTC, and a
        # bare date as its midnight, which keeps its calendar day below).
        for mask, unit in ((zoned, pa.timestamp("us", "UTC")), (ok & ~zoned, pa.timestamp("us"))):
            rows = np.flatnonzero(mask)
            if rows.size:
                try:
                    parsed = pc.cast(ts.take(pa.array(rows)), unit)
                except pa.ArrowInvalid:
                    return None
                micros[rows] = np.asarray(parsed.cast(pa.int64()), dtype=np.int64)
        instant = micros // 1_000_000
        # The year as written must be MIN_YEAR..MAX_YEAR: certain a day inside the range.
        ok &= (instant >= self._instants[0]) & (instant <= self._instants[1])
        bare = ok & (length == 10)
        if self._tz_name in UTC_NAMES:
            local = instant // 86400
        else:
            timed = ok & ~bare
            local = (instant + _utc_offsets(instant[timed], self._tz, n, timed)) // 86400
            local[bare] = instant[bare] // 86400  # a bare date is that day in the product's timezone
        weeks = (local - _UNIX_TO_EPOCH_DAYS) // 7
        ok &= (weeks >= self._weeks_range[0]) & (weeks <= self._weeks_range[1])
        return weeks, ok


def _steady_mmap_threshold() -> None:
    """glibc, process-wide: big blocks (> 128 KiB) always get their own mapping, returned to the OS
    when freed. glibc otherwise raises that threshold each time such a block is freed, after which
    the per-chunk buffers of both threads (Arrow columns, the packed rows' text) come from the heaps
    and stay resident in pieces: on 3.4M events of 1M users the import peaked at 461 MB, 387 MB
    with the threshold fixed (MALLOC_MMAP_THRESHOLD_ does the same from the environment)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 128 << 10)
    except (OSError, AttributeError):
        pass  # not glibc


def _utc_offsets(instants: np.ndarray, tz: ZoneInfo, n: int, where: np.ndarray) -> np.ndarray:
    """The timezone's UTC offset (seconds) at each instant, from zoneinfo itself: looked up once
    per distinct hour, and per instant in an hour that holds a transition (DST)."""
    out = np.zeros(n, dtype=np.int64)
    if not instants.size:
        return out
    hour_of = instants // 3600
    hours = _unique(hour_of)
    inverse = np.searchsorted(hours, hour_of)

    def off(t: int) -> int:
        u = datetime.fromtimestamp(t, tz).utcoffset()
        return int(u.total_seconds()) if u is not None else 0

    begin = np.array([off(h * 3600) for h in hours.tolist()], dtype=np.int64)
    end = np.array([off(h * 3600 + 3599) for h in hours.tolist()], dtype=np.int64)
    offsets = begin[inverse]
    mixed = np.flatnonzero((begin != end)[inverse])
    if mixed.size:
        offsets[mixed] = [off(t) for t in instants[mixed].tolist()]
    out[where] = offsets
    return out


def _distinct(uid: Any, weeks: np.ndarray, pa: Any, pc: Any, events: Any = None) -> EventPairs:
    """Distinct (user, week) pairs: users sorted (so the writer's look-ups walk the unique index
    in order), each with its earliest week, and the pairs as (user index, week), sorted. With
    ``events`` (a name per row), the distinct named (user index, week, event) triples too."""
    if not len(weeks):
        return EventPairs([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    enc = pc.dictionary_encode(uid.combine_chunks() if hasattr(uid, "num_chunks") else uid)
    codes = np.asarray(enc.indices, dtype=np.int64)
    names = enc.dictionary
    order = np.asarray(pc.sort_indices(names), dtype=np.int64)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    lo = int(weeks.min())
    span = int(weeks.max()) - lo + 1
    keys = _unique(rank[codes] * span + (weeks - lo))
    pair_user, pair_week = np.divmod(keys, span)
    pair_week += lo
    first = np.flatnonzero(np.diff(pair_user, prepend=-1))  # each user's first pair: its earliest week
    # Kept as Arrow / numpy arrays: the writer makes Python values of one statement's rows at a time.
    # int32 columns: two chunks are held at once (one parsed, one written), ~10 MB less each.
    out = EventPairs(names.take(pa.array(order)), pair_week[first], pair_user.astype(np.int32), pair_week.astype(np.int32))
    if events is not None:
        out.events = _named(rank[codes] * span + (weeks - lo), span, lo, events, pa, pc)
    return out


def _named(pair_keys: np.ndarray, span: int, lo: int, events: Any, pa: Any, pc: Any) -> EventWeeks:
    """The distinct (user index, week, event) triples of rows whose event name is not blank."""
    enc = pc.dictionary_encode(events.combine_chunks() if hasattr(events, "num_chunks") else events)
    codes = np.asarray(enc.indices, dtype=np.int64)
    names = enc.dictionary.to_pylist()
    keep = np.array([bool(n) for n in names], dtype=bool)[codes] if names else np.zeros(0, bool)
    n = max(1, len(names))
    keys = _unique(pair_keys[keep] * n + codes[keep])
    pair, event = np.divmod(keys, n)
    user, week = np.divmod(pair, span)
    return EventWeeks(names, user.astype(np.int32), (week + lo).astype(np.int32), event.astype(np.int32))


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values. (np.unique of numpy 2.4 hashes integers: ~15x slower than this.)"""
    ordered = np.sort(values)
    keep = np.empty(ordered.size, dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
