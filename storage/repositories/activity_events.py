"""Retention's reads under a non-default ``retention.active_events`` (SPEC §5 "Activity"), and the
product's event names with their counts.

They mirror ``reports.cohort_activity`` and ``reports.tail_patterns`` over
``activity_event_weeks`` filtered by event name, joined to ``product_users`` for the cohort
week (the per-event rows carry none). A user counts as active in a week when at least one of
their events that week counts; the cohort week itself (the signup's, or the first event's)
always counts (week 0 is 100%). The default rule never comes here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.domain.active_events import ActiveEvents, EventCount
from bot.domain.types import TailPatterns
from storage.models import ActivityEventWeek, EventName, ProductUser


def event_counts(session: Session, product_id: int) -> list[EventCount]:
    """Every event name the product's imports carried, with its active user-weeks, most first."""
    rows = session.execute(select(EventName.name, EventName.user_weeks).where(EventName.product_id == product_id)
                           .order_by(EventName.user_weeks.desc(), EventName.name)).all()
    return [EventCount(str(n), int(c or 0)) for n, c in rows]


def _counted(product_id: int, rule: ActiveEvents) -> ColumnElement[bool]:
    ids = select(EventName.id).where(EventName.product_id == product_id, EventName.name.in_(rule.names))
    e = ActivityEventWeek.event_id
    return e.in_(ids) if rule.mode == "include" else e.not_in(ids)


def counted_event_rows(product_id: int, rule: ActiveEvents, last_week: int | None = None) -> Select[Any]:
    """The week of each of the product's event-weeks (user, week, event) that ``rule`` counts, up
    to ``last_week`` (what a week's data fingerprint counts under a non-default rule)."""
    a, u = ActivityEventWeek, ProductUser
    q = (select(a.week.label("week")).select_from(u).join(a, a.user_id == u.id)
         .where(u.product_id == product_id, _counted(product_id, rule)))
    return q if last_week is None else q.where(a.week <= last_week)


def _user_weeks(product_id: int, rule: ActiveEvents, last_week: int, min_offset: int):  # type: ignore[no-untyped-def]
    """Distinct (user, cohort week, week) with a counted event, weeks cohort+min_offset..last_week."""
    a, u = ActivityEventWeek, ProductUser
    # From the product's users (its cohort-week index) to their rows by primary key: the table
    # has no second index, which would cost every imported row another B-tree insert.
    return (select(a.user_id.label("uid"), u.cohort_week.label("cw"), a.week.label("week"))
            .select_from(u).join(a, a.user_id == u.id)
            .where(u.product_id == product_id, u.cohort_week <= last_week - min_offset,
                   _counted(product_id, rule), a.week <= last_week, a.week >= u.cohort_week + min_offset)
            .distinct().subquery())


def cohort_activity(session: Session, product_id: int, last_week: int, rule: ActiveEvents,
                    sizes: dict[int, int]) -> list[tuple[int, int, int]]:
    """(cohort week, week offset, active users) as ``reports.cohort_activity`` gives them, counting
    only the events ``rule`` counts; offset 0 is the whole cohort."""
    uw = _user_weeks(product_id, rule, last_week, 1)
    rows = session.execute(select(uw.c.cw, uw.c.week, func.count()).group_by(uw.c.cw, uw.c.week)).all()
    out = [(int(w), 0, n) for w, n in sizes.items() if n]
    return out + [(int(w), int(week) - int(w), int(n)) for w, week, n in rows]


def tail_patterns(session: Session, product_id: int, last_week: int, offsets: Sequence[int],
                  sizes: dict[int, int], rule: ActiveEvents) -> TailPatterns:
    """``reports.tail_patterns`` counting only the events ``rule`` counts."""
    offsets = tuple(offsets)
    if not offsets:
        return TailPatterns(offsets=(), counts={})
    uw = _user_weeks(product_id, rule, last_week, min(offsets))
    k = uw.c.week - uw.c.cw
    bit = case(*[(k == off, literal(1 << i)) for i, off in enumerate(offsets)], else_=literal(0))
    per_user = (select(uw.c.cw.label("cw"), func.sum(bit).label("mask")).where(k.in_(offsets))
                .group_by(uw.c.cw, uw.c.uid).subquery())
    rows = session.execute(
        select(per_user.c.cw, per_user.c.mask, func.count()).group_by(per_user.c.cw, per_user.c.mask)).all()
    counts: dict[int, dict[int, int]] = {w: {} for w in sizes}
    for w, mask, n in rows:
        counts.setdefault(int(w), {})[int(mask)] = int(n)
    for w, size in sizes.items():
        rest = size - sum(counts[w].values())
        if rest:
            counts[w][0] = counts[w].get(0, 0) + rest
    return TailPatterns(offsets=offsets, counts=counts)
