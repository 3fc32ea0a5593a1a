"""Putting a report in front of people: in a channel (``/pmf-check share``, the App Home's
"Run check" into the user's DM) through the one posting layer, exactly once, with its chart
below it."""

from __future__ import annotations

import uuid
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.jobs.effects import Effects, NoEffects
from bot.slack import post
from bot.slack.errors import PermanentSlackError

METADATA_EVENT = "pmf_gate_report"


def share_report(client: WebClient, channel_id: str, message: dict[str, Any], chart: bytes | None, *,
                 filename: str, title: str, steps: Effects | None = None, delivery: str | None = None,
                 rerun: bool = False) -> str:
    """Post ``message`` in the channel, then its chart below it; returns the message ts.
    Refusals a user can fix become a ``UserError`` saying what to do. In a job, ``steps`` records
    the post and the upload (a rerun skips them) and ``delivery`` (the job's key) names the post,
    so a rerun first looks for it in the channel (it may have gone out just before a crash)."""
    steps = steps if steps is not None else NoEffects()
    meta = post.metadata(METADATA_EVENT, delivery=delivery or uuid.uuid4().hex)

    def send() -> str:
        if rerun:
            found = post.find_posted(client, channel_id=channel_id, event_type=METADATA_EVENT,
                                     match=meta["event_payload"])
            if found:
                return found
        return post.post(client, channel_id=channel_id, message=message, meta=meta, join_if_needed=False)

    try:
        if not steps.done("post"):
            post.ensure_member(client, channel_id)
        ts = str(steps.once("post", send))
        if chart is not None:
            steps.once("upload", lambda: post.upload(client, channel_id=channel_id, content=chart, filename=filename,
                                                     title=title))
    except post.PostOutcomeUnknown as err:
        raise UserError(f"Slack did not confirm the post in <#{channel_id}> ({err.code}). Look in the channel "
                        "before trying again, so it does not appear twice.") from None
    except (SlackApiError, PermanentSlackError) as err:
        refusal = post.refusal(err)
        if refusal is not None:
            raise refusal from err
        raise
    return ts

