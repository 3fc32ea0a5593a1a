"""Putting messages and files in front of people, exactly once: the one posting layer every
feature goes through.

Slack has no idempotency key, and a ``chat.postMessage`` that fails with a 5xx, a timeout or a
dropped connection may have been posted anyway. So every post here carries message
``metadata`` naming the thing posted (``event_type`` + a payload such as ``{"survey_id": 7}``),
goes through a client that retries within the call only what Slack did not process
(``bot.slack.retry.NON_IDEMPOTENT``), and after an ambiguous failure looks for its own message
(``conversations.history``, or ``conversations.replies`` in a thread) before posting again
(``retry.POST_TRIES``). When the outcome stays unknown, ``PostOutcomeUnknown`` says so: the
caller must keep what it posted about (never delete a survey whose message may be out), and
tell the user to look before trying again.

Joining: the bot joins a public channel before posting and uploading (thread replies reach
only member bots, and uploads need membership even where ``chat:write.public`` would post); a
private channel it is not in is a ``UserError`` saying how to invite it.
"""

from __future__ import annotations

import http.client
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.errors import UserError
from bot.slack import client as slack_client
from bot.slack import retry
from bot.slack.errors import PermanentSlackError, classify, error_code

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
# Slack's clock and ours differ a little: look for an earlier post from a bit before the claim.
RECONCILE_SLACK = timedelta(seconds=120)
RECONCILE_MAX_PAGES = 5
# Errors of conversations.join that mean "you must be invited" rather than "try again".
_JOIN_REFUSED = frozenset({"method_not_supported_for_channel_type", "not_in_channel", "missing_scope",
                           "channel_not_found", "is_archived"})


class PostOutcomeUnknown(Exception):
    """A post failed ambiguously and its message could not be found: it may or may not be in
    the channel. Nothing was repeated; the caller keeps its records and tells the user."""

    def __init__(self, channel_id: str, code: str) -> None:
        super().__init__(f"Slack did not confirm the post in {channel_id} ({code})")
        self.channel_id = channel_id
        self.code = code


def refusal(err: BaseException) -> UserError | None:
    """The ``UserError`` (what to do) for a Slack refusal a user can fix, else None."""
    hint = SLACK_REFUSALS.get(error_code(err))
    return UserError(hint) if hint else None


def post_client(client: WebClient) -> WebClient:
    """``client`` without the retries that could double a post (``retry.NON_IDEMPOTENT``)."""
    return slack_client.with_retries(client, retry.NON_IDEMPOTENT)  # type: ignore[no-any-return]


def join(client: WebClient, channel_id: str) -> None:
    """Join a public channel so the app may post and upload there. A channel that cannot be
    joined (private, archived, a DM) raises ``PermanentSlackError("not_in_channel")``."""
    try:
        client.conversations_join(channel=channel_id)
    except SlackApiError as err:
        if error_code(err) in _JOIN_REFUSED:
            raise PermanentSlackError("not_in_channel") from err
        raise


def ensure_member(client: WebClient, channel_id: str) -> None:
    """Make sure the bot can post in ``channel_id`` before any work is done for it: joins a
    public channel; a private one it is not in (Slack says channel_not_found) is a UserError."""
    try:
        info: dict[str, Any] = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as err:
        raise (refusal(err) or err) from err
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
        raise (refusal(err) or err) from err


def metadata(event_type: str, **payload: Any) -> dict[str, Any]:
    """Message metadata naming what a post is (``find_posted`` matches on it)."""
    return {"event_type": event_type, "event_payload": payload}


def _matches(message: Mapping[str, Any], event_type: str, match: Mapping[str, Any]) -> bool:
    found = message.get("metadata") or {}
    if found.get("event_type") != event_type:
        return False
    payload = found.get("event_payload") or {}
    return all(str(payload.get(k)) == str(v) for k, v in match.items())


def find_posted(client: WebClient, *, channel_id: str, event_type: str, match: Mapping[str, Any],
                since: datetime | None = None, thread_ts: str | None = None,
                max_pages: int = RECONCILE_MAX_PAGES) -> str | None:
    """The ts of our message of ``event_type`` whose metadata payload has the values of
    ``match``, in the channel (or the thread of ``thread_ts``), if it is there."""
    cursor: str | None = None
    for _ in range(max_pages):
        kwargs: dict[str, Any] = {"channel": channel_id, "include_all_metadata": True, "limit": 100}
        if since is not None:
            kwargs["oldest"] = f"{since.timestamp():.6f}"
        if cursor:
            kwargs["cursor"] = cursor
        if thread_ts:
            resp = client.conversations_replies(ts=thread_ts, **kwargs)
        else:
            resp = client.conversations_history(**kwargs)
        for message in resp.get("messages") or []:
            if _matches(message, event_type, match):
                return str(message["ts"])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor or not resp.get("has_more"):
            return None
    return None


