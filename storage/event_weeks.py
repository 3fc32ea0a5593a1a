"""Event names beside the compacted activity (SPEC §5 "Activity", ``retention.active_events``).

An import whose source names its events hands each chunk's (user, week, event) triples here right
after ``BulkWriter.events`` has merged the chunk's (user, week) pairs: the users are then already
in the writer's ``pmf_stage_ids`` (staged index -> product_users id). The names go into
``event_names`` (numbered per product) and the triples into ``activity_event_weeks``, with the
same all-or-nothing transaction and ``ON CONFLICT DO NOTHING`` as the rest of the import.
``activity_weeks`` and its writer are not touched: an import without event names, and every
report under the default rule, cost exactly what they did."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
from sqlalchemy import text

from storage.bulk import BulkWriter
from storage.packed import insert_packed
from storage.staging import EventWeeks


def write_event_weeks(writer: BulkWriter, events: EventWeeks) -> int:
    """Record a chunk's named (user, week, event) triples; call right after ``writer.events`` of
    the same chunk (given as EventPairs). Returns the new rows."""
    if not len(events):
        return 0
    # The writer's staging helpers: same connection, same transaction, same engine specifics.
    writer._stage("pmf_stage_evnames", ("ev", "name"), [(i, n) for i, n in enumerate(events.names) if n])
    writer._exec("INSERT INTO event_names (product_id, name, user_weeks) SELECT :pid, s.name, 0 "
                 "FROM pmf_stage_evnames s WHERE NOT EXISTS (SELECT 1 FROM event_names n "
                 "WHERE n.product_id = :pid AND n.name = s.name) ORDER BY s.name ON CONFLICT DO NOTHING")
    # The chunk's names as the product's event ids, in Python: the insert below then joins only
    # the staged users (each join over a million staged rows costs PostgreSQL seconds).
    ids: dict[int, int] = dict(writer._conn.execute(text(
        "SELECT s.ev, n.id FROM pmf_stage_evnames s JOIN event_names n ON n.product_id = :pid AND n.name = s.name"),
        {"pid": writer._pid}).all())
    table = np.zeros(len(events.names), dtype=np.int64)
    for ev, event_id in ids.items():
        table[int(ev)] = int(event_id)
    event_ids: Any = table[np.asarray(events.event, dtype=np.int64)]
    if writer.staged_ids is not None:  # SQLite: the users' ids are known; the rows go in packed
        new = insert_packed(writer._exec, "INSERT INTO activity_event_weeks (user_id, week, event_id, product_id) "
                            "SELECT {0}, {1}, {2}, :pid", (writer.staged_ids[0][np.asarray(events.user, dtype=np.int64)],
                                                           events.week, event_ids))
        if new is not None:
            return new
    writer._stage_columns("pmf_stage_evweeks", ("ui", "week", "ev"), (events.user, events.week, event_ids))
    writer._analyze("pmf_stage_evweeks")
    return writer._exec(
        "INSERT INTO activity_event_weeks (user_id, week, event_id, product_id) "
        "SELECT i.id, t.week, t.ev, :pid FROM pmf_stage_evweeks t JOIN pmf_stage_ids i ON i.ui = t.ui "
        "WHERE true ORDER BY i.id, t.week, t.ev ON CONFLICT DO NOTHING")


def recount_event_names(writer: BulkWriter, names: Collection[str]) -> None:
    """The product's event names' ``user_weeks`` from the rows themselves, once an import that
    carried ``names`` is written (counting rows rather than adding chunk counts keeps a re-import
    from counting twice). One grouped scan of the product's rows, however many names: a count per
    name would scan the table once per name (the table has no index by event, on purpose: every
    imported row would pay for it), which an export with dozens of event names multiplies."""
    if not names:
        return
    counts = writer._conn.execute(text(
        "SELECT event_id, count(*) FROM activity_event_weeks WHERE product_id = :pid GROUP BY event_id"),
        {"pid": writer._pid}).all()
    writer._conn.execute(text("UPDATE event_names SET user_weeks = 0 WHERE product_id = :pid"), {"pid": writer._pid})
    if counts:
        writer._conn.execute(text("UPDATE event_names SET user_weeks = :n WHERE id = :id AND product_id = :pid"),
                             [{"id": int(e), "n": int(n), "pid": writer._pid} for e, n in counts])
