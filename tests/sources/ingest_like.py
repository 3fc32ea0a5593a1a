"""Small readers of the bot's database for the SQL source tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Product

Factory = sessionmaker[Session]


def set_timezone(factory: Factory, slug: str, tz: str) -> None:
    with factory() as s:
        p = s.scalars(select(Product).where(Product.slug == slug)).one()
        p.settings = {**(p.settings or {}), "timezone": tz}
        s.commit()


def activity(factory: Factory) -> set[tuple[str, int]]:
    with factory() as s:
        return {(u, w) for u, w in s.execute(text(
            "SELECT u.external_id, a.week FROM activity_weeks a JOIN product_users u ON u.id = a.user_id"))}


def counts(factory: Factory) -> tuple[Any, ...]:
    with factory() as s:
        return tuple(int(s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                     for t in ("product_users", "activity_weeks"))
