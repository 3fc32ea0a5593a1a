"""The clock's survey work: close the surveys whose deadline passed and post their results,
post results a crash or an outage kept back (found first in the thread by their metadata, so
never twice), and repair live counts a restart left stale."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import AppContext, ScheduledJob
from bot.slack import post, retry
from bot.surveys import service as surveys
from bot.surveys.ids import Metadata
from bot.surveys.results import due_surveys, results_for, set_results_ts, unposted_results
from bot.surveys.slack import (
    close_and_post,
    post_results,
    refresh_survey_counts,
    update_parent,
)

log = logging.getLogger(__name__)


def _retry_results(ctx: AppContext, survey_id: int, now: datetime) -> bool:
    results = results_for(ctx.factory, survey_id=survey_id, now=now)
    if results is None:
        return False
    client = ctx.client_for_team(results.survey.team_id)
    survey = results.survey
    found = None
    if survey.message_ts and survey.closed_at is not None:
        found = post.find_posted(client, channel_id=survey.channel_id, thread_ts=survey.message_ts,
                                 event_type=Metadata.RESULTS, match={"survey_id": survey.id},
                                 since=survey.closed_at - post.RECONCILE_SLACK)
    if found:
        set_results_ts(ctx.factory, survey_id=survey_id, ts=found)
        return False
    update_parent(client, results.survey)
    post_results(ctx, client, results)
    return True


def close_due_surveys(ctx: AppContext, now: datetime) -> int:
    """Clock job: close every survey whose deadline has passed and post its results; also post
    results that a crash or an outage kept from being posted, and refresh stale live counts
    (``refresh_survey_counts``). Returns how many it closed.
    Idempotent: the close is a conditional update, so several clocks close a survey once."""
    closed = 0
    for sid in due_surveys(ctx.factory, now=now):
        info = surveys.get_survey(ctx.factory, sid)
        if info is None:
            continue
        try:
            if close_and_post(ctx, ctx.client_for_team(info.team_id), sid, now) is not None:
                closed += 1
        except Exception:  # noqa: BLE001 - keep closing the others; unposted results are retried below
            log.exception("survey %s: closing at the deadline failed (team %s, channel %s)", sid, info.team_id,
                          info.channel_id)
    for sid in unposted_results(ctx.factory, now=now, grace=retry.RESULTS_REPOST_AFTER,
                                 horizon=retry.RESULTS_REPOST_UNTIL):
        try:
            _retry_results(ctx, sid, now)
        except Exception:  # noqa: BLE001
            log.exception("survey %s: posting results failed again", sid)
    refresh_survey_counts(ctx, now)
    return closed




SURVEY_TICK_SECONDS = 60

JOB = ScheduledJob(id="pmf.clock.survey_deadlines", name="survey deadlines", every_seconds=SURVEY_TICK_SECONDS,
                   start=lambda ctx: lambda: close_due_surveys(ctx, ctx.now()))
