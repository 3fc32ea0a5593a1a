"""Closing a survey and computing its results: the distribution, the score with its interval, the
gate's survey status, segments and the lessons; which closed surveys still lack a results post."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.domain import survey as domain
from bot.domain.lessons import survey_lessons
from bot.domain.types import SurveyResponse as DomainResponse
from bot.domain.types import SurveySignal
from bot.reports import service as services
from bot.surveys.service import Factory, _info
from bot.surveys.values import (
    MIN_GROUP,
    SegmentRow,
    SurveyResults,
)
from storage.db import unit_of_work
from storage.models import Product, Survey, Workspace
from storage.repositories import surveys as survey_repo
from storage.repositories.products import ProductRef, product_ref
from storage.repositories.reports import survey_responses

# ----------------------------------------------------------------------------- close and results


def _domain_responses(session: Session, survey_id: int, product_id: int) -> list[DomainResponse]:
    return survey_responses(session, product_id, survey_id=survey_id)


def _gate_signal(session: Session, product: ProductRef, as_of: date) -> SurveySignal:
    # Exactly what services.compute_report feeds the gate (the same use case, audience and all),
    # without computing the retention and organic signals the results post does not show.
    return services.gate_survey(session, product, as_of)


def compute_results(session: Session, survey: Survey, now: datetime) -> SurveyResults:
    """The results of one survey (in the caller's session): its own score, the product's gate
    signal, segments and the lessons (who loves it most, what they love, what holds others back),
    with anonymous breakdowns under 5 people hidden."""
    product_row = session.get(Product, survey.product_id)
    ws = session.get(Workspace, survey.workspace_id)
    assert product_row is not None and ws is not None
    product = product_ref(product_row, ws.team_id)
    settings = product.settings.survey
    responses = _domain_responses(session, survey.id, survey.product_id)
    end = survey.closed_at or now
    as_of = end.date()
    # The survey's own score counts every answer it accepted (one per respondent), however long
    # it ran: the window is stretched over all of them.
    days = [r.answered_at_day for r in responses] or [as_of]
    own_as_of = max(as_of, *days)
    own = dataclasses.replace(settings, window_days=max(settings.window_days, (own_as_of - min(days)).days + 1))
    counted = domain.latest_per_respondent(responses, own_as_of, own.window_days)
    # Weighted by who answered, as the gate is, so the post and the gate explain the same way.
    first = datetime.combine(min(days), datetime.min.time(), tzinfo=UTC)
    audience = services.survey_audience(session, product, own_as_of, first,
                                        datetime.combine(own_as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC))
    signal = domain.survey_signal(counted, own_as_of, own, audience=audience)
    gate = _gate_signal(session, product, services.today_in(product.settings.timezone, end))

    people = Counter((r.segment or "").strip() or "unspecified" for r in counted)
    rows = [SegmentRow(sc, people[sc.segment]) for sc in domain.segment_scores(counted, min_n=MIN_GROUP)]
    hidden_segments = hidden_people = 0
    if survey.anonymous:
        shown = [r for r in rows if r.respondents >= MIN_GROUP]
        hidden_segments = len(rows) - len(shown)
        hidden_people = sum(r.respondents for r in rows if r.respondents < MIN_GROUP)
        rows = shown
    # The lessons apply their own thresholds: no claim from fewer than 5 answers, and in an
    # anonymous survey no quote unless 5 people contributed to its list.
    lessons = survey_lessons(counted, anonymous=survey.anonymous)
    return SurveyResults(
        survey=_info(session, survey, count=len(counted)), as_of=as_of, counts=signal.counts, signal=signal, gate=gate,
        settings=settings, segments=tuple(rows), hidden_segments=hidden_segments, hidden_respondents=hidden_people,
        lessons=lessons,
    )


def close_survey(factory: Factory, *, survey_id: int, now: datetime) -> SurveyResults | None:
    """Close a survey and compute its results; None when it was already closed (by another
    command or the scheduler). The close and the results are one transaction."""
    with unit_of_work(factory) as s:
        # PostgreSQL: FOR UPDATE waits for answers in flight (they hold FOR SHARE) and blocks new
        # ones until we commit. Both engines: the conditional UPDATE lets exactly one closer win,
        # and on SQLite it takes the write lock before we read the answers.
        survey = survey_repo.lock_survey_for_close(s, survey_id)
        if survey is None or survey.closed_at is not None:
            return None
        # The deadline, when the scheduler runs late: answers after it were refused anyway.
        closed_at = min(now, survey.closes_at)
        if not survey_repo.mark_closed(s, survey_id=survey_id, closed_at=closed_at):
            return None
        s.refresh(survey)
        results = compute_results(s, survey, now)
        survey.response_count = results.respondents
        survey.count_shown = results.respondents
        return results


def results_for(factory: Factory, *, survey_id: int, now: datetime) -> SurveyResults | None:
    """The results of a closed survey, recomputed (to retry a post that did not go through)."""
    with unit_of_work(factory) as s:
        survey = s.get(Survey, survey_id)
        if survey is None or survey.closed_at is None:
            return None
        return compute_results(s, survey, now)


def set_results_ts(factory: Factory, *, survey_id: int, ts: str) -> None:
    with unit_of_work(factory) as s:
        survey_repo.set_results_ts(s, survey_id=survey_id, ts=ts)


def due_surveys(factory: Factory, *, now: datetime) -> list[int]:
    """Open surveys whose deadline has passed."""
    with unit_of_work(factory) as s:
        return survey_repo.due_survey_ids(s, now=now)


def unposted_results(factory: Factory, *, now: datetime, grace: timedelta, horizon: timedelta) -> list[int]:
    """Closed surveys whose results were never posted (a crash or a Slack outage after the
    close): closed more than ``grace`` ago, so an in-flight close is left alone, and less than
    ``horizon`` ago, so a survey whose channel is gone is not retried forever."""
    with unit_of_work(factory) as s:
        return survey_repo.unposted_results_ids(s, now=now, grace=grace, horizon=horizon)


