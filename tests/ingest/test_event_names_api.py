"""Event names from the HTTP ingest API and the Segment-compatible API reach activity_event_weeks
(SPEC §5 "Activity"): each distinct (user, week, name) once, blank names as unnamed activity,
and the names' user-week counts recounted, not added, when the same events arrive again."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.domain.weeks import week_of_date
from bot.ingest.payload import ingest_payload
from bot.ingest.segment import ingest_batch, parse_batch
from bot.products import service as product_service
from storage.models import ActivityEventWeek, ActivityWeek, EventName, ProductUser


def _named(factory, product_id: int) -> tuple[set[tuple[str, int, str]], dict[str, int], int]:  # type: ignore[no-untyped-def]
    with factory() as s:
        rows = s.execute(select(ProductUser.external_id, ActivityEventWeek.week, EventName.name)
                         .join(ProductUser, ProductUser.id == ActivityEventWeek.user_id)
                         .join(EventName, EventName.id == ActivityEventWeek.event_id)
                         .where(ActivityEventWeek.product_id == product_id)).all()
        counts = dict(s.execute(select(EventName.name, EventName.user_weeks)
                                .where(EventName.product_id == product_id)).all())
        weeks = len(s.execute(select(ActivityWeek.user_id, ActivityWeek.week)
                              .where(ActivityWeek.product_id == product_id)).all())
    return {(u, int(w), str(n)) for u, w, n in rows}, {str(k): int(v) for k, v in counts.items()}, weeks


def test_http_ingest_keeps_event_names(session_factory) -> None:  # type: ignore[no-untyped-def]
    product = product_service.create_product(session_factory, slug="acme", name="Acme")
    ws = product.workspace_id
    events = [{"user_id": "u1", "occurred_at": "2026-11-02T09:00:00Z", "event": "login"},
              {"user_id": "u1", "occurred_at": "2026-11-03T09:00:00Z", "event": "login"},
              {"user_id": "u1", "occurred_at": "2026-11-03T10:00:00Z", "event": "email_opened"},
              {"user_id": "u2", "occurred_at": "2026-11-10T09:00:00Z", "event": " "},
              {"user_id": "u2", "occurred_at": "2026-11-11T09:00:00Z"}]
    for _ in range(2):  # the second time changes nothing
        ingest_payload(session_factory, workspace_id=ws, payload={"product": "acme", "events": events})
        named, counts, weeks = _named(session_factory, product.id)
        w1 = week_of_date(datetime(2026, 11, 2).date())
        assert named == {("u1", w1, "login"), ("u1", w1, "email_opened")}
        assert counts == {"login": 1, "email_opened": 1}
        assert weeks == 2  # u2's unnamed week is activity all the same


def test_segment_track_names_and_page_calls(session_factory) -> None:  # type: ignore[no-untyped-def]
    product = product_service.create_product(session_factory, slug="acme", name="Acme")
    received = datetime(2026, 11, 20, tzinfo=UTC)
    body = {"batch": [
        {"type": "track", "event": "Email Opened", "userId": "u1", "messageId": "m1", "timestamp": "2026-11-03T09:00:00Z"},
        {"type": "track", "event": "Project Created", "userId": "u1", "messageId": "m2",
         "timestamp": "2026-11-10T09:00:00Z"},
        {"type": "page", "name": "Home", "userId": "u2", "messageId": "m3", "timestamp": "2026-11-10T09:00:00Z"},
    ]}
    ingest_batch(session_factory, product_id=product.id, batch=parse_batch(body, kind=None, received_at=received),
                 received_at=received)
    named, counts, _ = _named(session_factory, product.id)
    w1, w2 = week_of_date(datetime(2026, 11, 3).date()), week_of_date(datetime(2026, 11, 10).date())
    assert named == {("u1", w1, "Email Opened"), ("u1", w2, "Project Created"), ("u2", w2, "page")}
    assert counts == {"Email Opened": 1, "Project Created": 1, "page": 1}
