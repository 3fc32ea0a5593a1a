"""Helpers for the ingestion tests: product settings, CSV writing, table snapshots."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from storage.db import Factory
from storage.models import Product, ProductUser


def set_timezone(factory: Factory, slug: str, tz: str) -> None:
    with factory() as s:
        p = s.scalars(select(Product).where(Product.slug == slug)).one()
        p.settings = {**(p.settings or {}), "timezone": tz}
        s.commit()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


_TABLES = {
    "product_users": "product_id, external_id, signup_week, signed_up_at, channel, channel_class, first_week",
    "activity_weeks": "u.external_id, a.week",
    "survey_responses": "product_id, dedupe_key, respondent_key, source, answered_at, answer, segment, "
                        "who_benefits, main_benefit, improve, updated_at",
}


def snapshot(factory: Factory) -> dict[str, list[tuple[Any, ...]]]:
    """Every imported row, in a stable order: equal snapshots mean nothing changed."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with factory() as s:
        out["product_users"] = [tuple(r) for r in s.execute(text(
            f"SELECT {_TABLES['product_users']} FROM product_users ORDER BY product_id, external_id"))]
        out["activity_weeks"] = [tuple(r) for r in s.execute(text(
            f"SELECT {_TABLES['activity_weeks']} FROM activity_weeks a JOIN product_users u ON u.id = a.user_id "
            "ORDER BY u.external_id, a.week"))]
        out["survey_responses"] = [tuple(r) for r in s.execute(text(
            f"SELECT {_TABLES['survey_responses']} FROM survey_responses ORDER BY product_id, dedupe_key"))]
    return out


def users(factory: Factory, slug: str | None = None) -> dict[str, dict[str, Any]]:
    with factory() as s:
        q = select(ProductUser)
        if slug is not None:
            q = q.join(Product, Product.id == ProductUser.product_id).where(Product.slug == slug)
        return {u.external_id: {"signup_week": u.signup_week, "channel": u.channel, "channel_class": u.channel_class,
                                "channel_key": u.channel_key,
                                "first_week": u.first_week, "signed_up_at": u.signed_up_at}
                for u in s.scalars(q)}


def activity(factory: Factory, slug: str | None = None) -> set[tuple[str, int]]:
    with factory() as s:
        rows = s.execute(text(
            "SELECT u.external_id, a.week, p.slug FROM activity_weeks a JOIN product_users u ON u.id = a.user_id "
            "JOIN products p ON p.id = u.product_id"))
        return {(u, int(w)) for u, w, p in rows if slug is None or p == slug}
