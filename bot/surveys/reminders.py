"""``/pmf-check survey remind [dm]``: a reminder in the survey's thread and, for a named survey,
direct messages to members who have not answered, paced under Slack's limits, once a day.

Both go through the exactly-once layer (``bot.slack.post``): the thread reminder carries metadata
naming this request, so a 5xx or timeout after Slack posted it is found in the thread instead of
being posted again; each DM carries the survey, member and day."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.errors import UserError
from bot.slack import post
from bot.slack.errors import PermanentSlackError, error_code
from bot.surveys import blocks as ui
from bot.surveys import service as surveys
from bot.surveys.ids import Metadata
from bot.surveys.values import SurveyInfo

log = logging.getLogger(__name__)

MAX_REMINDER_DMS = 500
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
    """Without ``dm``: post a reminder in the survey's thread (also shown in the channel). With
    ``dm``, for a named survey: only DM the channel's members who have not answered, paced under
    Slack's limits on a background thread, at most one round a day — the usual order is
    ``remind`` then ``remind dm``, and the channel must not get the same reminder twice. Returns
    the reply for the invoker."""
    if not survey.message_ts:
        raise UserError("The survey message was never posted; close it and start again.")
    if not dm:
        try:
            post.post(client, channel_id=survey.channel_id, thread_ts=survey.message_ts, reply_broadcast=True,
                      message=ui.survey_reminder(survey), join_if_needed=False,
                      meta=post.metadata(Metadata.REMINDER, survey_id=survey.id, request=uuid.uuid4().hex))
        except post.PostOutcomeUnknown as err:
            log.warning("survey %s: reminder outcome unknown in %s (%s)", survey.id, survey.channel_id, err.code)
            raise UserError(f"Slack did not confirm the reminder in <#{survey.channel_id}> ({err.code}). Look in "
                            "the survey's thread before reminding again: it may be there.") from None
        return ui.reminder_sent(survey, None, "Add `dm` (`/pmf-check survey remind dm`) to message "
                                "members who haven't answered as well." if not survey.anonymous else None)
    if survey.anonymous:
        return ui.reminder_not_sent(survey, "No direct messages: in an anonymous survey nobody, PMF Gate "
                                    "included, may know who has not answered. `/pmf-check survey remind` "
                                    "reminds everyone in its thread.")
    if not surveys.claim_reminder(ctx.factory, team_id=survey.team_id, survey_id=survey.id,
                                  day=ctx.now().date()):
        return ui.reminder_not_sent(survey, "Direct messages already went out today; they are sent at most "
                                    "once a day.")
    members = [m for m in _members(client, survey.channel_id) if m != bot_user_id]
    todo = surveys.non_respondents(ctx.factory, survey_id=survey.id, member_ids=members)[:MAX_REMINDER_DMS]
    try:
        permalink = client.chat_getPermalink(channel=survey.channel_id, message_ts=survey.message_ts).get("permalink")
    except SlackApiError:
        permalink = None
    message = ui.reminder_dm(survey, permalink)
    day = ctx.now().date().isoformat()

    def send() -> None:
        sent = 0
        for user_id in todo:
            if not _is_person(client, user_id):
                continue
            try:
                if post.dm(client, user_id, message, meta=post.metadata(Metadata.REMINDER_DM, survey_id=survey.id,
                                                                         user=user_id, day=day)):
                    sent += 1
            except (SlackApiError, PermanentSlackError) as err:
                log.info("survey %s: reminder DM not delivered (%s)", survey.id, error_code(err))
            sleep(ctx.tuning.reminder_dm_pace)
        log.info("survey %s: %s reminder DMs sent (team %s)", survey.id, sent, survey.team_id)

    threading.Thread(target=send, name=f"survey-{survey.id}-reminders", daemon=True).start()
    return ui.reminder_sent(survey, len(todo), in_thread=False)


