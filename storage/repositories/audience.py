"""Who could have answered a survey, as the report weights it (SPEC §5 "Who answered"): which
respondents match a product user (imported answers by ``respondent_id`` = user id, named Slack
answers by the keyed hash of their email), how active those users are, how many active users
there are by weeks active, and how many people the Slack surveys reached."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from storage.models import ActivityWeek, ProductUser, Survey, SurveyResponse

_IN_CHUNK = 5_000  # ids per IN list (well under every engine's parameter limit)


def _window(product_id: int, since: datetime, until: datetime) -> ColumnElement[bool]:
    r = SurveyResponse
    return and_(r.product_id == product_id, r.answered_at >= since, r.answered_at < until)


def matched_respondents(session: Session, product_id: int, since: datetime, until: datetime) -> dict[str, int]:
    """Respondent key → product user id, for the answers in [since, until) that match a user.
    An id match wins over an email match; of several users sharing an email hash the oldest."""
    r, u = SurveyResponse, ProductUser
    where = _window(product_id, since, until)
    by_id = (select(r.respondent_key, u.id)
             .join(u, and_(u.product_id == r.product_id, u.external_id == r.respondent_key))
             .where(where, r.source == "import"))
    by_email = (select(r.respondent_key, u.id)
                .join(u, and_(u.product_id == r.product_id, u.email_hash == r.email_hash))
                .where(where, r.source == "slack", r.email_hash.is_not(None))
                .order_by(u.id.desc()))
    out: dict[str, int] = {}
    for key, uid in session.execute(by_email):
        out[key] = int(uid)  # descending ids: the oldest user is written last and wins
    for key, uid in session.execute(by_id):
        out[key] = int(uid)
    return out


class UserActivity(NamedTuple):
    """A user's activity as of a week (``user_activity``); the defaults: a user with none."""

    weeks_active: int = 0  # up to the week
    weeks_active_of_last_8: int = 0  # of the 8 ending with it
    recent: bool = False  # active in either of the last two


def user_activity(session: Session, product_id: int, user_ids: Collection[int],
                  last_week: int) -> dict[int, UserActivity]:
    """Per user, their activity as of ``last_week``. Users with no activity are absent."""
    a = ActivityWeek
    out: dict[int, UserActivity] = {}
    ids = sorted(user_ids)
    for i in range(0, len(ids), _IN_CHUNK):
        rows = session.execute(
            select(a.user_id, func.count(), func.sum(case((a.week >= last_week - 7, 1), else_=0)),
                   func.max(a.week))
            .where(a.product_id == product_id, a.user_id.in_(ids[i:i + _IN_CHUNK]), a.week <= last_week)
            .group_by(a.user_id)
        ).all()
        for uid, total, last8, latest in rows:
            out[int(uid)] = UserActivity(int(total), int(last8 or 0), int(latest) >= last_week - 1)
    return out


def active_users_by_weeks(session: Session, product_id: int, last_week: int) -> dict[int, int]:
    """Active users (Ellis: active in at least 2 weeks, one of them within the last two
    complete weeks) counted by how many of the 8 weeks ending with ``last_week`` they were
    active in. Reads those 8 weeks only: a user's cohort week is always one of their active
    weeks (a signup counts as activity), so a cohort week before the 8 is the second week of a
    user seen only once in them."""
    a = ActivityWeek
    n8 = func.count()
    per_user = (
        select(n8.label("n8"))
        .where(a.product_id == product_id, a.week >= last_week - 7, a.week <= last_week)
        .group_by(a.user_id)
        .having(func.max(a.week) >= last_week - 1, or_(n8 >= 2, func.min(a.cohort_week) < last_week - 7))
        .subquery()
    )
    rows = session.execute(select(per_user.c.n8, func.count()).group_by(per_user.c.n8)).all()
    return {int(k): int(n) for k, n in rows}


def channel_members(session: Session, product_id: int, since: datetime, until: datetime) -> int | None:
    """People the Slack surveys with answers in [since, until) could reach: the member count of
    each channel at its latest such survey, summed; None when no such survey, one unknown, or
    fewer members than Slack respondents."""
    answered = select(SurveyResponse.survey_id).where(_window(product_id, since, until),
                                                      SurveyResponse.survey_id.is_not(None))
    rows = session.execute(
        select(Survey.channel_id, Survey.channel_members)
        .where(Survey.product_id == product_id, Survey.id.in_(answered))
        .order_by(Survey.opened_at, Survey.id)
    ).all()
    latest: dict[str, int | None] = {}
    for channel, members in rows:
        latest[channel] = members
    if not latest or any(m is None for m in latest.values()):
        return None
    members = sum(m for m in latest.values() if m is not None)
    # More people answered than the channels held (they joined after the post, or answered
    # another survey): the member count is no base for a rate.
    answered_by = session.scalar(select(func.count(func.distinct(SurveyResponse.respondent_key)))
                                 .where(_window(product_id, since, until), SurveyResponse.source == "slack"))
    return members if int(answered_by or 0) <= members else None


def imported_respondents(session: Session, product_id: int, since: datetime, until: datetime) -> set[str]:
    """Respondent keys of the imported answers in [since, until)."""
    return set(session.scalars(select(SurveyResponse.respondent_key).distinct()
                               .where(_window(product_id, since, until), SurveyResponse.source == "import")))


def user_by_email_hash(session: Session, product_id: int, hashed: str) -> int | None:
    """The product user with this email hash (of several, the oldest, as ``matched_respondents``)."""
    u = ProductUser
    uid = session.scalar(select(func.min(u.id)).where(u.product_id == product_id, u.email_hash == hashed))
    return None if uid is None else int(uid)


class AnswerTier(NamedTuple):
    """What an anonymous Slack answer kept of its respondent (matched when given)."""

    tier: str | None
    active: bool


def anonymous_tiers(session: Session, product_id: int, since: datetime,
                    until: datetime) -> dict[str, AnswerTier]:
    """Respondent key → the tier kept by each anonymous Slack answer in [since, until) matched at
    answer time (SPEC §5 "Who answered"); unmatched ones are absent."""
    r = SurveyResponse
    rows = session.execute(select(r.respondent_key, r.respondent_tier, r.respondent_active)
                           .where(_window(product_id, since, until), r.source == "slack",
                                  r.respondent_active.is_not(None))).all()
    return {key: AnswerTier(tier, bool(active)) for key, tier, active in rows}
