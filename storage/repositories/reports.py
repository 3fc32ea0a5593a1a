"""The queries the gate report is computed from: cohort sizes and activity, the tail's activity
patterns, signups by week and channel class and survey responses (the data fingerprint the
report cache keys on: ``storage.repositories.fingerprint``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from bot.domain.types import SurveyResponse as DomainResponse
from bot.domain.types import TailPatterns, WeekChannels
from storage.models import ActivityWeek, ProductUser, SurveyResponse


# ----------------------------------------------------------------------------- cohorts
def cohort_sizes(session: Session, product_id: int, last_week: int) -> dict[int, int]:
    """Users per cohort week, cohorts up to ``last_week`` (an index-only count)."""
    cw = ProductUser.cohort_week
    rows = session.execute(
        select(cw, func.count()).where(ProductUser.product_id == product_id, cw.is_not(None), cw <= last_week)
        .group_by(cw)
    ).all()
    return {int(w): int(n) for w, n in rows if w is not None}


def cohort_activity(session: Session, product_id: int, last_week: int) -> list[tuple[int, int, int]]:
    """(cohort week, week offset, active users) for complete weeks, offsets >= 0.

    An index-only scan of ``ix_activity_weeks_cohort`` in its own order: no join, no sort."""
    a = ActivityWeek
    rows = session.execute(
        select(a.cohort_week, a.week, func.count())
        .where(a.product_id == product_id, a.cohort_week <= last_week, a.week <= last_week, a.week >= a.cohort_week)
        .group_by(a.cohort_week, a.week)
    ).all()
    return [(int(w), int(week) - int(w), int(n)) for w, week, n in rows]


def tail_patterns(session: Session, product_id: int, last_week: int, offsets: Sequence[int],
                  sizes: dict[int, int] | None = None) -> TailPatterns:
    """Per cohort, how many users had each activity pattern over the tail ``offsets``.

    One row per user is built inside the database (a bit mask summed over their active tail
    weeks), then grouped by (cohort, mask): Python sees at most cohorts × 2^len(offsets) rows.
    Only cohorts old enough to have reached the first tail offset are read. Users with no tail
    activity are the rest of their cohort (``sizes``, as ``cohort_sizes`` returns; read if not
    given)."""
    offsets = tuple(offsets)
    if not offsets:
        return TailPatterns(offsets=(), counts={})
    a = ActivityWeek
    k = a.week - a.cohort_week
    bit = case(*[(k == off, literal(1 << i)) for i, off in enumerate(offsets)], else_=literal(0))
    per_user = (
        select(a.cohort_week.label("cw"), func.sum(bit).label("mask"))
        .where(a.product_id == product_id, a.cohort_week <= last_week - min(offsets), a.week <= last_week,
               a.week >= a.cohort_week + min(offsets), k.in_(offsets))
        .group_by(a.cohort_week, a.user_id)
        .subquery()
    )
    rows = session.execute(
        select(per_user.c.cw, per_user.c.mask, func.count()).group_by(per_user.c.cw, per_user.c.mask)
    ).all()
    if sizes is None:
        sizes = cohort_sizes(session, product_id, last_week)
    counts: dict[int, dict[int, int]] = {w: {} for w in sizes}
    for w, mask, n in rows:
        counts.setdefault(int(w), {})[int(mask)] = int(n)
    for w, size in sizes.items():
        active_users = sum(counts[w].values())
        if size - active_users:
            counts[w][0] = counts[w].get(0, 0) + size - active_users
    return TailPatterns(offsets=offsets, counts=counts)


# ----------------------------------------------------------------------------- organic
def weekly_channels(session: Session, product_id: int, last_week: int) -> list[WeekChannels]:
    """Signups per week by channel class (no class counts as unknown).

    Grouped by the raw columns, in the order of the signup index, so SQLite streams the groups
    off the index (grouping by ``coalesce(class, 'unknown')`` made it sort them: 0.47 s instead
    of 0.12 s at 900k signups); the missing class is folded into "unknown" here."""
    u = ProductUser
    rows = session.execute(
        select(u.signup_week, u.channel_class, func.count())
        .where(u.product_id == product_id, u.signup_week.is_not(None), u.signup_week <= last_week)
        .group_by(u.signup_week, u.channel_class)
    ).all()
    by_week: dict[int, dict[str, int]] = {}
    for w, c, n in rows:
        if w is not None:  # excluded by the query; the check is for the type checker
            counts = by_week.setdefault(w, {})
            cls = "unknown" if c is None else str(c)
            counts[cls] = counts.get(cls, 0) + int(n)
    # The keys (ambiguous sources, referral, click ids) of the few signups that have one.
    keys: dict[int, dict[str, int]] = {}
    for w, key, n in session.execute(
        select(u.signup_week, u.channel_key, func.count())
        .where(u.product_id == product_id, u.signup_week.is_not(None), u.signup_week <= last_week,
               u.channel_key.is_not(None))
        .group_by(u.signup_week, u.channel_key)
    ).all():
        if w is not None and key is not None:
            keys.setdefault(int(w), {})[str(key)] = int(n)
    return [WeekChannels(week=w, organic=d.get("organic", 0), paid=d.get("paid", 0), unknown=d.get("unknown", 0),
                         direct=d.get("direct", 0), keys=tuple(sorted(keys.get(w, {}).items())))
            for w, d in sorted(by_week.items())]


# ----------------------------------------------------------------------------- survey
def survey_responses(session: Session, product_id: int, since: datetime | None = None,
                     until: datetime | None = None, survey_id: int | None = None) -> list[DomainResponse]:
    q = select(SurveyResponse.respondent_key, SurveyResponse.answered_at, SurveyResponse.answer,
               SurveyResponse.segment, SurveyResponse.main_benefit, SurveyResponse.improve
               ).where(SurveyResponse.product_id == product_id)
    if since is not None:
        q = q.where(SurveyResponse.answered_at >= since)
    if until is not None:
        q = q.where(SurveyResponse.answered_at < until)
    if survey_id is not None:
        q = q.where(SurveyResponse.survey_id == survey_id)
    return [
        DomainResponse(respondent=r, answered_at_day=at.date(), answer=a, segment=s, main_benefit=b,  # type: ignore[arg-type]
                       order=at.timestamp(), improve=imp)
        for r, at, a, s, b, imp in session.execute(q.order_by(SurveyResponse.answered_at, SurveyResponse.id))
    ]
