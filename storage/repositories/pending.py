"""Rows of post-ack work in progress (``storage.models.PendingWork``). Never commits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import PendingWork


def add(session: Session, *, work_id: str, team_id: str, response_url: str, what: str, owner: str,
        now: datetime) -> None:
    session.add(PendingWork(id=work_id, team_id=team_id, response_url=response_url, what=what[:200], owner=owner,
                            started_at=now))


def remove(session: Session, work_id: str) -> None:
    session.execute(delete(PendingWork).where(PendingWork.id == work_id))


def take_lost(session: Session, *, lost: Callable[[PendingWork], bool]) -> list[tuple[str, str, str]]:
    """Delete the rows ``lost`` says belong to work that will never finish, and return their
    (team id, response url, what). Deleting with RETURNING: of two processes sweeping at once,
    each row goes to exactly one of them."""
    ids = [row.id for row in session.scalars(select(PendingWork).order_by(PendingWork.started_at)) if lost(row)]
    if not ids:
        return []
    gone = session.execute(delete(PendingWork).where(PendingWork.id.in_(ids))
                           .returning(PendingWork.team_id, PendingWork.response_url, PendingWork.what))
    return [(t, u, w) for t, u, w in gone]
