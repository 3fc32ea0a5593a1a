"""The vectorised events reader (``bot.ingest.csv_fast``) against the Python row parser it stands in for:
the same (user, week) pairs on tricky inputs, and the same errors, rejects and counts."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from ingest_helpers import Factory, activity, set_timezone, snapshot, users

from bot.errors import UserError
from bot.ingest import csv_fast
from bot.ingest.csv_import import import_csv
from bot.ingest.formats import MAX_YEAR, MIN_YEAR, RowError, event_parser
from bot.products import service as product_service

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Kiritimati"]
STAMPS = [
    # Sunday 23:59 / Monday 00:00 in several spellings (2026-03-01 is a Sunday).
    "2026-03-01T23:59:59", "2026-03-02T00:00:00", "2026-03-01T23:59:59Z", "2026-03-02T00:00:00Z",
    "2026-03-01T23:59:59.999999Z", "2026-03-01 23:59", "2026-03-02T00:00", "2026-03-01T23:59:59.5",
    "2026-03-02T00:30:00+01:00", "2026-03-01T19:00:00-05:00", "2026-03-02T13:59:00+14:00",
    "2026-03-01T12:00:00-12:00", "2026-03-02T05:44:00+05:45", "2026-03-01T18:14:00-00:00",
    # Bare dates: that day in the product's timezone.
    "2026-03-01", "2026-03-02", "2026-02-28", "2028-02-29",
    # DST edges: Berlin 2026-03-29 01:00Z and 2026-10-25 01:00Z, New York 2026-03-08 07:00Z and
    # 2026-11-01 06:00Z, Lord Howe (30-minute DST) 2026-04-04 15:00Z and 2026-10-03 15:30Z.
    "2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z", "2026-10-25T00:59:59Z", "2026-10-25T01:00:00Z",
    "2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z", "2026-11-01T05:59:59Z", "2026-11-01T06:00:00Z",
    "2026-04-04T14:59:59Z", "2026-04-04T15:00:00Z", "2026-10-03T15:29:59Z", "2026-10-03T15:30:00Z",
    "2026-03-29T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-11-01T01:30:00-04:00",
    # Shapes only the Python parser reads (they go through it, row by row).
    "20260302", "2026-03-02T10:00:00+0100", " 2026-03-02T10:00:00Z ", "2026-03-02t10:00", "2026-W10-1",
    "2026-03-02T10", "2026-03-02T10:00:00.1234567Z", "2026-03-02T10:00:00+01:00:30",
    # The edges of the allowed years (and a day past them in another offset).
    "1970-01-01", "1970-01-05T00:30:00+01:00", "1970-01-01T00:00:00+01:00", "2999-12-31T23:00:00-05:00",
    "2999-12-31",
]
USERS = ["u1", "u2", "ü3", "u 4", "a,b", ' "q" ', " u5 ", "U1", "x" * 255]


def _legacy_pairs(path: Path, tz: str) -> set[tuple[str, int]]:
    """What the Python path makes of a file: csv.reader and the row parser."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader)]
        parse = event_parser({"user_id": header.index("user_id"), "occurred_at": header.index("occurred_at")}, tz)
        return {parse(row) for row in reader if row}


def _fast_blocks(path: Path, tz: str, block_lines: int | None) -> Iterator[csv_fast.Block]:
    with path.open("rb") as raw:
        start = csv_fast.data_start(raw)
        assert start is not None
        raw.seek(0)
        header = [h.strip().lower() for h in next(csv.reader([raw.readline().decode("utf-8-sig")]))]
        blocks = csv_fast.EventBlocks(raw, start, len(header), header.index("user_id"), header.index("occurred_at"),
                                      tz, event_parser({"user_id": 0, "occurred_at": 1}, tz), (MIN_YEAR, MAX_YEAR),
                                      block_lines=block_lines)
        yield from blocks


