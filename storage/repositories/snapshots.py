"""Weekly snapshots of a product's report (one row per product and week)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from storage.models import (
    WeeklySnapshot,
)


# ----------------------------------------------------------------------------- snapshots
def get_snapshot(session: Session, product_id: int, week: int) -> WeeklySnapshot | None:
    return session.scalar(select(WeeklySnapshot).where(and_(WeeklySnapshot.product_id == product_id,
                                                            WeeklySnapshot.week == week)))


def save_snapshot(session: Session, product_id: int, week: int, as_of: date, report: dict[str, object]) -> None:
    """Store a week's figures once; a concurrent writer of the same week wins harmlessly."""
    if get_snapshot(session, product_id, week) is not None:
        return
    with session.begin_nested():
        session.add(WeeklySnapshot(product_id=product_id, week=week, as_of=as_of, report=report))
