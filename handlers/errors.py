"""The one app-wide error handler: whoever triggered a failing listener hears about it.

``UserError`` (bad input, unknown product, a channel the bot cannot post in) becomes an
ephemeral "what was wrong + usage" reply; anything else (a bug, the database or Slack being
down) is logged with its context and a reference, and the user gets a short apology with the
same reference instead of silence. Where the reply goes: the ``response_url`` when there is one
(commands, message buttons), else a DM for interactions from the Home tab or a modal, else the
Home tab itself for ``app_home_opened``. Reporting never raises: a failed reply is logged.

Only a verified request is acted on (``verified``): Bolt also calls this handler when its own
signature check raises, with a body anyone could have written.

Work done after ``ack()`` should be a job (``bot.jobs``: the listener defers it), or at least run
inside ``with reported(body, client):``. Bolt's thread runner, when a listener raises after it
acked, resets the ack it has not sent yet: Slack then gets no answer for 3 s. ``reported``
tells the user without letting the exception reach Bolt; as a safety net for listeners that do
not use it, the app-wide handler holds the failing thread a moment so Bolt sends the ack first.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.errors import UserError
from bot.render import blocks
from bot.slack import guard, post
from bot.slack.respond import Responder
from handlers.commands.router import Router

log = logging.getLogger(__name__)

ERROR_EVENT = "pmf_error"  # the metadata event type of an error told by DM (post.dm reconciles on it)


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.error
    def on_error(error: Exception, body: dict[str, Any], client: WebClient, context: BoltContext, request: Any) -> None:
        if not verified(request, ctx.settings.slack_signing_secret or ""):
            # Bolt calls this handler for errors raised before or inside its signature check too:
            # nothing an unverified body names (response_url, user, team) may be acted on or trusted
            # in the logs (bot.webio refuses such requests first; this is the second line).
            log.debug("error on an unverified request, not acted on: %s", type(error).__name__)
            return
        tell_user(error, body or {}, client)
        ack = getattr(context, "ack", None)
        if ack is not None and ack.response is not None:
            time.sleep(ACK_GRACE_SECONDS)  # see the module docstring


ACK_GRACE_SECONDS = 0.2


def verified(request: Any, secret: str) -> bool:
    """Whether Bolt's ``request`` is one Slack signed (Socket Mode's come over Slack's own
    authenticated connection). Checked again here because Bolt runs the error handler even when
    its own check raised."""
    if request is None:
        return False
    if getattr(request, "mode", "") == "socket_mode":
        return True
    headers = getattr(request, "headers", None) or {}
    return guard.is_verified(secret, getattr(request, "raw_body", "") or "",
                             guard.header(headers, "X-Slack-Request-Timestamp"),
                             guard.header(headers, "X-Slack-Signature"))


@contextmanager
def reported(body: dict[str, Any], client: WebClient) -> Iterator[None]:
    """Run post-ack work; any exception is told to the user (and logged), not raised to Bolt."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - reported to the user and logged by tell_user
        tell_user(error, body, client)


def describe(error: BaseException, ref: str) -> dict[str, Any]:
    """The message a person sees for ``error``."""
    if isinstance(error, UserError):
        return blocks.error_message(str(error), error.usage)
    if isinstance(error, SlackApiError):
        code = error.response.get("error", "unknown_error")
        text = (f"Slack refused a request PMF Gate made (`{code}`), so this did not finish. "
                f"Nothing else was changed. Reference `{ref}`.")
    else:
        text = ("PMF Gate hit an internal problem (its database or Slack may be unavailable), so this did not "
                f"finish and nothing was changed. Please try again in a minute. Reference `{ref}`.")
    return blocks.error_message(text)


def _where(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    user = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    return team, channel, user


def _response_url(body: dict[str, Any]) -> str | None:
    if body.get("response_url"):
        return str(body["response_url"])
    urls = body.get("response_urls") or []
    return urls[0].get("response_url") if urls else None


def _may_log_user(body: dict[str, Any]) -> bool:
    """Survey answers may be anonymous: whoever clicked, submitted or replied there is never
    written to the logs (message events are survey thread replies in this app)."""
    ids = [a.get("action_id", "") for a in body.get("actions") or []]
    ids.append((body.get("view") or {}).get("callback_id", ""))
    if any(str(i).startswith("pmf.survey.") for i in ids):
        return False
    return (body.get("event") or {}).get("type") != "message"


def tell_user(error: BaseException, body: dict[str, Any], client: WebClient) -> None:
    ref = uuid.uuid4().hex[:8]
    team, channel, user = _where(body)
    logged_user = user if _may_log_user(body) else "(not logged)"
    if isinstance(error, UserError):
        log.info("user error team=%s channel=%s user=%s: %s", team, channel, logged_user, error)
    else:
        log.error("listener failed team=%s channel=%s user=%s ref=%s: %s", team, channel, logged_user, ref,
                  type(error).__name__, exc_info=error)
    message = describe(error, ref)
    try:
        url = _response_url(body)
        if url:
            # A command's first reply replaces its "Checking…" placeholder; a button in a shared
            # message must not replace that message, so it gets a new ephemeral one.
            Responder(url)(**message, replace_original="command" in body)
        elif body.get("type") in ("block_actions", "view_submission", "shortcut") and user and client:
            post.dm(client, user, message, meta=post.metadata(ERROR_EVENT, ref=ref))
        elif (body.get("event") or {}).get("type") == "app_home_opened" and user and client:
            client.views_publish(user_id=user, view={"type": "home", "blocks": message["blocks"]})
        else:
            log.warning("no way to tell anyone about ref=%s (team=%s, type=%s)", ref, team, body.get("type"))
    except Exception as reply_error:  # noqa: BLE001 - the error handler itself must never raise
        log.error("could not tell user=%s team=%s about ref=%s: %s", logged_user, team, ref, reply_error)