def _fast_pairs(path: Path, tz: str, block_lines: int | None = None) -> tuple[set[tuple[str, int]], int]:
    """The pairs of the vectorised blocks, and how many blocks went to the Python path instead."""
    pairs: set[tuple[str, int]] = set()
    handed_back = 0
    for block in _fast_blocks(path, tz, block_lines):
        if block.pairs is None:
            handed_back += 1
            continue
        p = block.pairs
        users = p.users.to_pylist()  # type: ignore[attr-defined]
        pairs |= {(users[int(u)], int(w)) for u, w in zip(p.pair_user, p.pair_week, strict=True)}
        assert users == sorted(set(users), key=lambda s: s.encode())  # distinct, in the index's order
        first: dict[int, int] = {}
        for u, w in zip(p.pair_user.tolist(), p.pair_week.tolist(), strict=True):  # type: ignore[attr-defined]
            first[u] = min(first.get(u, w), w)
        assert [int(w) for w in p.first_weeks] == [first[k] for k in range(len(users))]
    return pairs, handed_back


def _write(path: Path, header: list[str], rows: list[list[str]], *, crlf: bool = False, bom: bool = False,
           blank_every: int = 0) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n" if crlf else "\n")
        w.writerow(header)
        for i, row in enumerate(rows):
            w.writerow(row)
            if blank_every and i % blank_every == 0:
                fh.write("\r\n" if crlf else "\n")
    return path


