"""In-channel Sean Ellis surveys: every database use case, from start to results and export.

This module owns the survey rules that need the database: one open survey per channel and
product (``Survey.open_key``), recording answers so that answering again replaces the answer and
an older click can never overwrite a newer one (an ``INSERT … ON CONFLICT DO UPDATE … WHERE
answered_at < excluded.answered_at`` keyed on ``survey:{id}:{respondent}``), comments and
follow-ups, the anonymous respondent key (a keyed HMAC, never the Slack id), the throttle state of
the live count (``count_shown``/``count_updated_at``), closing with results computed by the pure
domain, and the CSV export. No Slack calls here: ``bot.survey_slack`` posts and updates messages
and calls these functions; every function opens its own unit of work (or takes the caller's
session where noted) and returns plain frozen values, never ORM rows.

Answers and closing are serialised per survey so that results always include exactly the answers
accepted before the close: an answer holds a share lock on the survey row (PostgreSQL) and
re-checks that it is still open after its write, a close takes the row ``FOR UPDATE`` and reads
the responses after its own write (on SQLite writers are serialised by the database lock).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import hmac
import io
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import services
from bot.context import AppContext
from bot.domain import survey as domain
from bot.domain.lessons import survey_lessons
from bot.domain.types import Answer, SurveySignal
from bot.domain.types import SurveyResponse as DomainResponse
from bot.errors import NotFound, UserError
from bot.survey_values import (
    MIN_GROUP,
    OTHER_ROLE,
    ROLES,
    AnswerOutcome,
    FollowUp,
    FollowUpStatus,
    ReplyOutcome,
    SegmentRow,
    SurveyInfo,
    SurveyResults,
)
from storage import repositories as repo
from storage.db import unit_of_work
from storage.models import Product, Survey, SurveyComment, SurveyResponse, Workspace
from storage.receipts import claim_event

log = logging.getLogger(__name__)

Factory = sessionmaker[Session]

DEFAULT_DAYS = 14
MAX_DAYS = 90
MAX_TEXT = 3000  # free text kept per answer field or comment
MAX_SEGMENT = 200
# A survey row without a posted message older than this was left by a crash between "claim the
# channel" and "post the message"; a new start may replace it.
ABANDONED_AFTER = timedelta(minutes=2)


class SurveyAlreadyOpen(UserError):
    """A channel already has an open survey for this product."""

    def __init__(self, message: str, survey: SurveyInfo) -> None:
        super().__init__(message)
        self.survey = survey


class NoOpenSurvey(NotFound):
    """No open survey where the command looked for one."""


__all__ = [
    "MIN_GROUP", "OTHER_ROLE", "ROLES", "AnswerOutcome", "FollowUp", "NoOpenSurvey", "ReplyOutcome", "SegmentRow",
    "SurveyAlreadyOpen", "SurveyInfo", "SurveyResults",
]


# ----------------------------------------------------------------------------- helpers


def slack_ts_to_datetime(ts: str) -> datetime:
    """A Slack timestamp ("1700000000.123456") as an aware UTC datetime, exactly (no float
    rounding, so two clicks a microsecond apart stay ordered)."""
    secs, _, frac = str(ts).strip().partition(".")
    if not secs.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"not a Slack timestamp: {ts!r}")
    micros = int((frac + "000000")[:6]) if frac else 0
    return datetime.fromtimestamp(int(secs), tz=UTC) + timedelta(microseconds=micros)


def respondent_key(secret: str, *, workspace_id: int, product_id: int, user_id: str, anonymous: bool) -> str:
    """Who answered, as stored. Named surveys store the Slack user id. Anonymous surveys store a
    keyed hash: HMAC-SHA256 under the app's secret key over the workspace, the product and the
    user, so the same person is one respondent across the product's anonymous surveys (SPEC §5
    counts one answer per respondent) while nobody without the key can tell who it is or link
    them to another product or workspace."""
    if not anonymous:
        return user_id
    if not secret:
        raise RuntimeError("anonymous surveys need PMFBOT_SECRET_KEY")
    msg = f"pmf-gate/survey-respondent/v1\x00{workspace_id}\x00{product_id}\x00{user_id}".encode()
    return "anon:" + hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def _comment_key(secret: str, survey: Survey, ts: str) -> str:
    # In anonymous surveys even the reply's ts is hashed: with it, anyone in the channel could
    # look up who wrote the comment, and so whose response it belongs to.
    if not survey.anonymous:
        return ts
    digest = hmac.new(secret.encode(), f"pmf-gate/survey-comment/v1\x00{survey.id}\x00{ts}".encode(), hashlib.sha256)
    return "h" + digest.hexdigest()[:31]


def _dedupe_key(survey_id: int, key: str) -> str:
    return f"survey:{survey_id}:{key}"


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _clean(text: str | None, limit: int = MAX_TEXT) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text[:limit] or None


def _count(session: Session, survey_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(SurveyResponse)
                              .where(SurveyResponse.survey_id == survey_id)) or 0)


def _info(session: Session, survey: Survey, *, count: int | None = None) -> SurveyInfo:
    product = session.get(Product, survey.product_id)
    ws = session.get(Workspace, survey.workspace_id)
    assert product is not None and ws is not None
    return SurveyInfo(
        id=survey.id, team_id=ws.team_id, workspace_id=ws.id, product_id=product.id, product_slug=product.slug,
        product_name=product.name, channel_id=survey.channel_id, message_ts=survey.message_ts,
        anonymous=survey.anonymous, opened_at=survey.opened_at, closes_at=survey.closes_at,
        closed_at=survey.closed_at, responses=_count(session, survey.id) if count is None else count,
        results_ts=survey.results_ts,
    )


def _open_key(product_id: int, channel_id: str) -> str:
    return f"{product_id}:{channel_id}"


def _is_closed(survey: Survey, now: datetime) -> bool:
    return survey.closed_at is not None or now >= survey.closes_at


# ----------------------------------------------------------------------------- start, find, status


def start_survey(
    factory: Factory, *, team_id: str, channel_id: str, target_channel_id: str | None, user_id: str,
    anonymous: bool, days: int, now: datetime, single_workspace: bool, product_slug: str | None = None,
) -> SurveyInfo:
    """Claim ``target_channel_id`` (default: the invoking channel) for a new survey of the
    product. The product is ``product_slug`` when given (the App Home names it), else the target
    channel's bound product, else the invoking channel's product (SPEC §6). Raises
    ``SurveyAlreadyOpen`` when that channel already has one open."""
    if not 1 <= days <= MAX_DAYS:
        raise UserError(f"`days` must be between 1 and {MAX_DAYS} (got {days}).",
                        usage="/pmf-check survey start [#channel] [anonymous] [days N]")
    target = target_channel_id or channel_id
    if target.startswith("D"):
        # Thread replies in DMs never reach us (no message.im subscription), and a survey
        # needs a shared conversation anyway.
        raise UserError("Surveys run in a channel: name one, e.g. `/pmf-check survey start #community`.",
                        usage="/pmf-check survey start [#channel] [anonymous] [days N]")
    with unit_of_work(factory) as s:
        ws = services.slack_workspace(s, team_id, single_workspace=single_workspace)
        bound = repo.bound_product(s, ws.id, target)
        if product_slug is not None:
            product = services.load_product(s, ws, product_slug)
        elif bound is not None:
            product = repo.product_ref(bound, ws.team_id)
        else:
            product = services.channel_product(s, ws, channel_id)
        key = _open_key(product.id, target)
        existing = s.scalar(select(Survey).where(Survey.open_key == key))
        if existing is not None and existing.message_ts is None and existing.opened_at < now - ABANDONED_AFTER:
            log.warning("replacing abandoned survey %s (never posted) in %s", existing.id, target)
            s.delete(existing)
            s.flush()
            existing = None
        if existing is None:
            survey = Survey(
                workspace_id=ws.id, product_id=product.id, channel_id=target, anonymous=anonymous,
                # The opener may answer too: an anonymous survey keeps no Slack id at all.
                opened_by=None if anonymous else user_id, opened_at=now, closes_at=now + timedelta(days=days),
                open_key=key, response_count=0, count_shown=0,
            )
            try:
                with s.begin_nested():
                    s.add(survey)
                    s.flush()
                return _info(s, survey, count=0)
            except IntegrityError:
                # Another start won the race for this channel between our check and our insert.
                existing = s.scalar(select(Survey).where(Survey.open_key == key))
                if existing is None:
                    raise
        info = _info(s, existing)
    raise SurveyAlreadyOpen(
        f"<#{target}> already has an open {info.product_name} survey ({info.responses} "
        f"response{'' if info.responses == 1 else 's'} so far). "
        "See it with `/pmf-check survey status` or close it with `/pmf-check survey close` first.",
        info,
    )


def attach_message(factory: Factory, *, survey_id: int, message_ts: str) -> None:
    with unit_of_work(factory) as s:
        s.execute(update(Survey).where(Survey.id == survey_id).values(message_ts=message_ts))


def discard_survey(factory: Factory, *, survey_id: int) -> None:
    """Forget a survey whose message could not be posted, so the channel is free again."""
    with unit_of_work(factory) as s:
        s.execute(delete(Survey).where(Survey.id == survey_id, Survey.message_ts.is_(None)))


def get_survey(factory: Factory, survey_id: int) -> SurveyInfo | None:
    with unit_of_work(factory) as s:
        survey = s.get(Survey, survey_id)
        return _info(s, survey) if survey else None


def find_open_survey(
    factory: Factory, *, team_id: str, channel_id: str, target_channel_id: str | None, single_workspace: bool,
) -> SurveyInfo:
    """The open survey a ``survey status|close|remind`` command means: the one in the named
    channel, else in this channel; when this channel has none, the product's only open survey
    (e.g. started here for a community channel)."""
    with unit_of_work(factory) as s:
        ws = services.slack_workspace(s, team_id, single_workspace=single_workspace)
        where = target_channel_id or channel_id
        found = s.scalars(select(Survey).where(Survey.workspace_id == ws.id, Survey.channel_id == where,
                                               Survey.open_key.is_not(None)).order_by(Survey.id)).all()
        if not found and target_channel_id is None:
            try:
                product = services.channel_product(s, ws, channel_id)
            except UserError:
                product = None
            if product is not None:
                found = s.scalars(select(Survey).where(Survey.product_id == product.id,
                                                       Survey.open_key.is_not(None))).all()
                if len(found) > 1:
                    chans = ", ".join(f"<#{x.channel_id}>" for x in found)
                    raise UserError(f"{product.name} has open surveys in {chans}: name one, "
                                    "e.g. `/pmf-check survey status #channel`.")
        if not found:
            raise NoOpenSurvey(f"There is no open survey in <#{where}>. Start one with "
                               "`/pmf-check survey start [#channel] [anonymous] [days N]`.",
                               usage="/pmf-check survey start [#channel] [anonymous] [days N]")
        if len(found) > 1:
            names = ", ".join(f"`{_info(s, x).product_slug}`" for x in found)
            raise UserError(f"<#{where}> has open surveys for several products ({names}); "
                            "bind the channel to one with `/pmf-check product use SLUG`.")
        return _info(s, found[0])


# ----------------------------------------------------------------------------- answers


def _lock_survey(session: Session, survey_id: int) -> Survey | None:
    # FOR SHARE: many answers proceed together, but a close (FOR UPDATE) waits for them and
    # they wait for it, so the results contain exactly the answers accepted before the close.
    return session.scalar(select(Survey).where(Survey.id == survey_id).with_for_update(read=True))


def _upsert_answer(session: Session, survey: Survey, key: str, answer: Answer, answered_at: datetime,
                   now: datetime) -> bool:
    """Insert or replace the respondent's answer; False when a same-or-newer answer is already
    stored (a duplicate delivery, or an older click that arrived late)."""
    insert = _insert(session)
    stmt = insert(SurveyResponse).values(
        product_id=survey.product_id, survey_id=survey.id, dedupe_key=_dedupe_key(survey.id, key),
        respondent_key=key, source="slack", answered_at=answered_at, answer=answer, updated_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["product_id", "dedupe_key"],
        set_={"answer": stmt.excluded.answer, "answered_at": stmt.excluded.answered_at,
              "updated_at": stmt.excluded.updated_at},
        # Strictly newer only: a redelivered click (same action_ts) changes nothing, an older
        # click processed after a newer one cannot overwrite it.
        where=SurveyResponse.answered_at < stmt.excluded.answered_at,
    ).returning(SurveyResponse.id)
    return session.execute(stmt).first() is not None


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
    answered_at: datetime, secret: str, now: datetime,
) -> AnswerOutcome:
    """A button click: record ``user_id``'s answer (``answered_at`` = the click's action_ts)."""
    try:
        with unit_of_work(factory) as s:
            survey = _lock_survey(s, survey_id)
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
            found = s.scalar(select(Survey.id).where(Survey.channel_id == channel_id, Survey.message_ts == thread_ts))
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
            response_id = s.scalar(select(SurveyResponse.id).where(
                SurveyResponse.product_id == survey.product_id,
                SurveyResponse.dedupe_key == _dedupe_key(survey.id, key)))
            if response_id is None:
                return ReplyOutcome("not_respondent", _info(s, survey))
            body = _clean(text)
            if body is None:
                return ReplyOutcome("ignored", _info(s, survey))
            insert = _insert(s)
            stmt = insert(SurveyComment).values(response_id=response_id, message_ts=_comment_key(secret, survey, ts),
                                                text=body, created_at=now)
            s.execute(stmt.on_conflict_do_update(index_elements=["response_id", "message_ts"],
                                                 set_={"text": stmt.excluded.text}))
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
        survey = s.scalar(select(Survey).where(Survey.channel_id == channel_id, Survey.message_ts == thread_ts))
        if survey is None:
            return ReplyOutcome("not_survey")
        if event_id and not claim_event(s, team_id, event_id):
            return ReplyOutcome("duplicate", _info(s, survey))
        ids = select(SurveyResponse.id).where(SurveyResponse.survey_id == survey.id)
        gone = s.execute(delete(SurveyComment).where(SurveyComment.response_id.in_(ids),
                                                     SurveyComment.message_ts == _comment_key(secret, survey, deleted_ts))
                         .returning(SurveyComment.id)).all()
        return ReplyOutcome("comment" if gone else "ignored", _info(s, survey))


# ----------------------------------------------------------------------------- follow-ups


def _response_row(session: Session, survey: Survey, user_id: str, secret: str) -> SurveyResponse | None:
    key = respondent_key(secret, workspace_id=survey.workspace_id, product_id=survey.product_id,
                         user_id=user_id, anonymous=survey.anonymous)
    return session.scalar(select(SurveyResponse).where(SurveyResponse.product_id == survey.product_id,
                                                       SurveyResponse.dedupe_key == _dedupe_key(survey.id, key)))


def followup_form(factory: Factory, *, survey_id: int, user_id: str, secret: str) -> tuple[SurveyInfo, FollowUp] | None:
    """The survey and what the user already told us, to pre-fill the "Tell us more" modal."""
    with unit_of_work(factory) as s:
        survey = s.get(Survey, survey_id)
        if survey is None:
            return None
        row = _response_row(s, survey, user_id, secret)
        current = FollowUp(row.who_benefits, row.main_benefit, row.improve, row.segment) if row else FollowUp()
        return _info(s, survey), current


def save_followup(
    factory: Factory, *, survey_id: int, user_id: str, secret: str, followup: FollowUp, now: datetime,
) -> tuple[FollowUpStatus, SurveyInfo | None]:
    """Store the modal's answers on the user's response (blank fields clear what was there)."""
    with unit_of_work(factory) as s:
        survey = _lock_survey(s, survey_id)
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


# ----------------------------------------------------------------------------- live count


@dataclass(frozen=True)
class CountClaim:
    """``survey`` (with the count to show) when this caller may update the message now;
    otherwise ``retry_at`` says when a trailing update may, or is None when none is needed."""

    survey: SurveyInfo | None
    retry_at: datetime | None = None


def claim_count_update(factory: Factory, *, survey_id: int, now: datetime, interval: timedelta) -> CountClaim:
    """Take the right to refresh the survey message's count, at most once per ``interval`` per
    survey across every process: a conditional UPDATE of the survey row is the lock, and it
    records the count that will be shown."""
    with unit_of_work(factory) as s:
        count = _count(s, survey_id)
        claimed = s.execute(
            update(Survey)
            .where(Survey.id == survey_id, Survey.closed_at.is_(None), Survey.message_ts.is_not(None),
                   Survey.count_shown != count,
                   or_(Survey.count_updated_at.is_(None), Survey.count_updated_at <= now - interval))
            .values(count_shown=count, response_count=count, count_updated_at=now)
            .returning(Survey.id)
        ).first()
        survey = s.get(Survey, survey_id)
        if survey is None:
            return CountClaim(None)
        if claimed is not None:
            s.refresh(survey)
            return CountClaim(_info(s, survey, count=count))
        if survey.closed_at is not None or survey.message_ts is None or survey.count_shown == count:
            return CountClaim(None)
        last = survey.count_updated_at or now
        return CountClaim(None, retry_at=max(now, last + interval))


def count_update_failed(factory: Factory, *, survey_id: int) -> None:
    """The chat.update did not go through: mark the shown count unknown, so the clock's sweep
    (``stale_count_surveys``) retries it."""
    with unit_of_work(factory) as s:
        s.execute(update(Survey).where(Survey.id == survey_id).values(count_shown=-1))


def stale_count_surveys(factory: Factory, *, now: datetime, interval: timedelta) -> list[int]:
    """Open surveys whose message shows a count other than the stored one (a trailing update
    lost to a restart, or a failed chat.update)."""
    with unit_of_work(factory) as s:
        counts = (select(SurveyResponse.survey_id, func.count().label("n"))
                  .group_by(SurveyResponse.survey_id).subquery())
        rows = s.execute(
            select(Survey.id).outerjoin(counts, counts.c.survey_id == Survey.id)
            .where(Survey.closed_at.is_(None), Survey.message_ts.is_not(None),
                   Survey.count_shown != func.coalesce(counts.c.n, 0),
                   or_(Survey.count_updated_at.is_(None), Survey.count_updated_at <= now - interval))
        ).all()
        return [r[0] for r in rows]


# ----------------------------------------------------------------------------- close and results


def _domain_responses(session: Session, survey_id: int, product_id: int) -> list[DomainResponse]:
    return repo.survey_responses(session, product_id, survey_id=survey_id)


def _gate_signal(session: Session, product: repo.ProductRef, as_of: date) -> SurveySignal:
    # Exactly what services.compute_report feeds the gate (same query, same domain call), without
    # computing the retention and organic signals the results post does not show.
    s = product.settings.survey
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    since = end - timedelta(days=s.window_days + 2)
    return domain.survey_signal(repo.survey_responses(session, product.id, since=since, until=end), as_of, s)


def compute_results(session: Session, survey: Survey, now: datetime) -> SurveyResults:
    """The results of one survey (in the caller's session): its own score, the product's gate
    signal, segments and the lessons (who loves it most, what they love, what holds others back),
    with anonymous breakdowns under 5 people hidden."""
    product_row = session.get(Product, survey.product_id)
    ws = session.get(Workspace, survey.workspace_id)
    assert product_row is not None and ws is not None
    product = repo.product_ref(product_row, ws.team_id)
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
    signal = domain.survey_signal(counted, own_as_of, own)
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
        survey = s.scalar(select(Survey).where(Survey.id == survey_id).with_for_update())
        if survey is None or survey.closed_at is not None:
            return None
        # The deadline, when the scheduler runs late: answers after it were refused anyway.
        closed_at = min(now, survey.closes_at)
        won = s.execute(update(Survey).where(Survey.id == survey_id, Survey.closed_at.is_(None))
                        .values(closed_at=closed_at, open_key=None).returning(Survey.id)).first()
        if won is None:
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
        s.execute(update(Survey).where(Survey.id == survey_id).values(results_ts=ts))


def due_surveys(factory: Factory, *, now: datetime) -> list[int]:
    """Open surveys whose deadline has passed."""
    with unit_of_work(factory) as s:
        return list(s.scalars(select(Survey.id).where(Survey.closed_at.is_(None), Survey.closes_at <= now)
                              .order_by(Survey.closes_at)))


def unposted_results(factory: Factory, *, now: datetime, grace: timedelta, horizon: timedelta) -> list[int]:
    """Closed surveys whose results were never posted (a crash or a Slack outage after the
    close): closed more than ``grace`` ago, so an in-flight close is left alone, and less than
    ``horizon`` ago, so a survey whose channel is gone is not retried forever."""
    with unit_of_work(factory) as s:
        return list(s.scalars(select(Survey.id).where(
            Survey.closed_at.is_not(None), Survey.results_ts.is_(None), Survey.message_ts.is_not(None),
            Survey.closed_at <= now - grace, Survey.closed_at > now - horizon)))


# ----------------------------------------------------------------------------- reminders


def non_respondents(factory: Factory, *, survey_id: int, member_ids: Sequence[str]) -> list[str]:
    """Channel members (Slack ids) who have not answered a named survey. Never for anonymous
    surveys: knowing who has not answered would tell who has."""
    with unit_of_work(factory) as s:
        survey = s.get(Survey, survey_id)
        if survey is None or survey.anonymous:
            return []
        answered = set(s.scalars(select(SurveyResponse.respondent_key).where(SurveyResponse.survey_id == survey_id)))
        return [m for m in member_ids if m not in answered]


def claim_reminder(factory: Factory, *, team_id: str, survey_id: int, day: date) -> bool:
    """At most one round of reminder DMs per survey and day, across processes and retries (the
    event-receipt table is the fence: its key is ours, not a Slack event id)."""
    with unit_of_work(factory) as s:
        return claim_event(s, team_id, f"pmf-survey-remind:{survey_id}:{day.isoformat()}")


# ----------------------------------------------------------------------------- export


EXPORT_COLUMNS = ("respondent_id", "answered_at", "answer", "segment", "who_benefits", "main_benefit", "improve")


def export_responses(factory: Factory, *, product_slug: str, team_id: str | None = None,
                     survey_id: int | None = None) -> Iterator[str]:
    """The product's responses (or one survey's) as CSV lines in the import format (SPEC §4),
    header first, answers as their labels. Anonymous answers carry their hash as
    ``respondent_id``, so re-importing the file keeps them one respondent each. Rows are streamed
    in id order, in pages."""
    with unit_of_work(factory) as s:
        product = services.cli_product(s, product_slug, team_id)
        if survey_id is not None and s.scalar(select(Survey.id).where(Survey.id == survey_id,
                                                                      Survey.product_id == product.id)) is None:
            raise NotFound(f"No survey {survey_id} for product {product.slug!r}.")
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        yield buf.getvalue()
        last = 0
        while True:
            q = select(SurveyResponse).where(SurveyResponse.product_id == product.id, SurveyResponse.id > last)
            if survey_id is not None:
                q = q.where(SurveyResponse.survey_id == survey_id)
            page = s.scalars(q.order_by(SurveyResponse.id).limit(1000)).all()
            if not page:
                return
            for r in page:
                buf.seek(0)
                buf.truncate()
                writer.writerow([r.respondent_key, r.answered_at.isoformat(),
                                 domain.answer_label(r.answer, product.name), r.segment or "",  # type: ignore[arg-type]
                                 r.who_benefits or "", r.main_benefit or "", r.improve or ""])
                yield buf.getvalue()
            last = page[-1].id
            s.expunge_all()


# ----------------------------------------------------------------------------- the clock's entry point


def close_due_surveys(ctx: AppContext, now: datetime) -> int:
    """The clock's survey job (called by ``bot.jobs.close_due_surveys`` every minute): close the
    surveys whose deadline passed and post their results, retry results that were never
    posted, and repair live counts a restart left stale. Returns how many surveys it closed."""
    from bot import survey_slack  # the Slack side imports this module

    return survey_slack.close_due_surveys(ctx, now)
