"""Repository queries on hand-made rows, where the import cannot produce the case."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.types import WeekChannels
from bot.products import service as product_service
from storage.models import ProductUser
from storage.repositories.reports import weekly_channels


def test_weekly_channels_counts_a_missing_class_as_unknown(session_factory: sessionmaker[Session]) -> None:
    pid = product_service.create_product(session_factory, slug="acme").id
    # Week 10: 2 organic, 1 paid, 1 "unknown" and 2 with no class at all; week 11: 1 organic;
    # week 12 is after the last week asked for; a user without a signup is not a signup.
    classes = [(10, "organic"), (10, "organic"), (10, "paid"), (10, "unknown"), (10, None), (10, None),
               (11, "organic"), (12, "paid"), (None, None)]
    with session_factory() as s:
        s.execute(insert(ProductUser), [
            {"product_id": pid, "external_id": f"u{i}", "signup_week": w, "first_week": w if w else 10,
             "cohort_week": w if w else 10, "channel_class": c} for i, (w, c) in enumerate(classes)])
        s.commit()
        got = weekly_channels(s, pid, 11)
    assert got == [WeekChannels(week=10, organic=2, paid=1, unknown=3), WeekChannels(week=11, organic=1, paid=0, unknown=0)]


def test_weekly_channels_carries_the_channel_keys(session_factory: sessionmaker[Session]) -> None:
    pid = product_service.create_product(session_factory, slug="acme").id
    rows = [(10, "unknown", "partner"), (10, "unknown", "partner"), (10, "organic", "referral"),
            (10, "paid", "click:gclid"), (10, "organic", None), (11, "unknown", "podcast"), (12, "unknown", "partner")]
    with session_factory() as s:
        s.execute(insert(ProductUser), [
            {"product_id": pid, "external_id": f"u{i}", "signup_week": w, "first_week": w, "cohort_week": w,
             "channel_class": c, "channel_key": k} for i, (w, c, k) in enumerate(rows)])
        s.commit()
        got = weekly_channels(s, pid, 11)
    assert got == [
        WeekChannels(week=10, organic=2, paid=1, unknown=2,
                     keys=(("click:gclid", 1), ("partner", 2), ("referral", 1))),
        WeekChannels(week=11, organic=0, paid=0, unknown=1, keys=(("podcast", 1),)),
    ]
