"""Putting a report in front of people: in a channel (``/pmf-check share``, the App Home's
"Run check" into the user's DM) through the one posting layer, exactly once, with its chart
below it."""

from __future__ import annotations

import uuid
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.slack import post
from bot.slack.errors import PermanentSlackError

METADATA_EVENT = "pmf_gate_report"


def share_report(client: WebClient, channel_id: str, message: dict[str, Any], chart: bytes | None, *,
                 filename: str, title: str) -> str:
    """Post ``message`` in the channel, then its chart below it; returns the message ts.
    Refusals a user can fix become a ``UserError`` saying what to do."""
    post.ensure_member(client, channel_id)
    try:
        ts = post.post(client, channel_id=channel_id, message=message,
                       meta=post.metadata(METADATA_EVENT, delivery=uuid.uuid4().hex), join_if_needed=False)
        if chart is not None:
            post.upload(client, channel_id=channel_id, content=chart, filename=filename, title=title)
    except post.PostOutcomeUnknown as err:
        raise UserError(f"Slack did not confirm the post in <#{channel_id}> ({err.code}). Look in the channel "
                        "before trying again, so it does not appear twice.") from None
    except (SlackApiError, PermanentSlackError) as err:
        refusal = post.refusal(err)
        if refusal is not None:
            raise refusal from err
        raise
    return ts

