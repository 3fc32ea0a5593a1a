"""The Slack side of surveys, shared by the listeners and the clock: post a survey, keep its
live count current, confirm answers, close and post the results, remind.

Orchestration only: the database work is ``bot.surveys.service``, the Block Kit is
``bot.surveys.blocks``. Every function takes the bot's ``WebClient`` (the listener's, or
``ctx.client_for_team`` in jobs, both built by ``bot.slack.client`` so ``SLACK_API_URL`` and the
retry handlers apply).

The live count is refreshed with ``chat.update`` (Tier 3, about 50 calls a minute per
workspace). Each survey's message is updated at most once per ``Tuning.count_update_interval``: the
first answer after a quiet period updates at once, later ones inside the interval leave a
trailing update that fires when the interval ends, so the final count is always shown. The
throttle state lives in the survey row (``count_shown``, ``count_updated_at``, claimed by a
conditional UPDATE), so several processes share one budget; the in-process timer is only a
prompt, and the clock's ``refresh_survey_counts`` repairs a trailing update lost to a restart.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.errors import UserError
from bot.slack import client as slack_client
from bot.slack import post
from bot.slack import retry as slack_retry
from bot.slack.errors import PermanentSlackError, classify, error_code, retry_after
from bot.slack.respond import Responder
from bot.surveys import blocks as ui
from bot.surveys import service as surveys
from bot.surveys.answers import store_anonymous_tier, store_email_hash
from bot.surveys.ids import Metadata
from bot.surveys.results import close_survey, set_results_ts
from bot.surveys.values import AnswerOutcome, ReplyOutcome, SurveyInfo, SurveyResults

log = logging.getLogger(__name__)

METADATA_SURVEY = "pmf_survey"  # message metadata event type of a survey's parent message
# Slack errors that mean "this channel cannot take our messages" (the user can fix these).
_CHANNEL_ERRORS = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action",
                   "method_not_supported_for_channel_type", "cant_invite_self"}


# ----------------------------------------------------------------------------- start


def survey_meta(survey_id: int) -> dict[str, Any]:
    """The metadata of a survey's parent message (``bot.slack.post`` finds it by this)."""
    return post.metadata(METADATA_SURVEY, survey_id=survey_id)


def post_survey(ctx: AppContext, client: WebClient, survey: SurveyInfo) -> SurveyInfo:
    """Post the survey message (exactly once) and its thread intro. The bot joins public
    channels first: thread replies only reach bots that are members, and chat:write.public
    would post without joining. A refused post frees the channel again and says what to do; a
    post whose outcome stays unknown keeps the survey (its message may be out and answered)."""
    try:
        post.join(client, survey.channel_id)
    except (SlackApiError, PermanentSlackError) as err:
        # Private channels, missing channels:join, shared channels: posting tells us if it matters.
        log.info("conversations.join %s failed (%s); posting anyway", survey.channel_id, error_code(err))
    try:
        ts = post.post(client, channel_id=survey.channel_id, message=ui.survey_message(survey),
                       meta=survey_meta(survey.id), since=survey.opened_at - post.RECONCILE_SLACK)
    except post.PostOutcomeUnknown as err:
        log.warning("survey %s: post outcome unknown in %s (%s); keeping the survey", survey.id,
                    survey.channel_id, err.code)
        raise UserError(f"Slack did not confirm the survey post in <#{survey.channel_id}> ({err.code}). "
                        "Look in the channel: if the survey is there, it works as usual; if it is not, "
                        "run `/pmf-check survey close` there and start it again.") from None
    except (SlackApiError, PermanentSlackError) as err:
        surveys.discard_survey(ctx.factory, survey_id=survey.id)
        code = error_code(err)
        if code in _CHANNEL_ERRORS:
            raise UserError(f"I can't post in <#{survey.channel_id}> ({code}). Invite me with "
                            "`/invite @PMF Gate` there, then start the survey again.") from None
        raise
    surveys.attach_message(ctx.factory, survey_id=survey.id, message_ts=ts,
                           channel_members=_channel_members(client, survey.channel_id))
    info = surveys.get_survey(ctx.factory, survey.id)
    assert info is not None
    try:
        post.post(client, channel_id=survey.channel_id, thread_ts=ts, message=ui.thread_intro(info),
                  meta=post.metadata(Metadata.INTRO, survey_id=survey.id), join_if_needed=False)
    except (SlackApiError, PermanentSlackError, post.PostOutcomeUnknown) as err:
        log.warning("survey %s: thread intro not posted (%s)", survey.id, error_code(err))
    log.info("survey %s posted in %s (team %s, anonymous=%s)", survey.id, survey.channel_id, survey.team_id,
             survey.anonymous)
    return info


