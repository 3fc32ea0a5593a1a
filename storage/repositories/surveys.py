"""Survey queries: the SQL behind ``bot.surveys`` (start, answers, comments, the live count,
closing, reminders and export). Each function takes the caller's session and returns rows or
plain values; the use cases own the unit of work and the rules, and these never commit.

Locks are chosen here but used by the use cases: an answer takes the survey row ``FOR SHARE``
(``lock_survey``) and a close takes it ``FOR UPDATE`` (``lock_survey_for_close``), so results
contain exactly the answers accepted before the close (on SQLite writers are serialised by the
database lock instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.domain.types import Answer
from storage.db import dialect_insert
from storage.models import Survey, SurveyComment, SurveyResponse, Workspace

# ----------------------------------------------------------------------------- surveys


def count_responses(session: Session, survey_id: int) -> int:
    """How many responses the survey holds."""
    return int(session.scalar(select(func.count()).select_from(SurveyResponse)
                              .where(SurveyResponse.survey_id == survey_id)) or 0)


def open_survey_by_key(session: Session, key: str) -> Survey | None:
    """The open survey holding ``open_key`` (one per product and channel), if any."""
    return session.scalar(select(Survey).where(Survey.open_key == key))


def set_message(session: Session, *, survey_id: int, message_ts: str, channel_members: int | None) -> None:
    """Record the posted message's ts and the channel's member count then."""
    session.execute(update(Survey).where(Survey.id == survey_id)
                    .values(message_ts=message_ts, channel_members=channel_members))


def delete_unposted_survey(session: Session, *, survey_id: int) -> None:
    """Delete the survey if its message was never posted (no ``message_ts``)."""
    session.execute(delete(Survey).where(Survey.id == survey_id, Survey.message_ts.is_(None)))


def open_surveys_in_channel(session: Session, *, workspace_id: int, channel_id: str) -> Sequence[Survey]:
    """The workspace's open surveys in a channel, oldest first."""
    return session.scalars(select(Survey).where(Survey.workspace_id == workspace_id, Survey.channel_id == channel_id,
                                                Survey.open_key.is_not(None)).order_by(Survey.id)).all()


def open_surveys_of_product(session: Session, *, product_id: int) -> Sequence[Survey]:
    """The product's open surveys, in any channel."""
    return session.scalars(select(Survey).where(Survey.product_id == product_id,
                                                Survey.open_key.is_not(None))).all()


def survey_id_of_product(session: Session, *, survey_id: int, product_id: int) -> int | None:
    """``survey_id`` when that survey belongs to the product, else None."""
    return session.scalar(select(Survey.id).where(Survey.id == survey_id, Survey.product_id == product_id))


def _in_team(stmt: Any, team_id: str | None) -> Any:
    """Only a survey of the requesting workspace (``team_id``; None: a trusted caller such as
    the CLI): a signed payload from one workspace can never name another's survey."""
    if team_id is None:
        return stmt
    return stmt.join(Workspace, Workspace.id == Survey.workspace_id).where(Workspace.team_id == team_id)


def survey_in_team(session: Session, *, survey_id: int, team_id: str | None) -> Survey | None:
    """The survey, when it belongs to ``team_id``'s workspace (any workspace when None)."""
    return session.scalar(_in_team(select(Survey).where(Survey.id == survey_id), team_id))


def lock_survey(session: Session, survey_id: int, team_id: str | None = None) -> Survey | None:
    """The survey row under a share lock (``team_id`` as in ``survey_in_team``)."""
    # FOR SHARE: many answers proceed together, but a close (FOR UPDATE) waits for them and
    # they wait for it, so the results contain exactly the answers accepted before the close.
    stmt = _in_team(select(Survey).where(Survey.id == survey_id), team_id)
    return session.scalar(stmt.with_for_update(read=True, of=Survey))


