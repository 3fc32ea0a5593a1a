"""Digest delivery queries: the SQL behind ``bot.digests.claims`` (the claim rows of
``digest_deliveries``, their leases and the fenced writes of a lease holder). Each function
takes the caller's session; the use cases own the unit of work and the rules, and these never
commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from storage.db import dialect_insert, is_postgres
from storage.models import DigestDelivery, DigestSubscription, Product, Workspace

# Deliveries still being worked on (a lease holder may write them).
OPEN_STATUSES: tuple[str, ...] = ("claimed", "sending")


def active_schedules(session: Session) -> Sequence[Row[int, int, str, str, datetime]]:
    """(id, weekday, local_time, timezone, effective_from) of every active subscription."""
    return session.execute(select(DigestSubscription.id, DigestSubscription.weekday, DigestSubscription.local_time,
                                  DigestSubscription.timezone, DigestSubscription.effective_from)
                           .where(DigestSubscription.active.is_(True))).all()


def delivery_keys_since(session: Session, *, period: Any) -> set[tuple[Any, ...]]:
    """The (subscription_id, period) of every delivery from ``period`` on."""
    return {tuple(r) for r in session.execute(select(DigestDelivery.subscription_id, DigestDelivery.period)
                                              .where(DigestDelivery.period >= period)).all()}


def insert_deliveries(session: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Insert the delivery rows that do not exist yet (``ON CONFLICT DO NOTHING``); the status of
    each row inserted."""
    stmt = (dialect_insert(session, DigestDelivery).values(rows)
            .on_conflict_do_nothing(index_elements=["subscription_id", "period"])
            # RETURNING, not rowcount: psycopg's rowcount is unreliable with ON CONFLICT.
            .returning(DigestDelivery.status))
    return [status for (status,) in session.execute(stmt)]


QUEUE_HOLDER = "pq:"  # a lease held by a procrastinate worker: "pq:<procrastinate_workers.id>"


def dead_queue_holders(session: Session, *, stale_seconds: float,
                       statuses: Sequence[str] = OPEN_STATUSES) -> list[str]:
    """Lease holders that are procrastinate workers no longer heartbeating (PostgreSQL, under
    ``pmfbot worker``): their leases can be taken at once instead of after ``LEASE``."""
    holders = set(session.scalars(select(DigestDelivery.claimed_by).distinct().where(
        DigestDelivery.claimed_by.like(f"{QUEUE_HOLDER}%"), DigestDelivery.status.in_(list(statuses)))))
    if not holders:
        return []
    live = {f"{QUEUE_HOLDER}{i}" for i in session.scalars(text(
        "SELECT id FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => :stale)"),
        {"stale": stale_seconds})}
    return sorted(str(h) for h in holders - live)


def claim_deliveries(session: Session, *, now: datetime, worker: str, limit: int, lease_until: datetime,
                     dead_holders: Sequence[str] = ()) -> list[int]:
    """Lease up to ``limit`` unfinished deliveries whose lease has run out (or whose holder is in
    ``dead_holders``), oldest due first; their ids, sorted."""
    d = aliased(DigestDelivery)
    free = or_(d.lease_until <= now, d.claimed_by.in_(list(dead_holders))) if dead_holders else d.lease_until <= now
    pick = (select(d.id).where(d.status.in_(OPEN_STATUSES), free)
            .order_by(d.due_at, d.id).limit(limit))
    if is_postgres(session):
        # Lock the picked rows first; concurrent claimers skip them instead of queueing. (A
        # ``WHERE id IN (… FOR UPDATE SKIP LOCKED LIMIT n)`` may be re-run per row by the
        # planner and claim far more than n rows.)
        ids = list(session.scalars(pick.with_for_update(skip_locked=True)))
        if not ids:
            return []
        target: Any = DigestDelivery.id.in_(ids)
    else:
        # SQLite runs one writer at a time: a single UPDATE picks and claims atomically.
        target = DigestDelivery.id.in_(pick.scalar_subquery())
    stmt = (update(DigestDelivery)
            .where(target, DigestDelivery.status.in_(OPEN_STATUSES),
                   or_(DigestDelivery.lease_until <= now, DigestDelivery.claimed_by.in_(list(dead_holders)))
                   if dead_holders else DigestDelivery.lease_until <= now)
            .values(claimed_by=worker, lease_until=lease_until)
            .returning(DigestDelivery.id)
            .execution_options(synchronize_session=False))
    return sorted(int(i) for (i,) in session.execute(stmt))