def _valid(stamp: str, user: str, tz: str) -> bool:
    try:
        event_parser({"user_id": 0, "occurred_at": 1}, tz)([user, stamp])
    except RowError:
        return False
    return True


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("layout", ["plain", "crlf+bom+blank lines", "extra columns, quoted everywhere"])
def test_vectorised_pairs_equal_the_row_parser_on_tricky_input(tmp_path: Path, tz: str, layout: str) -> None:
    rng = random.Random(f"{tz}{layout}")
    good = [(s, u) for s in STAMPS for u in USERS if _valid(s, u, tz)]
    rows = [list(rng.choice(good)) for _ in range(3000)]
    if layout == "plain":
        path = _write(tmp_path / "e.csv", ["occurred_at", "user_id"], rows)
    elif layout == "crlf+bom+blank lines":
        path = _write(tmp_path / "e.csv", ["Occurred_At", " USER_ID "], rows, crlf=True, bom=True, blank_every=97)
    else:
        # Extra columns on both sides, a multi-line quoted note, every field quoted.
        rows = [["web", s, f"note {i}\nsecond line, with a comma" if i % 7 == 0 else "x", u, "tail"]
                for i, (s, u) in enumerate(rows)]
        with (tmp_path / "e.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, quoting=csv.QUOTE_ALL)
            w.writerow(["source", "occurred_at", "note", "user_id", "more"])
            w.writerows(rows)
        path = tmp_path / "e.csv"
    expected = _legacy_pairs(path, tz)
    for block_lines in (None, 37):  # one block, and many (cut between quoted lines too)
        got, handed_back = _fast_pairs(path, tz, block_lines)
        assert handed_back == 0  # every block was read by the vectorised path
        assert got == expected


def test_line_numbers_count_quoted_line_breaks_blank_lines_and_crlf(tmp_path: Path, session_factory: Factory,
                                                                  ) -> None:
    product_service.create_product(session_factory, slug="acme")
    path = tmp_path / "e.csv"
    path.write_bytes(b"\xef\xbb\xbfuser_id,occurred_at,note\r\n"
                     b"u1,2026-03-02,\"two\r\nlines\"\r\n"   # lines 2-3
                     b"\r\n"                                  # line 4
                     b"u2,2026-03-02,x\r\n"                  # line 5
                     b"u3,2026-13-02,x\r\n")                 # line 6
    for fast in (True, False):
        with pytest.raises(UserError, match="line 6: occurred_at '2026-13-02'"):
            import_csv(session_factory, kind="events", path=path, product_slug="acme", chunk_rows=2, fast_events=fast)


def _big_file(path: Path, n: int, bad: dict[int, list[str]]) -> Path:
    """``n`` valid rows (line i + 2 is row i), with ``bad`` rows replacing some of them."""
    rows = [bad.get(i, [f"u{i % 5000}", f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:00:00Z", "click"]) for i in range(n)]
    return _write(path, ["user_id", "occurred_at", "event"], rows)


def test_one_bad_row_in_a_large_block_rejects_the_file_with_its_line(tmp_path: Path, session_factory: Factory) -> None:
    product_service.create_product(session_factory, slug="acme")
    path = _big_file(tmp_path / "e.csv", 120_000, {70_000: ["u7", "2026-02-30T10:00:00Z", "click"]})
    with pytest.raises(UserError) as err:
        import_csv(session_factory, kind="events", path=path, product_slug="acme")
    assert "1 of 120,000 rows are invalid; nothing was imported" in str(err.value)
    assert "line 70002: occurred_at '2026-02-30T10:00:00Z' is not an ISO 8601 timestamp" in str(err.value)
    assert snapshot(session_factory)["activity_weeks"] == []


@pytest.mark.parametrize("chunk_rows", [None, 10_000])
def test_skip_invalid_writes_the_same_rejects_and_rows_as_the_python_path(tmp_path: Path, session_factory: Factory,
                                                                         chunk_rows: int | None) -> None:
    bad = {5: ["", "2026-03-02", "e"], 30_000: ["u1", "next tuesday", "e"], 30_001: ["u2"],
           59_999: ["u3", "2026-03-02T24:00:00Z", "e"], 45_000: ["u4", "1969-12-31", "e"]}
    results = {}
    for fast in (True, False):
        slug = "fast" if fast else "rows"
        product_service.create_product(session_factory, slug=slug)
        set_timezone(session_factory, slug, "Europe/Berlin")
        path = _big_file(tmp_path / f"{slug}.csv", 60_000, bad)
        r = import_csv(session_factory, kind="events", path=path, product_slug=slug, skip_invalid=True,
                       chunk_rows=chunk_rows, fast_events=fast)
        assert r.rejected_file is not None
        results[fast] = ((r.rows_read, r.inserted, r.unchanged, r.rejected, r.new_users),
                         Path(r.rejected_file).read_bytes())
    assert results[True] == results[False]
    assert results[True][0][3] == 5
    rejected = list(csv.reader(results[True][1].decode().splitlines()))
    assert [r[-1].split(":")[0] for r in rejected[1:]] == ["line 7", "line 30002", "line 30003", "line 45002",
                                                          "line 60001"]
    assert rejected[-1][-1].startswith("line 60001: occurred_at '2026-03-02T24:00:00Z' is not an ISO 8601")


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_the_whole_import_writes_what_the_python_path_writes(tmp_path: Path, session_factory: Factory, tz: str) -> None:
    rng = random.Random(tz)
    good = [(s, u) for s in STAMPS for u in USERS if _valid(s, u, tz)]
    path = _write(tmp_path / "e.csv", ["occurred_at", "user_id"], [list(rng.choice(good)) for _ in range(2000)])
    counts = []
    for fast, slug in ((True, "fast"), (False, "rows")):
        product_service.create_product(session_factory, slug=slug)
        set_timezone(session_factory, slug, tz)
        r = import_csv(session_factory, kind="events", path=path, product_slug=slug, chunk_rows=500, fast_events=fast)
        again = import_csv(session_factory, kind="events", path=path, product_slug=slug, fast_events=fast)
        counts.append((r.rows_read, r.inserted, r.new_users, r.unchanged, again.inserted, again.unchanged))
    assert users(session_factory, "fast") == users(session_factory, "rows")
    assert activity(session_factory, "fast") == activity(session_factory, "rows") != set()
    assert counts[0] == counts[1]