def send(client: WebClient, *, channel_id: str, message: Mapping[str, Any], meta: Mapping[str, Any],
         thread_ts: str | None = None, join_if_needed: bool = True, **extra: Any) -> str:
    """One attempt at posting ``message`` with ``meta``; a ``not_in_channel`` refusal (nothing
    was posted) joins the channel and posts once more (unless ``join_if_needed`` is False: the
    caller already made sure of membership, so the refusal is the answer). Ambiguous failures propagate: callers
    that keep state across attempts (the digest runner) reconcile them themselves."""
    kwargs: dict[str, Any] = {"channel": channel_id, "text": message["text"], "metadata": dict(meta),
                              "unfurl_links": False, "unfurl_media": False, **extra}
    if message.get("blocks") is not None:
        kwargs["blocks"] = message["blocks"]
    if thread_ts:
        kwargs["thread_ts"] = thread_ts
    poster = post_client(client)
    try:
        return str(poster.chat_postMessage(**kwargs)["ts"])
    except SlackApiError as err:
        if error_code(err) != "not_in_channel" or not join_if_needed:
            raise
    join(client, channel_id)
    return str(poster.chat_postMessage(**kwargs)["ts"])


def post(client: WebClient, *, channel_id: str, message: Mapping[str, Any], meta: Mapping[str, Any],
         match: Mapping[str, Any] | None = None, since: datetime | None = None, thread_ts: str | None = None,
         join_if_needed: bool = True, sleep: Any = time.sleep,
         **extra: Any) -> str:
    """Post exactly once: on an ambiguous failure look for the message (by ``meta``'s event type
    and the payload values in ``match``, default all of them, from ``since``) before trying again. Returns the ts; raises ``PostOutcomeUnknown`` when the last
    attempt's outcome stays unknown, and permanent refusals as they are. How many tries, and the
    pauses between them: ``retry.POST_TRIES``."""
    tries = retry.POST_TRIES
    last = "unknown"
    for attempt in range(tries.attempts):
        try:
            return send(client, channel_id=channel_id, message=message, meta=meta, thread_ts=thread_ts,
                        join_if_needed=join_if_needed, **extra)
        except (SlackApiError, SlackRequestError, OSError, http.client.HTTPException) as err:
            outcome = classify(err)
            if outcome.kind != "ambiguous":
                raise
            last = outcome.error
        try:
            found = find_posted(client, channel_id=channel_id, event_type=meta["event_type"],
                                match=meta.get("event_payload") or {} if match is None else match, since=since,
                                thread_ts=thread_ts)
        except Exception as err:  # noqa: BLE001 - cannot tell: do not risk a double post
            log.warning("post in %s failed ambiguously (%s) and the channel could not be checked (%s)",
                        channel_id, last, error_code(err))
            raise PostOutcomeUnknown(channel_id, last) from err
        if found is not None:
            log.warning("post in %s failed ambiguously (%s) but the message is there (ts %s)", channel_id, last, found)
            return found
        if attempt < tries.attempts - 1:
            sleep(tries.pause(attempt))
    raise PostOutcomeUnknown(channel_id, last)


def upload(client: WebClient, *, channel_id: str, content: bytes, filename: str, title: str,
           thread_ts: str | None = None, **extra: Any) -> str | None:
    """files_upload_v2 into a channel (joining a public one when Slack says not_in_channel),
    at most once: an upload is never retried after a 5xx (a repeat could double the image;
    ``retry.NON_IDEMPOTENT``).
    No ``alt_txt``: it has been reported to make the share fail silently. Returns the file id."""
    kwargs: dict[str, Any] = {"channel": channel_id, "content": content, "filename": filename, "title": title,
                              **extra}
    if thread_ts:
        kwargs["thread_ts"] = thread_ts
    uploader = post_client(client)
    try:
        resp = uploader.files_upload_v2(**kwargs)
    except SlackApiError as err:
        if error_code(err) != "not_in_channel":
            raise
        join(client, channel_id)
        resp = uploader.files_upload_v2(**kwargs)
    files = resp.get("files") or [resp.get("file") or {}]
    return (files[0] or {}).get("id")


DM_EVENT = "pmf_dm"  # a direct message with no more specific name


def dm(client: WebClient, user_id: str, message: Mapping[str, Any], *,
       meta: Mapping[str, Any] | None = None) -> str | None:
    """A message in the user's DM with the app, at most once: posted with ``meta`` (default: a
    fresh key naming this one message) through ``post``. After an ambiguous failure ``post``
    looks in the DM; where it cannot look (the app has no ``im:history``) the outcome stays
    unknown and the message is not sent again: None is returned, and logged. Else the ts."""
    channel = str(client.conversations_open(users=user_id)["channel"]["id"])
    try:
        return post(client, channel_id=channel, message=message, join_if_needed=False,
                    meta=meta or metadata(DM_EVENT, key=uuid.uuid4().hex))
    except PostOutcomeUnknown as err:
        log.warning("a direct message was not confirmed by Slack (%s); not sent again", err.code)
        return None
