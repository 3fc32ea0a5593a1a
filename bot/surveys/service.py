"""In-channel Sean Ellis surveys: every database use case, from start to results and export.

This module owns the survey rules that need the database: one open survey per channel and
product (``Survey.open_key``), recording answers so that answering again replaces the answer and
an older click can never overwrite a newer one (an ``INSERT … ON CONFLICT DO UPDATE … WHERE
answered_at < excluded.answered_at`` keyed on ``survey:{id}:{respondent}``), comments and
follow-ups, the anonymous respondent key (a keyed HMAC, never the Slack id), the throttle state of
the live count (``count_shown``/``count_updated_at``), closing with results computed by the pure
domain, and the CSV export. No Slack calls here: ``bot.surveys.slack`` posts and updates messages
and calls these functions; every function opens its own unit of work (or takes the caller's
session where noted) and returns plain frozen values, never ORM rows.

Answers and closing are serialised per survey so that results always include exactly the answers
accepted before the close: an answer holds a share lock on the survey row (PostgreSQL) and
re-checks that it is still open after its write, a close takes the row ``FOR UPDATE`` and reads
the responses after its own write (on SQLite writers are serialised by the database lock).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import NotFound, UserError
from bot.products import service as product_service
from bot.surveys.values import (
    DEFAULT_DAYS,
    MIN_GROUP,
    OTHER_ROLE,
    ROLES,
    AnswerOutcome,
    FollowUp,
    ReplyOutcome,
    SegmentRow,
    SurveyInfo,
    SurveyResults,
)
from storage.db import Factory, unit_of_work
from storage.models import Product, Survey, Workspace
from storage.receipts import claim_event
from storage.repositories import surveys as survey_repo
from storage.repositories.products import bound_product, product_ref

log = logging.getLogger(__name__)


MAX_DAYS = 90
MAX_TEXT = 3000  # free text kept per answer field or comment
MAX_SEGMENT = 200


class SurveyAlreadyOpen(UserError):
    """A channel already has an open survey for this product."""

    def __init__(self, message: str, survey: SurveyInfo) -> None:
        super().__init__(message)
        self.survey = survey


class NoOpenSurvey(NotFound):
    """No open survey where the command looked for one."""


__all__ = [
    "DEFAULT_DAYS", "MIN_GROUP", "OTHER_ROLE", "ROLES", "AnswerOutcome", "FollowUp", "NoOpenSurvey", "ReplyOutcome", "SegmentRow",
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



def _clean(text: str | None, limit: int = MAX_TEXT) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text[:limit] or None


def _count(session: Session, survey_id: int) -> int:
    return survey_repo.count_responses(session, survey_id)


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
        ws = product_service.slack_workspace(s, team_id, single_workspace=single_workspace)
        bound = bound_product(s, ws.id, target)
        if product_slug is not None:
            product = product_service.load_product(s, ws, product_slug)
        elif bound is not None:
            product = product_ref(bound, ws.team_id)
        else:
            product = product_service.channel_product(s, ws, channel_id)
        key = _open_key(product.id, target)
        existing = survey_repo.open_survey_by_key(s, key)
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
                existing = survey_repo.open_survey_by_key(s, key)
                if existing is None:
                    raise
        info = _info(s, existing)
    if info.message_ts is None:
        # Its post may have reached Slack without our learning it (a timeout after the request went
        # out): the message may be in the channel and answered, so it is never deleted or replaced
        # here; a person who can see the channel decides.
        raise SurveyAlreadyOpen(
            f"<#{target}> has a {info.product_name} survey whose post Slack never confirmed "
            f"({info.responses} response{'' if info.responses == 1 else 's'} so far). If its message is in the "
            "channel, it works as usual; if not, close it with `/pmf-check survey close` there, then start again. "
            "Nothing was deleted.",
            info,
        )
    raise SurveyAlreadyOpen(
        f"<#{target}> already has an open {info.product_name} survey ({info.responses} "
        f"response{'' if info.responses == 1 else 's'} so far). "
        "See it with `/pmf-check survey status` or close it with `/pmf-check survey close` first.",
        info,
    )


def attach_message(factory: Factory, *, survey_id: int, message_ts: str, channel_members: int | None = None) -> None:
    """The posted message's ts, and how many people the channel held then (the base of the
    response rate of answers that cannot be matched to product users; None when unknown)."""
    with unit_of_work(factory) as s:
        survey_repo.set_message(s, survey_id=survey_id, message_ts=message_ts, channel_members=channel_members)


def discard_survey(factory: Factory, *, survey_id: int) -> None:
    """Forget a survey whose message could not be posted, so the channel is free again."""
    with unit_of_work(factory) as s:
        survey_repo.delete_unposted_survey(s, survey_id=survey_id)


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
        ws = product_service.slack_workspace(s, team_id, single_workspace=single_workspace)
        where = target_channel_id or channel_id
        found = survey_repo.open_surveys_in_channel(s, workspace_id=ws.id, channel_id=where)
        if not found and target_channel_id is None:
            try:
                product = product_service.channel_product(s, ws, channel_id)
            except UserError:
                product = None
            if product is not None:
                found = survey_repo.open_surveys_of_product(s, product_id=product.id)
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
        claimed = survey_repo.claim_count_update(s, survey_id=survey_id, count=count, now=now, interval=interval)
        survey = s.get(Survey, survey_id)
        if survey is None:
            return CountClaim(None)
        if claimed:
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
        survey_repo.mark_count_unknown(s, survey_id=survey_id)


def stale_count_surveys(factory: Factory, *, now: datetime, interval: timedelta) -> list[int]:
    """Open surveys whose message shows a count other than the stored one (a trailing update
    lost to a restart, or a failed chat.update)."""
    with unit_of_work(factory) as s:
        return survey_repo.stale_count_survey_ids(s, now=now, interval=interval)


# ----------------------------------------------------------------------------- reminders


def non_respondents(factory: Factory, *, survey_id: int, member_ids: Sequence[str]) -> list[str]:
    """Channel members (Slack ids) who have not answered a named survey. Never for anonymous
    surveys: knowing who has not answered would tell who has."""
    with unit_of_work(factory) as s:
        survey = s.get(Survey, survey_id)
        if survey is None or survey.anonymous:
            return []
        answered = survey_repo.respondent_keys(s, survey_id=survey_id)
        return [m for m in member_ids if m not in answered]


def claim_reminder(factory: Factory, *, team_id: str, survey_id: int, day: date) -> bool:
    """At most one round of reminder DMs per survey and day, across processes and retries (the
    event-receipt table is the fence: its key is ours, not a Slack event id)."""
    with unit_of_work(factory) as s:
        return claim_event(s, team_id, f"pmf-survey-remind:{survey_id}:{day.isoformat()}")


