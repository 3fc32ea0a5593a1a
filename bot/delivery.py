"""Putting reports and charts in front of people through the Web API: join a public channel
before posting, explain how to invite the bot into a private one, post the report and upload
its chart (files_upload_v2), and send a private chart to the user's DM with the bot.

Why the DM for private charts: an ephemeral message cannot carry a file, and an image block
needs a URL Slack can fetch. Uploading into the user's own DM with the app keeps the chart
inside Slack's access control (nobody else can open it, no URL of ours to guess or leak),
works the same in HTTP and Socket Mode, and needs only ``im:write`` + ``files:write``.

A post whose outcome is unknown (the request timed out after it went out) is reconciled
before anything else happens: the message carries ``metadata`` naming the delivery, and the
channel's latest messages are checked for it, so a report is neither lost nor doubled.

Slack's permanent refusals become ``UserError`` with what to do; anything else propagates.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import slack_client
from bot.errors import UserError

log = logging.getLogger(__name__)

INVITE_HINT = ("PMF Gate is not a member of this private channel, so it cannot post here. "
               "Invite it with `/invite @PMF Gate` (or channel details → Integrations → Add apps), then run the "
               "command again.")
SLACK_REFUSALS = {
    "not_in_channel": INVITE_HINT,
    "channel_not_found": INVITE_HINT,
    "is_archived": "This channel is archived, so PMF Gate cannot post in it.",
    "restricted_action": "A workspace setting stops PMF Gate from posting in this channel; ask an admin.",
    "missing_scope": "PMF Gate lacks a permission for this: reinstall the app to grant the scopes in its manifest.",
    "method_not_supported_for_channel_type": INVITE_HINT,
    "cannot_dm_bot": "PMF Gate cannot open a direct message with this user.",
}


def slack_error(err: SlackApiError) -> str:
    return str(err.response.get("error") or "unknown_error")


def _refusal(err: SlackApiError) -> UserError | None:
    hint = SLACK_REFUSALS.get(slack_error(err))
    return UserError(hint) if hint else None


def ensure_member(client: WebClient, channel_id: str) -> None:
    """Make sure the bot can post in ``channel_id``: joins a public channel; a private one it
    is not in (which Slack reports as channel_not_found) is a UserError saying how to invite it."""
    try:
        info: dict[str, Any] = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as err:
        refusal = _refusal(err)
        if refusal:
            raise refusal from err
        raise
    if info.get("is_im") or info.get("is_member"):
        return
    if info.get("is_archived"):
        raise UserError(SLACK_REFUSALS["is_archived"])
    if info.get("is_private") or info.get("is_mpim"):
        raise UserError(INVITE_HINT)
    try:
        client.conversations_join(channel=channel_id)
        log.info("joined channel %s to post", channel_id)
    except SlackApiError as err:
        refusal = _refusal(err)
        if refusal:
            raise refusal from err
        raise


def post_report(client: WebClient, channel_id: str, message: dict[str, Any], chart: bytes | None, *,
                filename: str, title: str) -> str:
    """Post ``message`` in the channel, then its chart below it; returns the message ts."""
    ensure_member(client, channel_id)
    delivery_id = uuid.uuid4().hex
    try:
        ts = _post_once(client, channel_id, message, delivery_id)
        if chart is not None:
            # No alt_txt: it has been reported to make the share fail silently.
            client.files_upload_v2(channel=channel_id, file=chart, filename=filename, title=title)
    except SlackApiError as err:
        refusal = _refusal(err)
        if refusal:
            raise refusal from err
        raise
    return ts


METADATA_EVENT = "pmf_gate_report"
POST_ATTEMPTS = 3


def _ambiguous(err: Exception) -> bool:
    """A failure after which the post may nonetheless have reached the channel."""
    if isinstance(err, (TimeoutError, URLError, ConnectionError)):
        return True
    return isinstance(err, SlackApiError) and getattr(err.response, "status_code", 200) >= 500


def _post_once(client: WebClient, channel_id: str, message: dict[str, Any], delivery_id: str) -> str:
    """Post with metadata naming the delivery. Slack has no idempotency key, so the client's
    own 5xx/connection retries are off here: after an ambiguous failure we look for the
    message in the channel first, and post again only when it is not there (429s are still
    retried by the client: Slack did not process those)."""
    poster = slack_client.with_retries(client, server_errors=False, connection_errors=False)
    for attempt in range(POST_ATTEMPTS):
        try:
            return str(poster.chat_postMessage(
                channel=channel_id, text=message["text"], blocks=message["blocks"], unfurl_links=False,
                unfurl_media=False, metadata={"event_type": METADATA_EVENT, "event_payload": {"delivery": delivery_id}},
            )["ts"])
        except (SlackApiError, TimeoutError, URLError, ConnectionError) as err:
            if not _ambiguous(err):
                raise
            found = find_delivery(client, channel_id, delivery_id)
            if found is not None:
                log.warning("chat.postMessage failed ambiguously in %s but the report was posted (ts %s)",
                            channel_id, found)
                return found
            if attempt == POST_ATTEMPTS - 1:
                raise
            time.sleep(0.5 * 2 ** attempt)
    raise AssertionError("unreachable")


def find_delivery(client: WebClient, channel_id: str, delivery_id: str, *, limit: int = 20) -> str | None:
    """The ts of the message we posted with ``delivery_id`` in its metadata, if it is there."""
    history = client.conversations_history(channel=channel_id, limit=limit, include_all_metadata=True)
    for m in history.get("messages") or []:
        meta = m.get("metadata") or {}
        if meta.get("event_type") == METADATA_EVENT and (meta.get("event_payload") or {}).get("delivery") == delivery_id:
            return str(m["ts"])
    return None


_sent_charts: OrderedDict[tuple[str, str, str], str] = OrderedDict()
_sent_lock = threading.Lock()
SENT_CHARTS_KEPT = 2048


def chart_to_dm(client: WebClient, team_id: str, user_id: str, chart: bytes, *, filename: str, title: str,
                comment: str) -> str:
    """Upload a private chart into the user's DM with the app; returns a mrkdwn note linking to
    it. The same chart (byte for byte) already sent to this user is linked, not sent again, so
    running ``/pmf-check`` repeatedly does not fill their DM with copies."""
    key = (team_id, user_id, hashlib.sha256(chart).hexdigest())
    with _sent_lock:
        link = _sent_charts.get(key)
    if link is None:
        dm = client.conversations_open(users=user_id)["channel"]["id"]
        upload = client.files_upload_v2(channel=dm, file=chart, filename=filename, title=title,
                                        initial_comment=comment)
        # completeUploadExternal may not return a permalink; Slack's app_redirect opens the DM.
        link = (upload.get("file") or {}).get("permalink") or \
            f"https://slack.com/app_redirect?channel={dm}&team={team_id}"
        with _sent_lock:
            _sent_charts[key] = link
            while len(_sent_charts) > SENT_CHARTS_KEPT:
                _sent_charts.popitem(last=False)
    return f":bar_chart: Retention chart: <{link}|in your DM with PMF Gate> — only you can see it."


def forget_sent_charts() -> None:
    with _sent_lock:
        _sent_charts.clear()
