"""The data fingerprint: row counts and high-water marks of everything a product's report is
computed from, which the report cache (all the data) and each stored week snapshot (the data for
its weeks) are keyed on. A different fingerprint means new or changed data.

This module is its one home: what goes into it and in what order. Two paths read it and both go
through ``fingerprint``: ``data_fingerprint`` straight from the tables, and ``bot.history.data``
cutting many weeks' from its grouped reads (``user_groups``, the activity grid,
``counted_event_weeks_by_week``), each combined by the aggregates' own ``combine``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, get_args

import numpy as np
from sqlalchemy import BigInteger, case, cast, func, select
from sqlalchemy.orm import Session

from bot.domain.active_events import ActiveEvents
from bot.domain.kinds import ChannelClass
from storage.models import ActivityWeek, EventName, ProductUser, SurveyResponse
from storage.repositories.activity_events import counted_event_rows


# How the figures of groups of rows combine, over a column of them (a list, None for "no rows",
# or a numpy array).
def _present(values: Sequence[int | None] | np.ndarray) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    return np.array([v for v in values if v is not None], dtype=np.int64)


def _total(values: Sequence[int | None] | np.ndarray) -> int:
    return int(_present(values).sum())


def _highest(values: Sequence[int | None] | np.ndarray) -> int | None:
    present = _present(values)
    return int(present.max()) if present.size else None


def _lowest(values: Sequence[int | None] | np.ndarray) -> int | None:
    present = _present(values)
    return int(present.min()) if present.size else None


class Aggregate(NamedTuple):
    """One figure of the fingerprint: its SQL aggregate over a set of rows, and how the figures
    of groups of those rows combine into the figure of their union (counts add up, ...)."""

    name: str
    sql: Any
    combine: Callable[[Sequence[int | None] | np.ndarray], int | None]


_u, _a = ProductUser, ActivityWeek
# The users whose cohort week is at most the week (all of them for the report cache).
USERS: tuple[Aggregate, ...] = (
    Aggregate("users", func.count(), _total),
    Aggregate("max_user_id", func.max(_u.id), _highest),
    Aggregate("signups", func.count(_u.signup_week), _total),
    Aggregate("min_first_week", func.min(_u.first_week), _lowest),
    Aggregate("max_first_week", func.max(_u.first_week), _highest),
    Aggregate("channel_classes", func.count(_u.channel_class), _total),
    Aggregate("email_hashes", func.count(_u.email_hash), _total),
    Aggregate("channel_keys", func.count(_u.channel_key), _total),
    # A signup whose channel moves to another class changes the report's organic share but none of
    # the counts above: the classes weighted 0, 1, 2^16, 2^32 (one sum costs half what a count per
    # class does; moves in opposite directions would have to balance exactly to go unseen).
    Aggregate("class_mix", cast(func.coalesce(func.sum(case(
        {c: 1 << 16 * (i - 1) if i else 0 for i, c in enumerate(get_args(ChannelClass))},
        value=_u.channel_class, else_=0)), 0), BigInteger), _total),
)
# The activity rows up to the week. A (cohort week, week) group of ``cohorts.activity_grid`` has
# these figures: (its count, its week).
ACTIVITY: tuple[Aggregate, ...] = (
    Aggregate("user_weeks", func.count(), _total),
    Aggregate("max_week", func.max(_a.week), _highest),
)
# The survey answers before the week's end: one small query on both paths.
ANSWERS: tuple[Any, ...] = (func.count(), func.max(SurveyResponse.id), func.max(SurveyResponse.updated_at),
                            func.count(SurveyResponse.email_hash))
# Where the users' count and the answers' count sit in a fingerprint.
_USERS_AT, _ANSWERS_AT = 0, len(USERS) + len(ACTIVITY)


class Fingerprint(tuple[object, ...]):
    """The figures in order: USERS, ACTIVITY, the ANSWERS, then the event names' (see
    ``fingerprint``). A plain tuple to hash, compare and store; read the parts by name."""

    @property
    def users(self) -> int:
        return int(self[_USERS_AT])  # type: ignore[call-overload]

    @property
    def answers(self) -> int:
        return int(self[_ANSWERS_AT])  # type: ignore[call-overload]


def fingerprint(users: Sequence[object], activity: Sequence[object], answers: Sequence[object],
                events: Sequence[object] = ()) -> Fingerprint:
    """The fingerprint of these figures (``events``: only under a non-default
    ``retention.active_events``, or the event names of the whole product)."""
    assert len(users) == len(USERS) and len(activity) == len(ACTIVITY) and len(answers) == len(ANSWERS)
    return Fingerprint((*users, *activity, *answers, *events))


def combine(aggregates: Sequence[Aggregate], groups: Iterable[Sequence[int | None]] | None = None, *,
            columns: Sequence[Sequence[int | None] | np.ndarray] | None = None) -> tuple[int | None, ...]:
    """The figures of the union of ``groups`` (each a tuple of ``aggregates``' figures), or of the
    groups given as ``columns`` (one per aggregate)."""
    if columns is None:
        columns = list(zip(*(groups or ()), strict=True)) or [()] * len(aggregates)
    return tuple(a.combine(col) for a, col in zip(aggregates, columns, strict=True))


def counts_events(rule: ActiveEvents | None) -> bool:
    """Whether a week's fingerprint carries its counted event-weeks: only under a non-default rule
    (the default path reads nothing more)."""
    return rule is not None and not rule.is_default


# ----------------------------------------------------------------------------- straight from the tables
def data_fingerprint(session: Session, product_id: int, *, last_week: int | None = None,
                     until: datetime | None = None, rule: ActiveEvents | None = None) -> Fingerprint:
    """The fingerprint of what a product's report reads: it changes whenever an import or a survey
    adds or changes any of it.

    ``last_week``/``until`` narrow it to what a report as of an earlier date reads (users whose
    cohort week is at most ``last_week``, activity up to that week, answers before ``until``), so
    a stored week's snapshot goes stale when data for its weeks changes, not on every import.
    Under a non-default ``rule`` it also counts the event-weeks the rule counts up to that week.
    The whole product's fingerprint (no ``last_week``) counts its event names instead."""
    user_filter = [ProductUser.product_id == product_id]
    activity_filter = [ActivityWeek.product_id == product_id]
    if last_week is not None:
        user_filter.append(ProductUser.cohort_week <= last_week)
        activity_filter.append(ActivityWeek.week <= last_week)
    users = session.execute(select(*(a.sql for a in USERS)).where(*user_filter)).one()
    activity = session.execute(select(*(a.sql for a in ACTIVITY)).select_from(ActivityWeek)
                               .where(*activity_filter)).one()
    answers = answers_fingerprint(session, product_id, until=until)
    events: tuple[object, ...] = ()
    if last_week is None:
        # Event names (retention.active_events): an import may add named rows without new user-weeks.
        events = tuple(session.execute(select(func.count(), func.sum(EventName.user_weeks))
                                       .where(EventName.product_id == product_id)).one())
    elif rule is not None and counts_events(rule):
        rows = counted_event_rows(product_id, rule, last_week).subquery()
        events = (int(session.execute(select(func.count()).select_from(rows)).scalar_one()),)
    return fingerprint(tuple(users), tuple(activity), answers, events)


def answers_fingerprint(session: Session, product_id: int, *, until: datetime | None = None) -> tuple[object, ...]:
    """The survey answers' figures: answers before ``until``."""
    answer_filter = [SurveyResponse.product_id == product_id]
    if until is not None:
        answer_filter.append(SurveyResponse.answered_at < until)
    return tuple(session.execute(select(*ANSWERS).where(*answer_filter)).one())


# ----------------------------------------------------------------------------- grouped reads
class UserGroup(NamedTuple):
    """The users of one cohort week (None: no week known) and their ``USERS`` figures."""

    cohort_week: int | None
    figures: tuple[int | None, ...]


def user_groups(session: Session, product_id: int) -> list[UserGroup]:
    """The product's users grouped by cohort week, with their ``USERS`` figures: the users' part
    of any week's fingerprint is ``combine(USERS, ...)`` of the groups up to that week."""
    rows = session.execute(select(ProductUser.cohort_week, *(a.sql for a in USERS))
                           .where(ProductUser.product_id == product_id).group_by(ProductUser.cohort_week)).all()
    return [UserGroup(None if r[0] is None else int(r[0]), tuple(None if v is None else int(v) for v in r[1:]))
            for r in rows]


def counted_event_weeks_by_week(session: Session, product_id: int, rule: ActiveEvents) -> Mapping[int, int]:
    """Week -> the event-weeks ``rule`` counts in it (a week's fingerprint carries their total up
    to it)."""
    rows = counted_event_rows(product_id, rule).subquery()
    return {int(w): int(n) for w, n in session.execute(select(rows.c.week, func.count()).group_by(rows.c.week))}