def survey_id_by_thread(session: Session, *, channel_id: str, thread_ts: str) -> int | None:
    """The id of the survey whose message is ``thread_ts`` in the channel, if any."""
    return session.scalar(select(Survey.id).where(Survey.channel_id == channel_id, Survey.message_ts == thread_ts))


def survey_by_thread(session: Session, *, channel_id: str, thread_ts: str) -> Survey | None:
    """The survey whose message is ``thread_ts`` in the channel, if any."""
    return session.scalar(select(Survey).where(Survey.channel_id == channel_id, Survey.message_ts == thread_ts))


# ----------------------------------------------------------------------------- answers and comments


def upsert_answer(session: Session, *, survey: Survey, dedupe_key: str, respondent_key: str, answer: Answer,
                  answered_at: datetime, now: datetime) -> bool:
    """Insert or replace the respondent's answer; False when a same-or-newer answer is already
    stored (a duplicate delivery, or an older click that arrived late)."""
    insert = dialect_insert(session, SurveyResponse).values(
        product_id=survey.product_id, survey_id=survey.id, dedupe_key=dedupe_key,
        respondent_key=respondent_key, source="slack", answered_at=answered_at, answer=answer, updated_at=now,
    )
    stmt = insert.on_conflict_do_update(
        index_elements=["product_id", "dedupe_key"],
        set_={"answer": insert.excluded.answer, "answered_at": insert.excluded.answered_at,
              "updated_at": insert.excluded.updated_at},
        # Strictly newer only: a redelivered click (same action_ts) changes nothing, an older
        # click processed after a newer one cannot overwrite it.
        where=SurveyResponse.answered_at < insert.excluded.answered_at,
    ).returning(SurveyResponse.id)
    return session.execute(stmt).first() is not None


def response_id_by_key(session: Session, *, product_id: int, dedupe_key: str) -> int | None:
    """The id of the product's response stored under ``dedupe_key``, if any."""
    return session.scalar(select(SurveyResponse.id).where(SurveyResponse.product_id == product_id,
                                                          SurveyResponse.dedupe_key == dedupe_key))


def response_by_key(session: Session, *, product_id: int, dedupe_key: str) -> SurveyResponse | None:
    """The product's response stored under ``dedupe_key``, if any."""
    return session.scalar(select(SurveyResponse).where(SurveyResponse.product_id == product_id,
                                                       SurveyResponse.dedupe_key == dedupe_key))


def upsert_comment(session: Session, *, response_id: int, message_ts: str, text: str, created_at: datetime) -> None:
    """Store a comment on a response, or replace its text (an edited reply)."""
    stmt = dialect_insert(session, SurveyComment).values(response_id=response_id, message_ts=message_ts,
                                                         text=text, created_at=created_at)
    session.execute(stmt.on_conflict_do_update(index_elements=["response_id", "message_ts"],
                                               set_={"text": stmt.excluded.text}))


def delete_comment(session: Session, *, survey_id: int, message_ts: str) -> bool:
    """Delete the survey's comment stored under ``message_ts``; True when one was deleted."""
    ids = select(SurveyResponse.id).where(SurveyResponse.survey_id == survey_id)
    gone = session.execute(delete(SurveyComment).where(SurveyComment.response_id.in_(ids),
                                                       SurveyComment.message_ts == message_ts)
                           .returning(SurveyComment.id)).all()
    return bool(gone)


def respondent_keys(session: Session, *, survey_id: int) -> set[str]:
    """The respondent keys of everyone who answered the survey."""
    return set(session.scalars(select(SurveyResponse.respondent_key).where(SurveyResponse.survey_id == survey_id)))


def response_page(session: Session, *, product_id: int, survey_id: int | None, after_id: int,
                  limit: int = 1000) -> Sequence[SurveyResponse]:
    """The product's (or one survey's) responses with an id above ``after_id``, in id order."""
    q = select(SurveyResponse).where(SurveyResponse.product_id == product_id, SurveyResponse.id > after_id)
    if survey_id is not None:
        q = q.where(SurveyResponse.survey_id == survey_id)
    return session.scalars(q.order_by(SurveyResponse.id).limit(limit)).all()


