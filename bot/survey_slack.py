"""The Slack side of surveys, shared by the listeners and the clock: post a survey, keep its
live count current, confirm answers, close and post the results, remind.

Orchestration only: the database work is ``bot.surveys``, the Block Kit is
``bot.render.survey_blocks``. Every function takes the bot's ``WebClient`` (the listener's, or
``ctx.client_for_team`` in jobs, both built by ``bot.slack_client`` so ``SLACK_API_URL`` and the
retry handlers apply).

The live count is refreshed with ``chat.update`` (Tier 3, about 50 calls a minute per
workspace). Each survey's message is updated at most once per ``COUNT_UPDATE_INTERVAL``: the
first answer after a quiet period updates at once, later ones inside the interval leave a
trailing update that fires when the interval ends, so the final count is always shown. The
throttle state lives in the survey row (``count_shown``, ``count_updated_at``, claimed by a
conditional UPDATE), so several processes share one budget; the in-process timer is only a
prompt, and the clock's ``refresh_survey_counts`` repairs a trailing update lost to a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import slack_client, surveys
from bot.context import AppContext
from bot.errors import UserError
from bot.render import survey_blocks as ui
from bot.slack_respond import Responder
from bot.survey_values import AnswerOutcome, ReplyOutcome, SurveyInfo, SurveyResults

log = logging.getLogger(__name__)

COUNT_UPDATE_INTERVAL = timedelta(seconds=5)  # per survey: <= 12 chat.update a minute
RESULTS_RETRY_GRACE = timedelta(minutes=2)
RESULTS_RETRY_HORIZON = timedelta(hours=24)
DM_PACE_SECONDS = 1.2  # between reminder DMs: chat.postMessage ~1/s, users.info Tier 4
MAX_REMINDER_DMS = 500
# Slack errors that mean "this channel cannot take our messages" (the user can fix these).
_CHANNEL_ERRORS = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action",
                   "method_not_supported_for_channel_type", "cant_invite_self"}


def _error(err: SlackApiError) -> str:
    return str(err.response.get("error", "unknown_error")) if err.response is not None else "unknown_error"


def _retry_after(err: SlackApiError, default: float = 1.0) -> float:
    headers = (err.response.headers if err.response is not None else None) or {}
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(raw[0] if isinstance(raw, list) else raw) if raw is not None else default
    except ValueError:
        return default


# ----------------------------------------------------------------------------- start


def post_survey(ctx: AppContext, client: WebClient, survey: SurveyInfo) -> SurveyInfo:
    """Post the survey message and its thread intro; on failure free the channel again and say
    what to do. The bot joins public channels first: thread replies only reach bots that are
    members, and chat:write.public would post without joining."""
    try:
        client.conversations_join(channel=survey.channel_id)
    except SlackApiError as err:
        # Private channels, missing channels:join, shared channels: posting tells us if it matters.
        log.info("conversations.join %s failed (%s); posting anyway", survey.channel_id, _error(err))
    try:
        posted = client.chat_postMessage(channel=survey.channel_id, **ui.survey_message(survey))
    except SlackApiError as err:
        surveys.discard_survey(ctx.factory, survey_id=survey.id)
        code = _error(err)
        if code in _CHANNEL_ERRORS:
            raise UserError(f"I can't post in <#{survey.channel_id}> ({code}). Invite me with "
                            "`/invite @PMF Gate` there, then start the survey again.") from None
        raise
    ts = str(posted["ts"])
    surveys.attach_message(ctx.factory, survey_id=survey.id, message_ts=ts)
    info = surveys.get_survey(ctx.factory, survey.id)
    assert info is not None
    try:
        client.chat_postMessage(channel=survey.channel_id, thread_ts=ts, **ui.thread_intro(info))
    except SlackApiError as err:
        log.warning("survey %s: thread intro not posted (%s)", survey.id, _error(err))
    log.info("survey %s posted in %s (team %s, anonymous=%s)", survey.id, survey.channel_id, survey.team_id,
             survey.anonymous)
    return info


# ----------------------------------------------------------------------------- answers


def _fail_fast(client: WebClient) -> WebClient:
    """``client`` without the rate-limit retry handler. chat.postEphemeral is Tier 4 (about 100
    a minute per workspace) while a survey can draw 1,000 answers a minute: sleeping out a
    Retry-After on a listener thread would hold the pool that acks every other click."""
    return slack_client.with_retries(client, rate_limits=False)  # type: ignore[no-any-return]


def _ephemeral(client: WebClient, survey: SurveyInfo, user_id: str, message: dict[str, Any],
               response_url: str | None = None) -> None:
    """An ephemeral message in the survey's thread. When Slack rate-limits it, a button click
    still gets it through its response_url (ephemeral, in the channel rather than the thread;
    response_url replies do not count against the Web API tiers)."""
    try:
        _fail_fast(client).chat_postEphemeral(channel=survey.channel_id, user=user_id, thread_ts=survey.message_ts,
                                              **message)
        return
    except SlackApiError as err:
        code = _error(err)
        if not (err.response is not None and err.response.status_code == 429 and response_url):
            # The answer is stored either way; a lost confirmation is not worth failing the request.
            log.warning("survey %s: ephemeral reply failed (%s)", survey.id, code)
            return
    try:
        Responder(response_url)(**message, response_type="ephemeral", replace_original=False)
    except Exception as err:  # noqa: BLE001 - as above: the answer is stored, only the note is lost
        log.warning("survey %s: ephemeral reply via response_url failed (%s)", survey.id, type(err).__name__)


def after_answer(ctx: AppContext, client: WebClient, outcome: AnswerOutcome | ReplyOutcome, user_id: str,
                 response_url: str | None = None) -> None:
    """Tell the respondent what happened (thanks + "Tell us more", or "closed") and refresh the
    live count."""
    survey = outcome.survey
    if survey is None:
        return
    if outcome.status in ("recorded", "answer") and outcome.answer is not None:
        _ephemeral(client, survey, user_id, ui.answer_recorded(survey, outcome.answer), response_url)
        request_count_refresh(ctx, client, survey.id)
    elif outcome.status == "closed" and outcome.answer is not None:
        _ephemeral(client, survey, user_id, ui.survey_closed_note(survey), response_url)
    elif outcome.status == "not_respondent":
        _ephemeral(client, survey, user_id, ui.not_an_answer_hint(survey), response_url)


# ----------------------------------------------------------------------------- live count


class _TrailingUpdates:
    """At most one pending trailing refresh per survey in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, int], threading.Timer] = {}

    def schedule(self, delay: float, ctx: AppContext, client: WebClient, survey_id: int) -> None:
        key = (id(ctx), survey_id)
        with self._lock:
            if key in self._pending:
                return
            timer = threading.Timer(delay, self._fire, args=(key, ctx, client, survey_id))
            timer.daemon = True
            self._pending[key] = timer
        timer.start()

    def cancel_all(self) -> None:
        """Drop every pending refresh (shutdown, tests): the clock's sweep covers what they were for."""
        with self._lock:
            timers, self._pending = list(self._pending.values()), {}
        for timer in timers:
            timer.cancel()

    def _fire(self, key: tuple[int, int], ctx: AppContext, client: WebClient, survey_id: int) -> None:
        # Cleared before counting: an answer committed after our count schedules a new timer.
        with self._lock:
            self._pending.pop(key, None)
        try:
            request_count_refresh(ctx, client, survey_id)
        except Exception:  # noqa: BLE001 - a timer thread has nobody to report to; the clock repairs it
            log.exception("survey %s: trailing count refresh failed", survey_id)


