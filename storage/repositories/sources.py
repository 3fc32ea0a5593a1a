"""The SQL of the ``sql_sources`` table (SPEC §9): finding, saving and claiming a product's source.

Like every repository here it never commits: ``bot.ingest.sql_source`` decides what one transaction is
(a sync's state is written in the same transaction as the rows it read, so both or neither stay).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import Product, SqlSource

# The sync state a new or re-added source starts from: the next sync reads everything.
_STATE_RESET = dict(last_attempt_at=None, last_sync_at=None, last_sync_seconds=None, rows_read=None,
                    weeks_covered=None, first_week=None, last_synced_week=None, last_signup_at=None,
                    last_error=None, last_error_at=None)


def find_source(session: Session, product_id: int) -> SqlSource | None:
    return session.scalar(select(SqlSource).where(SqlSource.product_id == product_id))


def sources_of_workspace(session: Session, workspace_id: int) -> Sequence[tuple[SqlSource, str]]:
    """Each source of a workspace with its product's slug, by slug."""
    rows = session.execute(select(SqlSource, Product.slug).join(Product, Product.id == SqlSource.product_id)
                           .where(Product.workspace_id == workspace_id).order_by(Product.slug))
    return [(s, slug) for s, slug in rows]


def save_source(session: Session, product_id: int, *, url: str, password_enc: str | None, signups_query: str,
                events_query: str, timeout_seconds: int) -> SqlSource:
    """Create the product's source, or replace its connection and queries (and start its sync
    state afresh: other queries may return other rows)."""
    src = find_source(session, product_id)
    if src is None:
        src = SqlSource(product_id=product_id)
        session.add(src)
    src.url, src.password_enc = url, password_enc
    src.signups_query, src.events_query, src.timeout_seconds = signups_query, events_query, timeout_seconds
    for name, value in _STATE_RESET.items():
        setattr(src, name, value)
    session.flush()
    return src


def delete_source(session: Session, product_id: int) -> bool:
    src = find_source(session, product_id)
    if src is None:
        return False
    session.delete(src)
    session.flush()
    return True


def due_source_ids(session: Session, attempted_before: datetime) -> list[int]:
    """Sources not attempted since ``attempted_before`` (never attempted ones first)."""
    return list(session.scalars(
        select(SqlSource.id).where(or_(SqlSource.last_attempt_at.is_(None), SqlSource.last_attempt_at < attempted_before))
        .order_by(SqlSource.last_attempt_at.is_not(None), SqlSource.last_attempt_at, SqlSource.id)))


def claim_source(session: Session, source_id: int, *, attempted_before: datetime, now: datetime) -> int | None:
    """Mark a due source as attempted at ``now``; its product id if this caller won the claim
    (a compare-and-set, so two clock processes never sync one source the same day), else None."""
    result = session.execute(
        update(SqlSource).where(SqlSource.id == source_id)
        .where(or_(SqlSource.last_attempt_at.is_(None), SqlSource.last_attempt_at < attempted_before))
        .values(last_attempt_at=now).execution_options(synchronize_session=False))
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return session.scalar(select(SqlSource.product_id).where(SqlSource.id == source_id))


def record_error(session: Session, product_id: int, message: str, at: datetime) -> None:
    session.execute(update(SqlSource).where(SqlSource.product_id == product_id)
                    .values(last_error=message[:500], last_error_at=at).execution_options(synchronize_session=False))
