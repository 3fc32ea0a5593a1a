"""Weekly snapshots of a product's report (one row per product and week).

A snapshot is a cache (SPEC §10): the payload carries the fingerprint of the inputs it was
computed from, and a caller that finds a different fingerprint recomputes and replaces it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import (
    WeeklySnapshot,
    utcnow,
)


# ----------------------------------------------------------------------------- snapshots
def get_snapshot(session: Session, product_id: int, week: int) -> WeeklySnapshot | None:
    return session.scalar(select(WeeklySnapshot).where(and_(WeeklySnapshot.product_id == product_id,
                                                            WeeklySnapshot.week == week)))


def save_snapshot(session: Session, product_id: int, week: int, as_of: date, report: dict[str, object]) -> None:
    """Store a week's figures, replacing a stale row. Two writers of the same week computed the
    same figures from the same inputs, so whichever lands last is right; a concurrent insert of
    the same week is absorbed (its savepoint rolls back, the other row stays)."""
    row = get_snapshot(session, product_id, week)
    if row is not None:
        row.as_of, row.report, row.computed_at = as_of, report, utcnow()
        session.flush()
        return
    try:
        with session.begin_nested():
            session.add(WeeklySnapshot(product_id=product_id, week=week, as_of=as_of, report=report))
    except IntegrityError:
        pass  # another process stored the same week meanwhile: same inputs, same figures