_trailing = _TrailingUpdates()


def cancel_pending_refreshes() -> None:
    _trailing.cancel_all()


def request_count_refresh(ctx: AppContext, client: WebClient, survey_id: int) -> bool:
    """Show the current count now if this survey's budget allows, else make sure a trailing
    refresh follows. True when this call updated the message."""
    now = ctx.now()
    claim = surveys.claim_count_update(ctx.factory, survey_id=survey_id, now=now, interval=COUNT_UPDATE_INTERVAL)
    if claim.survey is None:
        if claim.retry_at is not None:
            delay = max(0.05, (claim.retry_at - now).total_seconds() + 0.05)
            _trailing.schedule(delay, ctx, client, survey_id)
        return False
    survey = claim.survey
    assert survey.message_ts is not None  # the claim requires a posted message
    try:
        _fail_fast(client).chat_update(channel=survey.channel_id, ts=survey.message_ts, **ui.survey_message(survey))
    except SlackApiError as err:
        # Marked stale: a later refresh (trailing, or the clock's sweep) shows the count again.
        surveys.count_update_failed(ctx.factory, survey_id=survey_id)
        log.warning("survey %s: count update failed (%s)", survey_id, _error(err))
        if err.response is not None and err.response.status_code == 429:
            # Another survey of the workspace used up chat.update's tier: back off as told,
            # off the listener thread.
            _trailing.schedule(max(_retry_after(err), COUNT_UPDATE_INTERVAL.total_seconds()), ctx, client, survey_id)
        return False
    # A close may have happened while our update was in flight: never leave an open rendering
    # (with buttons) on a closed survey.
    latest = surveys.get_survey(ctx.factory, survey_id)
    if latest is not None and latest.closed_at is not None:
        _update_parent(client, latest)
    return True