# ----------------------------------------------------------------------------- live count


def claim_count_update(session: Session, *, survey_id: int, count: int, now: datetime, interval: timedelta) -> bool:
    """The conditional UPDATE that takes the right to show ``count`` on the open, posted survey
    (at most once per ``interval``); True when this caller won it."""
    claimed = session.execute(
        update(Survey)
        .where(Survey.id == survey_id, Survey.closed_at.is_(None), Survey.message_ts.is_not(None),
               Survey.count_shown != count,
               or_(Survey.count_updated_at.is_(None), Survey.count_updated_at <= now - interval))
        .values(count_shown=count, response_count=count, count_updated_at=now)
        .returning(Survey.id)
    ).first()
    return claimed is not None


def mark_count_unknown(session: Session, *, survey_id: int) -> None:
    """Mark the shown count unknown (-1), so the sweep refreshes it."""
    session.execute(update(Survey).where(Survey.id == survey_id).values(count_shown=-1))


def stale_count_survey_ids(session: Session, *, now: datetime, interval: timedelta) -> list[int]:
    """Open, posted surveys whose shown count differs from their responses, not refreshed
    within ``interval``."""
    counts = (select(SurveyResponse.survey_id, func.count().label("n"))
              .group_by(SurveyResponse.survey_id).subquery())
    rows = session.execute(
        select(Survey.id).outerjoin(counts, counts.c.survey_id == Survey.id)
        .where(Survey.closed_at.is_(None), Survey.message_ts.is_not(None),
               Survey.count_shown != func.coalesce(counts.c.n, 0),
               or_(Survey.count_updated_at.is_(None), Survey.count_updated_at <= now - interval))
    ).all()
    return [r[0] for r in rows]


# ----------------------------------------------------------------------------- closing


def lock_survey_for_close(session: Session, survey_id: int) -> Survey | None:
    """The survey row ``FOR UPDATE`` (waits for answers in flight, which hold ``FOR SHARE``)."""
    return session.scalar(select(Survey).where(Survey.id == survey_id).with_for_update())


def mark_closed(session: Session, *, survey_id: int, closed_at: datetime) -> bool:
    """Close the survey if it is still open and free its channel; True for the one closer that wins."""
    won = session.execute(update(Survey).where(Survey.id == survey_id, Survey.closed_at.is_(None))
                          .values(closed_at=closed_at, open_key=None).returning(Survey.id)).first()
    return won is not None


def set_results_ts(session: Session, *, survey_id: int, ts: str) -> None:
    """Record the ts of the posted results message."""
    session.execute(update(Survey).where(Survey.id == survey_id).values(results_ts=ts))


def due_survey_ids(session: Session, *, now: datetime) -> list[int]:
    """Open surveys whose deadline has passed, earliest deadline first."""
    return list(session.scalars(select(Survey.id).where(Survey.closed_at.is_(None), Survey.closes_at <= now)
                                .order_by(Survey.closes_at)))


def unposted_results_ids(session: Session, *, now: datetime, grace: timedelta, horizon: timedelta) -> list[int]:
    """Posted surveys closed between ``horizon`` and ``grace`` ago whose results have no ts."""
    return list(session.scalars(select(Survey.id).where(
        Survey.closed_at.is_not(None), Survey.results_ts.is_(None), Survey.message_ts.is_not(None),
        Survey.closed_at <= now - grace, Survey.closed_at > now - horizon)))


def open_surveys_of_workspace(session: Session, *, workspace_id: int) -> Sequence[Survey]:
    """The workspace's surveys not yet closed, by id."""
    return session.scalars(select(Survey).where(Survey.workspace_id == workspace_id, Survey.closed_at.is_(None))
                           .order_by(Survey.id)).all()
