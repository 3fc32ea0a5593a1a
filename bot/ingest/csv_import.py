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
import io
import os
import queue
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.domain.matching import MIN_SECRET, email_hash
from bot.errors import UserError
from bot.ingest import layout
from bot.ingest.formats import (
    _FORMATS,
    MAX_REPORTED_ERRORS,
    MAX_YEAR,
    MIN_YEAR,
    ImportResult,
    RowError,
    RowParser,
    _Chunk,
    _Counts,
    _gc_paused,
    event_parser,
    response_parser,
    signup_parser,
)
from bot.products import service as products
from storage.bulk import BulkWriter, tidy_after_import
from storage.db import Factory, begin_write
from storage.repositories.products import ProductRef

# Rows per database round, by kind. The bigger an events chunk, the more repeated user-weeks are
# merged in Python before SQL sees them (on a time-ordered file about 0.67 distinct user-weeks per
# event at 200k rows) and the fewer rounds there are: 10M events into SQLite took ~62 s in 200k
# chunks, ~49 s in 500k and ~53 s in 1M, with peak RSS 333, 321 and 343 MB (SQLite's page cache
# is the largest part). A signup or response row holds a datetime and more text, so those chunks
# are smaller.
CHUNK_ROWS: dict[str, int] = {"events": 500_000, "signups": 50_000, "responses": 50_000}
# Parse on a worker thread while the calling thread writes: None = on PostgreSQL, and for the
# vectorised events reader (bot.ingest.csv_fast) on SQLite too (tests force both ways). PostgreSQL does
# its work in the server process, so parsing overlaps it for free. SQLite works inside this
# process, and there the csv module's parsing and SQLite slowed each other down more than they
# overlapped: 10M events took 78 s threaded and 57-62 s inline (bench/README.md).
PARSE_IN_THREAD: bool | None = None
# ----------------------------------------------------------------------------- product lookup
# ----------------------------------------------------------------------------- CSV import
def _parse_in_thread(session: Session, fast: bool) -> bool:
    if PARSE_IN_THREAD is not None:
        return PARSE_IN_THREAD
    # The vectorised reader (bot.ingest.csv_fast) does most of its work without the GIL, so it
    # overlaps SQLite too: 10M events in ~25 s threaded against ~32 s inline.
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


def _parser_for(kind: str, index: Mapping[str, int], product: ProductRef, secret: str | None = None) -> RowParser:
    s = product.settings
    if kind == "events":
        return event_parser(index, s.timezone)
    if kind == "signups":
        if "email" not in index:
            return signup_parser(index, s.timezone, s.channel_map)
        if not secret or len(secret) < MIN_SECRET:
            # Stored unkeyed, a hash of an email can be checked against guessed addresses.
            raise UserError("The email column is stored only as a keyed hash, which needs PMFBOT_SECRET_KEY "
                            "(16+ characters); set it, or import the file without the email column.")
        return signup_parser(index, s.timezone, s.channel_map, partial(email_hash, secret, product.id))
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
        self._fast = fast  # bot.ingest.csv_fast.EventBlocks, or None for the csv module all the way
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
    fast_events: bool = True,
    secret: str | None = None,
    preset: str | None = None,
    mapping: str | None = None,
    date_format: str | None = None,
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
    as it is, and a later answer by the same respondent is a new response. A signups file's
    optional ``email`` column is kept only as its keyed hash (``secret``, SPEC §5 "Who answered").
    ``preset``, ``mapping`` and ``date_format`` describe another tool's export (bot.ingest.layout).
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
        delimiter, sampled = layout.sample(raw)
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""), delimiter=delimiter)
        try:
            header = next(reader, [])
        except UnicodeDecodeError:
            raise _not_utf8(path, 1) from None
        except csv.Error as err:
            raise UserError(f"{path}, line 1: {err}") from None
        if not any(h.strip() for h in header):
            raise UserError(f"{path} has no header row; the first line must be: {_FORMATS[kind].usage}.")
        shape = layout.read_layout(raw, path, kind, header, delimiter, sampled, preset, mapping, date_format)
        if preset:
            shape.without_email(secret)
        index = shape.index

        with factory() as session, _gc_paused():
            # SQLite: the write lock now, not at the first write. A transaction that read first
            # cannot wait for another writer (the clock of a running `pmfbot web` or `socket`):
            # SQLite would answer "database is locked" at once instead of queueing the import.
            begin_write(session)
            product = products.cli_product(session, product_slug, team_id)
            parse = shape.wrap(_parser_for(kind, index, product, secret))
            result = ImportResult(kind=kind, product=product.slug, path=str(path), notes=shape.notes)
            rejects = _Rejects(path, header, keep_rows=skip_invalid)
            bar = _progress_bar(size, path, progress)
            fast = _fast_events(kind, raw, header, index, product, chunk_rows) if fast_events and shape.plain else None
            writer = BulkWriter(session, product.id, sqlite_cache_kib=fast and fast.sqlite_cache_kib)
            producer = _Producer(reader, parse, kind, chunk_rows or CHUNK_ROWS[kind],
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
                counts.finish(writer)
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
    """bot.ingest.csv_fast's reader for an events file (blocks of csv_fast.BLOCK_BYTES, or
    ``chunk_rows`` lines when one is given), or None where it does not apply (another kind,
    pyarrow missing, a header that is not one plain line): then the csv module reads it all."""
    if kind != "events":
        return None
    from bot.ingest import csv_fast

    start = csv_fast.data_start(raw) if csv_fast.available() else None
    if start is None:
        return None
    tz = product.settings.timezone
    return csv_fast.EventBlocks(raw, start, len(header), index["user_id"], index["occurred_at"], tz,
                                event_parser({"user_id": 0, "occurred_at": 1}, tz), (MIN_YEAR, MAX_YEAR),
                                block_lines=chunk_rows, ie=index.get("event"))


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


