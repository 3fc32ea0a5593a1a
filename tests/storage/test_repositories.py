"""Repository queries on hand-made rows, where the import cannot produce the case."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.types import WeekChannels
from bot.products import service as product_service
from storage.models import ActivityWeek, ProductUser
from storage.repositories.cohorts import pattern_groups
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


def _activity(session_factory: sessionmaker[Session], weeks_by_user: dict[int, tuple[int, set[int]]]) -> int:
    """A product whose user i has cohort week ``weeks_by_user[i][0]`` and is active in the weeks
    ``weeks_by_user[i][1]``."""
    pid = product_service.create_product(session_factory, slug="acme").id
    with session_factory() as s:
        s.execute(insert(ProductUser), [
            {"product_id": pid, "external_id": f"u{i}", "signup_week": cw, "first_week": cw, "cohort_week": cw}
            for i, (cw, _) in weeks_by_user.items()])
        ids = dict(s.execute(select(ProductUser.external_id, ProductUser.id).where(ProductUser.product_id == pid)).all())
        s.execute(insert(ActivityWeek), [
            {"user_id": ids[f"u{i}"], "product_id": pid, "week": w, "cohort_week": cw}
            for i, (cw, weeks) in weeks_by_user.items() for w in weeks])
        s.commit()
    return pid


@pytest.mark.parametrize("offsets", [(3, 4, 5, 6), (2, 5, 9), (9, 2, 5), (1, 70)],
                         ids=["contiguous", "gaps", "unsorted", "wider-than-a-mask"])
def test_pattern_groups_equal_each_users_mask_counted_by_hand(session_factory: sessionmaker[Session],
                                                              offsets: tuple[int, ...]) -> None:
    rng = random.Random(7)
    users = {i: (100 + rng.randrange(12), {100 + rng.randrange(90) for _ in range(rng.randrange(1, 40))})
             for i in range(300)}
    last = 180
    pid = _activity(session_factory, users)
    expected: dict[tuple[int, int], int] = {}
    for cw, weeks in users.values():
        if cw > last - min(offsets):
            continue
        mask = sum(1 << i for i, off in enumerate(offsets) if cw + off in weeks and cw + off <= last)
        if mask:
            expected[cw, mask] = expected.get((cw, mask), 0) + 1
    with session_factory() as s:
        got = pattern_groups(s, pid, last, offsets)
    assert {(c, m): n for c, m, n in got} == expected
    assert len(got) == len(expected)
