"""The queries behind the gate's history (``bot.history``): where a product's data begins, and
which of its weeks already have a stored snapshot, and whether the product's survey lessons
must follow the anonymous rules. The snapshots themselves are read and written
through ``storage.repositories.snapshots``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import ProductUser, Survey, SurveyResponse, WeeklySnapshot


def first_cohort_week(session: Session, product_id: int) -> int | None:
    """The earliest cohort week of the product's users (signup, else first activity), or None
    when it has no users: no week before it can have a report worth showing."""
    week = session.scalar(select(func.min(ProductUser.cohort_week)).where(ProductUser.product_id == product_id))
    return None if week is None else int(week)


def stored_weeks(session: Session, product_id: int, first: int, last: int) -> set[int]:
    """The weeks in ``first..last`` that already have a snapshot (the rest must be computed)."""
    rows = session.scalars(select(WeeklySnapshot.week).where(WeeklySnapshot.product_id == product_id,
                                                             WeeklySnapshot.week >= first,
                                                             WeeklySnapshot.week <= last))
    return {int(w) for w in rows}


def any_anonymous_answer(session: Session, product_id: int, since: datetime, until: datetime) -> bool:
    """Whether any answer in the window came from an anonymous Slack survey: then the product's
    lessons follow the anonymous rules (no quote from fewer than 5 people)."""
    hit = session.scalar(select(SurveyResponse.id).join(Survey, Survey.id == SurveyResponse.survey_id)
                         .where(SurveyResponse.product_id == product_id, SurveyResponse.answered_at >= since,
                                SurveyResponse.answered_at < until, Survey.anonymous.is_(True)).limit(1))
    return hit is not None