def _channel_members(client: WebClient, channel_id: str) -> int | None:
    """How many people the channel holds (Slack counts the bot among them, so one is taken
    off): the base of the response rate when answers cannot be matched. None when unknown."""
    try:
        n = (client.conversations_info(channel=channel_id, include_num_members=True).get("channel") or {}).get(
            "num_members")
    except SlackApiError as err:
        log.info("conversations.info %s: member count unknown (%s)", channel_id, error_code(err))
        return None
    return max(int(n) - 1, 1) if isinstance(n, int) and n > 0 else None


# ----------------------------------------------------------------------------- answers


def _fail_fast(client: WebClient) -> WebClient:
    """``client`` without the rate-limit retry handler. chat.postEphemeral is Tier 4 (about 100
    a minute per workspace) while a survey can draw 1,000 answers a minute: sleeping out a
    Retry-After on a listener thread would hold the pool that acks every other click."""
    return slack_client.with_retries(client, slack_retry.LISTENER)  # type: ignore[no-any-return]


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
        code = error_code(err)
        if not (classify(err).kind == "retry" and response_url):  # rate limited
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
    if outcome.status in ("recorded", "answer"):
        match_respondent(ctx, client, survey, user_id)


def match_respondent(ctx: AppContext, client: WebClient, survey: SurveyInfo, user_id: str) -> None:
    """Match a respondent (their email from users.info, cached on the context) so the report can
    weight their answer by how active they are: a named respondent's answer keeps the keyed hash
    of their email; an anonymous one only the matched user's activity tier, found now. Best
    effort: an answer that cannot be matched still counts, unweighted."""
    try:
        # Without the rate-limit retry: a burst of answers must not sleep out users.info's
        # Retry-After on the listener threads (see _fail_fast); a limited call leaves it unmatched.
        email = ctx.user_emails.email(_fail_fast(client), survey.team_id, user_id)
        if email and survey.anonymous:
            store_anonymous_tier(ctx.factory, survey_id=survey.id, user_id=user_id, email=email,
                                 secret=ctx.secret_key, now=ctx.now())
        elif email:
            store_email_hash(ctx.factory, survey_id=survey.id, user_id=user_id, email=email, secret=ctx.secret_key)
    except Exception as err:  # noqa: BLE001 - the answer is stored; only its matching is lost
        log.warning("survey %s: respondent not matched (%s)", survey.id, type(err).__name__)


# ----------------------------------------------------------------------------- live count


def _trailing(ctx: AppContext, client: WebClient, survey_id: int, delay: float) -> None:
    """Make sure a refresh of this survey's count follows (at most one pending per survey)."""

    def fire() -> None:
        try:
            request_count_refresh(ctx, client, survey_id)
        except Exception:  # noqa: BLE001 - a timer thread has nobody to report to; the clock repairs it
            log.exception("survey %s: trailing count refresh failed", survey_id)

    ctx.deferred.schedule(("survey-count", survey_id), delay, fire)


def request_count_refresh(ctx: AppContext, client: WebClient, survey_id: int) -> bool:
    """Show the current count now if this survey's budget allows, else make sure a trailing
    refresh follows. True when this call updated the message."""
    now = ctx.now()
    interval = ctx.tuning.count_update_interval
    claim = surveys.claim_count_update(ctx.factory, survey_id=survey_id, now=now, interval=interval)
    if claim.survey is None:
        if claim.retry_at is not None:
            delay = max(0.05, (claim.retry_at - now).total_seconds() + 0.05)
            _trailing(ctx, client, survey_id, delay)
        return False
    survey = claim.survey
    assert survey.message_ts is not None  # the claim requires a posted message
    try:
        _fail_fast(client).chat_update(channel=survey.channel_id, ts=survey.message_ts, **ui.survey_message(survey))
    except SlackApiError as err:
        # Marked stale: a later refresh (trailing, or the clock's sweep) shows the count again.
        surveys.count_update_failed(ctx.factory, survey_id=survey_id)
        log.warning("survey %s: count update failed (%s)", survey_id, error_code(err))
        if classify(err).kind == "retry":  # rate limited
            # Another survey of the workspace used up chat.update's tier: back off as told,
            # off the listener thread.
            _trailing(ctx, client, survey_id, slack_retry.honour_retry_after(interval, retry_after(err)).total_seconds())
        return False
    # A close may have happened while our update was in flight: never leave an open rendering
    # (with buttons) on a closed survey.
    latest = surveys.get_survey(ctx.factory, survey_id)
    if latest is not None and latest.closed_at is not None:
        update_parent(client, latest)
    return True