def refresh_survey_counts(ctx: AppContext, now: datetime) -> int:
    """Clock job: bring every open survey's shown count up to date (repairs trailing updates
    lost to a restart and failed chat.update calls). Returns how many were updated."""
    done = 0
    for sid in surveys.stale_count_surveys(ctx.factory, now=now, interval=COUNT_UPDATE_INTERVAL):
        info = surveys.get_survey(ctx.factory, sid)
        if info is None:
            continue
        try:
            done += request_count_refresh(ctx, ctx.client_for_team(info.team_id), sid)
        except Exception:  # noqa: BLE001 - one workspace's failure must not stop the others
            log.exception("survey %s: count refresh failed (team %s)", sid, info.team_id)
    return done


# ----------------------------------------------------------------------------- close and results


def _update_parent(client: WebClient, survey: SurveyInfo) -> None:
    if not survey.message_ts:
        return
    try:
        client.chat_update(channel=survey.channel_id, ts=survey.message_ts, **ui.survey_message(survey))
    except SlackApiError as err:
        log.warning("survey %s: parent message not updated (%s)", survey.id, _error(err))


def _results_already_posted(client: WebClient, survey: SurveyInfo) -> str | None:
    """The ts of a results post already in the thread (a send whose outcome we never learnt),
    found by its metadata among the replies after the close."""
    if not survey.message_ts or survey.closed_at is None:
        return None
    oldest = f"{survey.closed_at.timestamp() - 60:.6f}"
    try:
        resp = client.conversations_replies(channel=survey.channel_id, ts=survey.message_ts, oldest=oldest,
                                            include_all_metadata=True, limit=15)
    except SlackApiError as err:
        log.warning("survey %s: could not check the thread for results (%s)", survey.id, _error(err))
        return None
    for msg in resp.get("messages") or []:
        meta = msg.get("metadata") or {}
        if meta.get("event_type") == ui.METADATA_RESULTS and (meta.get("event_payload") or {}).get("survey_id") == survey.id:
            return str(msg.get("ts"))
    return None


def post_results(ctx: AppContext, client: WebClient, results: SurveyResults) -> str:
    """Post the results in the survey's thread, then the chart (files_upload_v2 into the same
    thread). Returns the results message ts (also stored on the survey)."""
    survey = results.survey
    message = ui.results_message(results)
    posted = client.chat_postMessage(channel=survey.channel_id, thread_ts=survey.message_ts,
                                     metadata=ui.results_metadata(results), **message)
    ts = str(posted["ts"])
    surveys.set_results_ts(ctx.factory, survey_id=survey.id, ts=ts)
    try:
        from bot.render.charts import survey_chart  # matplotlib: only when a survey closes

        png = survey_chart(results.counts, product_name=survey.product_name, as_of=results.as_of,
                           score=results.signal.score, ci=results.signal.ci, threshold=results.settings.threshold)
        # No alt_txt: it has been reported to make the share fail silently; the message above
        # carries the same figures as text.
        client.files_upload_v2(channel=survey.channel_id, thread_ts=survey.message_ts, file=png,
                               filename=f"{survey.product_slug}-survey-{survey.id}.png",
                               title=ui.results_chart_alt(results), request_file_info=False)
    except SlackApiError as err:
        log.warning("survey %s: results chart not uploaded (%s)", survey.id, _error(err))
    log.info("survey %s results posted in %s (n=%s)", survey.id, survey.channel_id, results.signal.responses)
    return ts


def close_and_post(ctx: AppContext, client: WebClient, survey_id: int, now: datetime | None = None) -> SurveyResults | None:
    """Close a survey (command or deadline) and post its results; None when it was already
    closed. The close commits first, so a Slack failure afterwards leaves a closed survey whose
    results the clock posts later (``close_due_surveys``)."""
    results = surveys.close_survey(ctx.factory, survey_id=survey_id, now=now or ctx.now())
    if results is None:
        return None
    _update_parent(client, results.survey)
    post_results(ctx, client, results)
    return results


def _retry_results(ctx: AppContext, survey_id: int, now: datetime) -> bool:
    results = surveys.results_for(ctx.factory, survey_id=survey_id, now=now)
    if results is None:
        return False
    client = ctx.client_for_team(results.survey.team_id)
    found = _results_already_posted(client, results.survey)
    if found:
        surveys.set_results_ts(ctx.factory, survey_id=survey_id, ts=found)
        return False
    _update_parent(client, results.survey)
    post_results(ctx, client, results)
    return True