def _fenced(job_id: int, worker: str, statuses: Sequence[str] = OPEN_STATUSES) -> Any:
    """WHERE clause of every write a lease holder makes: still mine, still unfinished."""
    return (DigestDelivery.id == job_id, DigestDelivery.claimed_by == worker,
            DigestDelivery.status.in_(statuses))


def take_orphan_charts(session: Session, *, worker: str, dead_holders: Sequence[str], since: datetime) -> list[int]:
    """Sent digests whose chart outcome was never recorded because their sender died (its holder
    is in ``dead_holders``): now held by ``worker``, which uploads their charts. Each goes to one taker."""
    if not dead_holders:
        return []
    stmt = (update(DigestDelivery)
            .where(DigestDelivery.status == "sent", DigestDelivery.file_id.is_(None), DigestDelivery.error.is_(None),
                   DigestDelivery.claimed_by.in_(list(dead_holders)), DigestDelivery.sent_at >= since)
            .values(claimed_by=worker).returning(DigestDelivery.id).execution_options(synchronize_session=False))
    return sorted(int(i) for (i,) in session.execute(stmt))


def fenced_job(session: Session, *, delivery_id: int, worker: str,
               statuses: Sequence[str] = OPEN_STATUSES) -> Row[DigestDelivery, DigestSubscription, Product, str] | None:
    """(delivery, subscription, product, team_id) if ``worker`` still holds the delivery."""
    return session.execute(
        select(DigestDelivery, DigestSubscription, Product, Workspace.team_id)
        .join(DigestSubscription, DigestSubscription.id == DigestDelivery.subscription_id)
        .join(Product, Product.id == DigestSubscription.product_id)
        .join(Workspace, Workspace.id == DigestSubscription.workspace_id)
        .where(*_fenced(delivery_id, worker, statuses))
    ).first()


def update_fenced(session: Session, *, delivery_id: int, worker: str, values: dict[str, Any]) -> bool:
    """Write ``values`` on the delivery if ``worker`` still holds it; False when it does not."""
    res = session.execute(update(DigestDelivery).where(*_fenced(delivery_id, worker))
                          .values(**values)
                          .returning(DigestDelivery.id).execution_options(synchronize_session=False))
    return res.first() is not None


def begin_send(session: Session, *, delivery_id: int, worker: str, lease_until: datetime) -> bool:
    """Mark the held delivery ``sending`` with one more attempt and a new lease; False if not held."""
    return update_fenced(session, delivery_id=delivery_id, worker=worker,
                         values={"status": "sending", "attempts": DigestDelivery.attempts + 1,
                                 "lease_until": lease_until})


def mark_subscription_delivered(session: Session, *, subscription_id: int, now: datetime) -> None:
    """The subscription delivered at ``now``: its failure streak and error are cleared."""
    session.execute(update(DigestSubscription).where(DigestSubscription.id == subscription_id)
                    .values(last_delivered_at=now, consecutive_failures=0, last_error=None, last_error_at=None,
                            error_notified=False))


def set_delivery_values(session: Session, *, delivery_id: int, values: dict[str, Any]) -> None:
    """Write ``values`` on the delivery, unfenced (the chart's outcome)."""
    session.execute(update(DigestDelivery).where(DigestDelivery.id == delivery_id).values(**values)
                    .execution_options(synchronize_session=False))


def lock_subscription(session: Session, subscription_id: int) -> DigestSubscription | None:
    """The subscription row, ``FOR UPDATE`` on PostgreSQL."""
    return session.get(DigestSubscription, subscription_id, with_for_update=is_postgres(session))
