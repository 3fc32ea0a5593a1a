"""``storage.packed``: rows packed into int64s for SQLite's json_each, and the bulk writer's events
path through it, which must write exactly what the staged path writes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select, text

import storage.packed as packed
from bot.products import service as product_service
from storage.bulk import BulkWriter
from storage.db import Factory
from storage.event_weeks import write_event_weeks
from storage.models import ActivityEventWeek, ActivityWeek, ProductUser
from storage.staging import EventPairs, EventWeeks, SignupRow


def test_pack_round_trips_through_json_each_sorted_with_negative_and_large_values() -> None:
    rng = np.random.default_rng(3)
    cols = [rng.integers(1, 2**30, 5000), rng.integers(-3, 60_000, 5000), rng.integers(-1, 4000, 5000)]
    p = packed.pack(cols)
    assert p is not None
    conn = sqlite3.connect(":memory:")
    got = conn.execute(f"SELECT {', '.join(p.columns)} FROM json_each(?)", (str(p.values.tolist()),)).fetchall()
    assert got == sorted(zip(*(c.tolist() for c in cols), strict=True))


def test_pack_refuses_columns_wider_than_62_bits() -> None:
    assert packed.pack([np.array([0, 2**40]), np.array([0, 2**30])]) is None
    assert packed.pack([np.array([2**40, 2**40 + 5]), np.array([0, 2**20])]) is not None  # offsets, not values


def _pairs() -> EventPairs:
    # users a, b, c (sorted); b's first week 11; pairs (user index, week) sorted; named triples.
    return EventPairs(["a", "b", "c"], [9, 11, 12], [0, 0, 0, 1, 2], [9, 10, 12, 11, 12],
                      events=EventWeeks(["login", "view"], [0, 0, 1, 2], [9, 12, 11, 12], [0, 1, 1, 0]))


def _import(factory: Factory, slug: str) -> tuple[tuple[int, int], tuple[int, int], int]:
    pid = product_service.create_product(factory, slug=slug).id
    with factory() as s:
        w = BulkWriter(s, pid)
        w.signups([SignupRow("b", 13, datetime(2026, 1, 1, tzinfo=UTC), None, "unknown")])
        first = w.events(_pairs())
        named = write_event_weeks(w, _pairs().events)  # type: ignore[arg-type]
        again = w.events(_pairs())  # all known
        w.close()
        s.commit()
    return first, again, named


def _rows(factory: Factory, slug: str) -> tuple[set[tuple[str, int, int]], set[tuple[str, int]]]:
    with factory() as s:
        pid = s.execute(text("SELECT id FROM products WHERE slug = :s"), {"s": slug}).scalar_one()
        weeks = {(e, w, c) for e, w, c in s.execute(
            select(ProductUser.external_id, ActivityWeek.week, ActivityWeek.cohort_week)
            .join(ActivityWeek, ActivityWeek.user_id == ProductUser.id).where(ActivityWeek.product_id == pid))}
        named = {(e, w) for e, w in s.execute(
            select(ProductUser.external_id, ActivityEventWeek.week)
            .join(ActivityEventWeek, ActivityEventWeek.user_id == ProductUser.id)
            .where(ActivityEventWeek.product_id == pid))}
    return weeks, named


def test_packed_and_staged_events_write_the_same_rows(session_factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    packed_counts = _import(session_factory, "packed")
    monkeypatch.setattr(packed, "_BITS", 1)  # nothing packs: the staged path on every engine
    staged_counts = _import(session_factory, "staged")
    assert packed_counts == staged_counts == ((2, 5), (0, 0), 4)
    weeks, named = _rows(session_factory, "packed")
    assert (weeks, named) == _rows(session_factory, "staged")
    # b signed up in week 13: its cohort week is 13 on every row, the signup week is activity too.
    assert {r for r in weeks if r[0] == "b"} == {("b", 11, 13), ("b", 13, 13)}
    assert named == {("a", 9), ("a", 12), ("b", 11), ("c", 12)}


def test_sqlite_events_skip_the_pair_staging_table(session_factory: Factory) -> None:
    pid = product_service.create_product(session_factory, slug="acme").id
    with session_factory() as s:
        w = BulkWriter(s, pid)
        w.events(_pairs())
        staged = s.execute(text("SELECT name FROM sqlite_temp_master WHERE name = 'pmf_stage_upairs'")).all() \
            if s.get_bind().dialect.name == "sqlite" else None
        assert (w.staged_ids is not None) == (s.get_bind().dialect.name == "sqlite")
        w.close()
        s.commit()
    assert staged in (None, [])


def test_copy_binary_is_postgres_binary_copy_of_int4_columns_or_nothing() -> None:
    import struct

    data = packed.copy_binary([range(2), np.array([7, -3], dtype=np.int32)])
    assert data is not None
    assert data[:11] == b"PGCOPY\n\xff\r\n\x00" and data[11:19] == bytes(8) and data[-2:] == b"\xff\xff"
    body = data[19:-2]
    assert [struct.unpack(">hiiii", body[k:k + 18]) for k in range(0, len(body), 18)] == [(2, 4, 0, 4, 7), (2, 4, 1, 4, -3)]
    assert packed.copy_binary([np.array([2**31])]) is None  # not an int4: the caller sends CSV
    assert packed.copy_binary([["a", "b"]]) is None
