"""The product's whole activity in a few grouped reads, for computing many as-of weeks at once
(``bot.history``): the cohort matrices of earlier as-of weeks are the same matrix cut shorter, so
one read of the activity grouped by (cohort week, week) serves every week, and so does one read
of the users grouped by cohort week (``storage.repositories.fingerprint.user_groups``). What each as-of week sees of them is cut in Python
(``bot.history.data``), and equals what ``storage.repositories.reports`` reads for that week."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, case, func, literal, select
from sqlalchemy.orm import Session

from storage.models import ActivityWeek


def activity_grid(session: Session, product_id: int, last_week: int) -> list[tuple[int, int, int]]:
    """(cohort week, week, active users) of every activity row up to ``last_week``, events before
    the cohort week included: one index-only scan of ``ix_activity_weeks_cohort``."""
    a = ActivityWeek
    rows = session.execute(select(a.cohort_week, a.week, func.count())
                           .where(a.product_id == product_id, a.week <= last_week)
                           .group_by(a.cohort_week, a.week)).all()
    return [(int(c), int(w), int(n)) for c, w, n in rows]


def pattern_groups(session: Session, product_id: int, last_week: int, offsets: Sequence[int],
                   ) -> list[tuple[int, int, int]]:
    """(cohort week, mask, users) of the users active at any of ``offsets`` (weeks after their
    cohort week, at most 62 of them) up to ``last_week``: bit i of a user's mask is set when they
    were active at ``offsets[i]``. The tail patterns of any as-of week up to ``last_week`` whose
    tail is among ``offsets`` are these masks cut to its offsets and weeks."""
    if not offsets:
        return []
    if len(offsets) > 62:
        raise ValueError("at most 62 offsets fit a mask")
    a = ActivityWeek
    k = a.week - a.cohort_week
    lo, hi = min(offsets), max(offsets)
    # A shift (bit k - lo) costs less than a CASE over the offsets (0.58 s against 0.69 s at 1M
    # users); the CASE is left for offsets spread wider than a mask.
    bit = (literal(1, BigInteger).op("<<")(k - lo) if hi - lo < 62 else
           case(*[(k == off, literal(1 << i)) for i, off in enumerate(offsets)], else_=literal(0)))
    per_user = (
        select(a.cohort_week.label("cw"), func.sum(bit).label("mask"))
        .where(a.product_id == product_id, a.cohort_week <= last_week - lo, a.week <= last_week,
               a.week >= a.cohort_week + lo, k.in_(list(offsets)))
        .group_by(a.cohort_week, a.user_id)
        .subquery()
    )
    rows = session.execute(select(per_user.c.cw, per_user.c.mask, func.count())
                           .group_by(per_user.c.cw, per_user.c.mask)).all()
    if hi - lo >= 62 or list(offsets) == list(range(lo, hi + 1)):
        return [(int(c), int(m), int(n)) for c, m, n in rows]
    # Offsets with gaps: bit (offset - lo) becomes bit i of offsets[i].
    groups: dict[tuple[int, int], int] = {}
    for c, m, n in rows:
        mask = sum(1 << i for i, off in enumerate(offsets) if int(m) >> (off - lo) & 1)
        groups[int(c), mask] = groups.get((int(c), mask), 0) + int(n)
    return [(c, m, n) for (c, m), n in groups.items()]


def week_mask_groups(session: Session, product_id: int, first_week: int, last_week: int) -> list[tuple[int, int, int]]:
    """(mask, cohort week, users) of the users active in ``first_week..last_week`` (at most 62
    weeks): bit i of a user's mask is set when they were active in week ``first_week + i``. The
    cohort week is clipped to ``first_week - 1 .. last_week`` (all that is asked of it is whether
    it comes before a week of the range). ``reports``' active-user tiers of any week W with
    W - 7 >= ``first_week`` are counted from these."""
    if not 0 < last_week - first_week + 1 <= 62:
        raise ValueError("1 to 62 weeks fit a mask")
    a = ActivityWeek
    bit = literal(1, BigInteger).op("<<")(a.week - first_week)
    per_user = (
        select(func.sum(bit).label("mask"), func.min(a.cohort_week).label("cw"))
        .where(a.product_id == product_id, a.week >= first_week, a.week <= last_week)
        .group_by(a.user_id)
        .subquery()
    )
    clipped = case((per_user.c.cw < first_week, first_week - 1), (per_user.c.cw > last_week, last_week),
                   else_=per_user.c.cw)
    rows = session.execute(select(per_user.c.mask, clipped, func.count()).group_by(per_user.c.mask, clipped)).all()
    return [(int(m), int(c), int(n)) for m, c, n in rows]
