"""Exactly-once processing of Slack Events API deliveries.

Slack redelivers an event that was not acked in 3 s (same ``event_id``). A listener calls
``claim_event`` inside the same transaction as its effect: the receipt row and the effect commit
together or not at all, so a retried delivery is a no-op and a failed one can be retried.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.models import SlackEventReceipt, utcnow


def claim_event(session: Session, team_id: str, event_id: str) -> bool:
    """True the first time (team, event) is seen in a committed transaction, False after."""
    # RETURNING rather than rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
    stmt = (
        dialect_insert(session, SlackEventReceipt)
        .values(team_id=team_id, event_id=event_id, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["team_id", "event_id"])
        .returning(SlackEventReceipt.event_id)
    )
    return session.execute(stmt).first() is not None
