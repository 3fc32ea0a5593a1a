"""Answers as use cases: a button click or a thread reply records (or replaces) a respondent's
answer, other replies are kept as comments, follow-ups are saved; anonymous surveys store only a
keyed hash of the respondent. No Slack imports here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain import survey as domain
from bot.domain.matching import email_hash
from bot.domain.settings import ProductSettings
from bot.domain.types import Answer
from bot.domain.weeks import last_complete_week
from bot.reports.service import active_tier, today_in
from bot.surveys.service import (
    MAX_SEGMENT,
    Factory,
    _clean,
    _comment_key,
    _dedupe_key,
    _info,
    _is_closed,
    respondent_key,
    slack_ts_to_datetime,
)
from bot.surveys.values import (
    AnswerOutcome,
    FollowUp,
    FollowUpStatus,
    ReplyOutcome,
    SurveyInfo,
)
from storage.db import unit_of_work
from storage.models import Product, Survey, SurveyResponse
from storage.receipts import claim_event
from storage.repositories import audience as audience_repo
from storage.repositories import surveys as survey_repo

# ----------------------------------------------------------------------------- answers


def _lock_survey(session: Session, survey_id: int, team_id: str | None = None) -> Survey | None:
    # Only a survey of the requesting workspace (``team_id``; None: a trusted caller such as the
    # CLI), under FOR SHARE: many answers proceed together, but a close (FOR UPDATE) waits for
    # them and they wait for it, so the results contain exactly the answers accepted before it.
    return survey_repo.lock_survey(session, survey_id, team_id)


def _upsert_answer(session: Session, survey: Survey, key: str, answer: Answer, answered_at: datetime,
                   now: datetime) -> bool:
    """Insert or replace the respondent's answer; False when a same-or-newer answer is already
    stored (a duplicate delivery, or an older click that arrived late)."""
    return survey_repo.upsert_answer(session, survey=survey, dedupe_key=_dedupe_key(survey.id, key),
                                     respondent_key=key, answer=answer, answered_at=answered_at, now=now)


def _still_open(session: Session, survey: Survey, now: datetime) -> bool:
    # Read after our own write: on SQLite we now hold the database's write lock, on PostgreSQL
    # the share lock, so a close cannot slip in between this check and our commit.
    session.refresh(survey, ["closed_at"])
    return not _is_closed(survey, now)


class _Rollback(Exception):
    """Undo the transaction (a late answer) and report ``outcome`` instead."""

    def __init__(self, outcome: AnswerOutcome | ReplyOutcome) -> None:
        self.outcome = outcome


def record_answer(
    factory: Factory, *, survey_id: int, channel_id: str | None, user_id: str, answer: Answer,
    answered_at: datetime, secret: str, now: datetime, team_id: str | None = None,
) -> AnswerOutcome:
    """A button click: record ``user_id``'s answer (``answered_at`` = the click's action_ts).
    A survey of another workspace than ``team_id`` is ``not_found``."""
    try:
        with unit_of_work(factory) as s:
            survey = _lock_survey(s, survey_id, team_id)
            if survey is None or (channel_id and survey.channel_id != channel_id):
                return AnswerOutcome("not_found")
            if _is_closed(survey, now):
                return AnswerOutcome("closed", _info(s, survey), answer)
            key = respondent_key(secret, workspace_id=survey.workspace_id, product_id=survey.product_id,
                                 user_id=user_id, anonymous=survey.anonymous)
            changed = _upsert_answer(s, survey, key, answer, answered_at, now)
            if not _still_open(s, survey, now):
                raise _Rollback(AnswerOutcome("closed", _info(s, survey), answer))
            return AnswerOutcome("recorded" if changed else "ignored", _info(s, survey), answer)
    except _Rollback as rb:
        assert isinstance(rb.outcome, AnswerOutcome)
        return rb.outcome


def record_reply(
    factory: Factory, *, team_id: str, event_id: str | None, channel_id: str, thread_ts: str, ts: str,
    user_id: str, text: str, secret: str, now: datetime, answered_at: datetime | None = None,
) -> ReplyOutcome:
    """A human reply (new or edited) in a survey thread. A reply naming an option records that
    answer (at ``answered_at``, default the reply's ts); other text from someone who has
    answered becomes (or, when edited, updates) a comment on their response. The event is
    claimed in the same transaction, so a redelivery does nothing."""
    try:
        with unit_of_work(factory) as s:
            found = survey_repo.survey_id_by_thread(s, channel_id=channel_id, thread_ts=thread_ts)
            if found is None:
                return ReplyOutcome("not_survey")
            survey = _lock_survey(s, found)
            assert survey is not None
            if event_id and not claim_event(s, team_id, event_id):
                return ReplyOutcome("duplicate", _info(s, survey))
            answer = domain.parse_answer(text)
            if _is_closed(survey, now):
                return ReplyOutcome("closed", _info(s, survey), answer)
            key = respondent_key(secret, workspace_id=survey.workspace_id, product_id=survey.product_id,
                                 user_id=user_id, anonymous=survey.anonymous)
            if answer is not None:
                changed = _upsert_answer(s, survey, key, answer, answered_at or slack_ts_to_datetime(ts), now)
                if not _still_open(s, survey, now):
                    raise _Rollback(ReplyOutcome("closed", _info(s, survey), answer))
                return ReplyOutcome("answer" if changed else "ignored", _info(s, survey), answer)
            response_id = survey_repo.response_id_by_key(s, product_id=survey.product_id,
                                                         dedupe_key=_dedupe_key(survey.id, key))
            if response_id is None:
                return ReplyOutcome("not_respondent", _info(s, survey))
            body = _clean(text)
            if body is None:
                return ReplyOutcome("ignored", _info(s, survey))
            survey_repo.upsert_comment(s, response_id=response_id, message_ts=_comment_key(secret, survey, ts),
                                       text=body, created_at=now)
            if not _still_open(s, survey, now):
                raise _Rollback(ReplyOutcome("closed", _info(s, survey)))
            return ReplyOutcome("comment", _info(s, survey))
    except _Rollback as rb:
        assert isinstance(rb.outcome, ReplyOutcome)
        return rb.outcome


def delete_reply(
    factory: Factory, *, team_id: str, event_id: str | None, channel_id: str, thread_ts: str, deleted_ts: str,
    secret: str,
) -> ReplyOutcome:
    """A reply in a survey thread was deleted: its comment, if it was one, is deleted too (the
    author took their words back). An answer stays: answers change by answering again, and a
    deleted "1" is no evidence of a different feeling."""
    with unit_of_work(factory) as s:
        survey = survey_repo.survey_by_thread(s, channel_id=channel_id, thread_ts=thread_ts)
        if survey is None:
            return ReplyOutcome("not_survey")
        if event_id and not claim_event(s, team_id, event_id):
            return ReplyOutcome("duplicate", _info(s, survey))
        gone = survey_repo.delete_comment(s, survey_id=survey.id, message_ts=_comment_key(secret, survey, deleted_ts))
        return ReplyOutcome("comment" if gone else "ignored", _info(s, survey))


def store_email_hash(factory: Factory, *, survey_id: int, user_id: str, email: str, secret: str) -> bool:
    """Keep the keyed hash of a named respondent's email on their answer, so the report can
    match them to a signup (SPEC §5 "Who answered"); the address itself is not stored. Anonymous
    surveys are left alone: a hash that matches a signup would tell whoever holds the key and the
    database who answered. True when a hash was written."""
    with unit_of_work(factory) as s:
        survey = s.get(Survey, survey_id)
        if survey is None or survey.anonymous:
            return False
        hashed = email_hash(secret, survey.product_id, email)
        if hashed is None:
            return False
        row = survey_repo.response_by_key(s, product_id=survey.product_id, dedupe_key=_dedupe_key(survey.id, user_id))
        if row is None or row.email_hash == hashed:
            return False
        row.email_hash = hashed  # updated_at moves too, so cached reports see the match
        return True


def store_anonymous_tier(factory: Factory, *, survey_id: int, user_id: str, email: str, secret: str,
                         now: datetime) -> bool:
    """Match an anonymous respondent to a signup now, at answer time, by the keyed hash of their
    email, and keep on their answer only that user's activity tier and whether they are active
    (SPEC §5 "Who answered"): never the email, its hash or the user. So the answer is weighted
    like a named one, and nothing can later tie it to a person. True when a match was stored."""
    with unit_of_work(factory) as s:
        survey = s.get(Survey, survey_id)
        if survey is None or not survey.anonymous:
            return False
        hashed = email_hash(secret, survey.product_id, email)
        row = _response_row(s, survey, user_id, secret)
        if hashed is None or row is None:
            return False
        uid = audience_repo.user_by_email_hash(s, survey.product_id, hashed)
        if uid is None:
            return False
        product = s.get(Product, survey.product_id)
        assert product is not None
        last = last_complete_week(today_in(ProductSettings.from_dict(product.settings).timezone, now))
        act = audience_repo.user_activity(s, survey.product_id, {uid}, last).get(uid, audience_repo.UserActivity())
        tier = active_tier(act.weeks_active, act.weeks_active_of_last_8, act.recent)
        if (row.respondent_tier, row.respondent_active) == (tier, tier is not None):
            return False
        row.respondent_tier, row.respondent_active = tier, tier is not None  # updated_at moves: caches see it
        return True


# ----------------------------------------------------------------------------- follow-ups


def _response_row(session: Session, survey: Survey, user_id: str, secret: str) -> SurveyResponse | None:
    key = respondent_key(secret, workspace_id=survey.workspace_id, product_id=survey.product_id,
                         user_id=user_id, anonymous=survey.anonymous)
    return survey_repo.response_by_key(session, product_id=survey.product_id, dedupe_key=_dedupe_key(survey.id, key))


def followup_form(factory: Factory, *, survey_id: int, user_id: str, secret: str,
                  team_id: str | None = None) -> tuple[SurveyInfo, FollowUp] | None:
    """The survey and what the user already told us, to pre-fill the "Tell us more" modal
    (None for an unknown survey or one of another workspace than ``team_id``)."""
    with unit_of_work(factory) as s:
        survey = survey_repo.survey_in_team(s, survey_id=survey_id, team_id=team_id)
        if survey is None:
            return None
        row = _response_row(s, survey, user_id, secret)
        current = FollowUp(row.who_benefits, row.main_benefit, row.improve, row.segment) if row else FollowUp()
        return _info(s, survey), current


def save_followup(
    factory: Factory, *, survey_id: int, user_id: str, secret: str, followup: FollowUp, now: datetime,
    team_id: str | None = None,
) -> tuple[FollowUpStatus, SurveyInfo | None]:
    """Store the modal's answers on the user's response (blank fields clear what was there).
    A survey of another workspace than ``team_id`` is ``not_found``."""
    with unit_of_work(factory) as s:
        survey = _lock_survey(s, survey_id, team_id)
        if survey is None:
            return "not_found", None
        if _is_closed(survey, now):
            return "closed", _info(s, survey)
        row = _response_row(s, survey, user_id, secret)
        if row is None:
            return "no_answer", _info(s, survey)
        row.who_benefits = _clean(followup.who_benefits)
        row.main_benefit = _clean(followup.main_benefit)
        row.improve = _clean(followup.improve)
        row.segment = _clean(followup.segment, MAX_SEGMENT)
        row.updated_at = now
        s.flush()
        if not _still_open(s, survey, now):
            s.rollback()
            return "closed", _info(s, survey)
        return "saved", _info(s, survey)