def refresh_survey_counts(ctx: AppContext, now: datetime) -> int:
    """Clock job: bring every open survey's shown count up to date (repairs trailing updates
    lost to a restart and failed chat.update calls). Returns how many were updated."""
    done = 0
    for sid in surveys.stale_count_surveys(ctx.factory, now=now, interval=ctx.tuning.count_update_interval):
        info = surveys.get_survey(ctx.factory, sid)
        if info is None:
            continue
        try:
            done += request_count_refresh(ctx, ctx.client_for_team(info.team_id), sid)
        except Exception:  # noqa: BLE001 - one workspace's failure must not stop the others
            log.exception("survey %s: count refresh failed (team %s)", sid, info.team_id)
    return done


# ----------------------------------------------------------------------------- close and results


def update_parent(client: WebClient, survey: SurveyInfo) -> None:
    if not survey.message_ts:
        return
    try:
        client.chat_update(channel=survey.channel_id, ts=survey.message_ts, **ui.survey_message(survey))
    except SlackApiError as err:
        log.warning("survey %s: parent message not updated (%s)", survey.id, error_code(err))


def post_results(ctx: AppContext, client: WebClient, results: SurveyResults) -> str:
    """Post the results in the survey's thread (exactly once: a results post already in the
    thread, from a send whose outcome was never learnt, is found by its metadata), then the
    chart into the same thread. Returns the results message ts (also stored on the survey)."""
    survey = results.survey
    since = survey.closed_at - post.RECONCILE_SLACK if survey.closed_at else None
    ts = post.post(client, channel_id=survey.channel_id, thread_ts=survey.message_ts,
                   message=ui.results_message(results), meta=ui.results_metadata(results),
                   match={"survey_id": survey.id}, since=since)
    set_results_ts(ctx.factory, survey_id=survey.id, ts=ts)
    try:
        from bot.surveys.charts import survey_chart  # matplotlib: only when a survey closes

        png = survey_chart(results.counts, product_name=survey.product_name, as_of=results.as_of,
                           signal=results.signal, threshold=results.settings.threshold)
        post.upload(client, channel_id=survey.channel_id, thread_ts=survey.message_ts, content=png,
                    filename=f"{survey.product_slug}-survey-{survey.id}.png", title=ui.results_chart_alt(results),
                    request_file_info=False)
    except (SlackApiError, PermanentSlackError) as err:
        log.warning("survey %s: results chart not uploaded (%s)", survey.id, error_code(err))
    log.info("survey %s results posted in %s (n=%s)", survey.id, survey.channel_id, results.signal.responses)
    return ts


def close_and_post(ctx: AppContext, client: WebClient, survey_id: int, now: datetime | None = None) -> SurveyResults | None:
    """Close a survey (command or deadline) and post its results; None when it was already
    closed. The close commits first, so a Slack failure afterwards leaves a closed survey whose
    results the clock posts later (``close_due_surveys``)."""
    results = close_survey(ctx.factory, survey_id=survey_id, now=now or ctx.now())
    if results is None:
        return None
    update_parent(client, results.survey)
    try:
        post_results(ctx, client, results)
    except post.PostOutcomeUnknown as err:
        raise UserError(f"The survey is closed, but Slack did not confirm the results post in its thread "
                        f"({err.code}). PMF Gate checks the thread and posts them within a few minutes if they "
                        "are not there; nothing is lost.") from None
    return results


def thank_for_followup(client: WebClient, survey: SurveyInfo, user_id: str) -> None:
    """The ephemeral thank-you after the "Tell us more" modal was saved."""
    _ephemeral(client, survey, user_id, ui.followup_saved(survey))
