"""Helpers for the Segment-compatible API tests: the write key's auth header and what was stored."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.models import ActivityWeek, Product, ProductUser, SegmentMessage

Factory = sessionmaker[Session]


@dataclass(frozen=True)
class Tracked:
    slug: str
    write_key: str

    def basic(self, key: str | None = None) -> dict[str, str]:
        """Segment's auth: HTTP Basic, the write key as user name, an empty password."""
        raw = f"{self.write_key if key is None else key}:".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def stored(factory: Factory) -> dict[str, Any]:
    """Everything the API can write, for "nothing was written" checks."""
    with factory() as s:
        return {
            "users": s.scalar(select(func.count()).select_from(ProductUser)),
            "weeks": s.scalar(select(func.count()).select_from(ActivityWeek)),
            "messages": s.scalar(select(func.count()).select_from(SegmentMessage)),
        }


def user_rows(factory: Factory) -> dict[str, dict[str, Any]]:
    with factory() as s:
        return {u.external_id: {"signup_week": u.signup_week, "signed_up_at": u.signed_up_at, "channel": u.channel,
                                "channel_class": u.channel_class, "cohort_week": u.cohort_week}
                for u in s.scalars(select(ProductUser))}


def active_weeks(factory: Factory) -> set[tuple[str, int]]:
    with factory() as s:
        rows = s.execute(text("SELECT u.external_id, a.week FROM activity_weeks a "
                              "JOIN product_users u ON u.id = a.user_id"))
        return {(str(u), int(w)) for u, w in rows}


def set_timezone(factory: Factory, slug: str, tz: str) -> None:
    with factory() as s:
        p = s.scalars(select(Product).where(Product.slug == slug)).one()
        p.settings = {**(p.settings or {}), "timezone": tz}
        s.commit()