def close_due_surveys(ctx: AppContext, now: datetime) -> int:
    """Clock job: close every survey whose deadline has passed and post its results; also post
    results that a crash or an outage kept from being posted, and refresh stale live counts
    (``refresh_survey_counts``). Returns how many it closed.
    Idempotent: the close is a conditional update, so several clocks close a survey once."""
    closed = 0
    for sid in surveys.due_surveys(ctx.factory, now=now):
        info = surveys.get_survey(ctx.factory, sid)
        if info is None:
            continue
        try:
            if close_and_post(ctx, ctx.client_for_team(info.team_id), sid, now) is not None:
                closed += 1
        except Exception:  # noqa: BLE001 - keep closing the others; unposted results are retried below
            log.exception("survey %s: closing at the deadline failed (team %s, channel %s)", sid, info.team_id,
                          info.channel_id)
    for sid in surveys.unposted_results(ctx.factory, now=now, grace=RESULTS_RETRY_GRACE, horizon=RESULTS_RETRY_HORIZON):
        try:
            _retry_results(ctx, sid, now)
        except Exception:  # noqa: BLE001
            log.exception("survey %s: posting results failed again", sid)
    refresh_survey_counts(ctx, now)
    return closed


# ----------------------------------------------------------------------------- reminders


def _members(client: WebClient, channel_id: str) -> list[str]:
    members: list[str] = []
    cursor = None
    while True:
        resp = client.conversations_members(channel=channel_id, limit=200, cursor=cursor)
        members += [str(m) for m in resp.get("members") or []]
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return members


def _is_person(client: WebClient, user_id: str) -> bool:
    if user_id == "USLACKBOT":
        return False
    try:
        user = client.users_info(user=user_id).get("user") or {}
    except SlackApiError:
        return False
    return not (user.get("is_bot") or user.get("is_app_user") or user.get("deleted"))


def remind(
    ctx: AppContext, client: WebClient, survey: SurveyInfo, *, dm: bool, bot_user_id: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Post a reminder in the survey's thread (also shown in the channel) and, for a named
    survey when asked, DM the channel's members who have not answered, paced under Slack's
    limits on a background thread, at most one round a day. Returns the reply for the invoker."""
    if not survey.message_ts:
        raise UserError("The survey message was never posted; close it and start again.")
    client.chat_postMessage(channel=survey.channel_id, thread_ts=survey.message_ts, reply_broadcast=True,
                            **ui.survey_reminder(survey))
    if not dm:
        return ui.reminder_sent(survey, None, "Add `dm` (`/pmf-check survey remind dm`) to also message "
                                "members who haven't answered." if not survey.anonymous else None)
    if survey.anonymous:
        return ui.reminder_sent(survey, None, "No direct messages: in an anonymous survey nobody, PMF Gate "
                                "included, may know who has not answered.")
    if not surveys.claim_reminder(ctx.factory, team_id=survey.team_id, survey_id=survey.id,
                                  day=ctx.now().date()):
        return ui.reminder_sent(survey, None, "Direct messages already went out today; they are sent at most once a day.")
    members = [m for m in _members(client, survey.channel_id) if m != bot_user_id]
    todo = surveys.non_respondents(ctx.factory, survey_id=survey.id, member_ids=members)[:MAX_REMINDER_DMS]
    try:
        permalink = client.chat_getPermalink(channel=survey.channel_id, message_ts=survey.message_ts).get("permalink")
    except SlackApiError:
        permalink = None
    message = ui.reminder_dm(survey, permalink)

    def send() -> None:
        sent = 0
        for user_id in todo:
            if not _is_person(client, user_id):
                continue
            try:
                client.chat_postMessage(channel=user_id, **message)
                sent += 1
            except SlackApiError as err:
                log.info("survey %s: reminder DM not delivered (%s)", survey.id, _error(err))
            sleep(DM_PACE_SECONDS)
        log.info("survey %s: %s reminder DMs sent (team %s)", survey.id, sent, survey.team_id)

    threading.Thread(target=send, name=f"survey-{survey.id}-reminders", daemon=True).start()
    return ui.reminder_sent(survey, len(todo))


def thank_for_followup(client: WebClient, survey: SurveyInfo, user_id: str) -> None:
    """The ephemeral thank-you after the "Tell us more" modal was saved."""
    _ephemeral(client, survey, user_id, ui.followup_saved(survey))
