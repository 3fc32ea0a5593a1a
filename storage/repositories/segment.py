"""SQL of the Segment-compatible API: message ids already taken, and the signups it builds on.

Every function works in the caller's transaction and never commits (``bot.ingest.segment`` decides).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from itertools import islice
from typing import NamedTuple, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import ProductUser, SegmentMessage

_CHUNK = 500  # keys per statement: well under SQLite's bound-parameter limit


class StoredSignup(NamedTuple):
    """A known user's signup channel as stored (``storage.staging.SignupRow``'s channel fields);
    all None for a user known without a signup."""

    channel: str | None = None
    channel_class: str | None = None
    channel_key: str | None = None


def _chunks(values: Collection[str]) -> list[list[str]]:
    it = iter(sorted(values))  # sorted: concurrent batches take the same keys in the same order (no deadlock)
    out = []
    while chunk := list(islice(it, _CHUNK)):
        out.append(chunk)
    return out


def claim_message_ids(session: Session, product_id: int, message_ids: Collection[str],
                      received_at: datetime) -> set[str]:
    """Record ``message_ids`` for the product; returns those that were new. An id taken by a
    concurrent transaction waits for it (the primary key) and then counts as not new."""
    if not message_ids:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, SegmentMessage.__table__)  # Core, not the ORM's bulk path: one INSERT ... RETURNING
    conn = session.connection()
    taken: set[str] = set()
    for chunk in _chunks(message_ids):
        stmt = (insert(table)
                .values([{"product_id": product_id, "message_id": m, "received_at": received_at} for m in chunk])
                .on_conflict_do_nothing()
                .returning(table.c.message_id))
        taken.update(conn.execute(stmt).scalars())
    return taken


def forget_message_ids(session: Session, product_id: int, before: datetime) -> int:
    """Drop the product's message ids received before ``before``; how many."""
    result = session.execute(delete(SegmentMessage).where(SegmentMessage.product_id == product_id,
                                                           SegmentMessage.received_at < before))
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def existing_signups(session: Session, product_id: int, user_ids: Collection[str]) -> dict[str, StoredSignup]:
    """The product's users among ``user_ids``, with their signup's channel (all None for a user
    known without a signup)."""
    out: dict[str, StoredSignup] = {}
    for chunk in _chunks(user_ids):
        rows = session.execute(
            select(ProductUser.external_id, ProductUser.signup_week, ProductUser.channel, ProductUser.channel_class,
                   ProductUser.channel_key)
            .where(ProductUser.product_id == product_id, ProductUser.external_id.in_(chunk)))
        for uid, week, channel, cls, key in rows:
            out[uid] = StoredSignup(channel, cls, key) if week is not None else StoredSignup()
    return out
