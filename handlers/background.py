"""Work that runs after a listener's ack, on the context's work pool instead of Bolt's
listener threads.

Bolt runs every listener — and so every ack — on one executor. Work that keeps a listener
thread busy for a second (a report, its chart, several Slack calls) lets a burst of it fill
that executor, and the acks queued behind wait, or past 3 s are lost (Slack shows the user an
error). ``submit`` hands the work to ``ctx.work`` (``Tuning.work_threads`` per process; more
wait in its queue, never in an ack) and reports any exception to the user through
``handlers.errors``.

Work whose ack showed a placeholder is recorded while it runs (``bot.workspaces.pending``, on the
work pool, never before the ack): if the process dies meanwhile, the next request here or a
restart (``recover_lost``) replaces the placeholder with "this did not finish, try again".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.context import AppContext
from bot.slack.respond import Responder
from bot.workspaces import pending
from handlers.errors import reported

log = logging.getLogger(__name__)


def submit(ctx: AppContext, work: Callable[[], Any], *, body: dict[str, Any], client: WebClient,
           placeholder: str | None = None) -> None:
    """Run ``work()`` soon; an exception is told to whoever sent ``body``. ``placeholder``: what
    the ack said it is working on (recorded until the work ends)."""
    url = body.get("response_url")

    def run() -> None:
        work_id = None
        if placeholder and url:
            try:
                work_id = pending.start(ctx.factory, team_id=str(body.get("team_id") or ""), response_url=str(url),
                                        what=placeholder, now=ctx.now())
            except Exception as err:  # noqa: BLE001 - the trace is a safety net; the work still runs
                log.warning("could not record pending work: %s", type(err).__name__)
        try:
            with reported(body, client):
                work()
        finally:
            if work_id is not None:
                try:
                    pending.finish(ctx.factory, work_id)
                except Exception as err:  # noqa: BLE001 - a stale row is found by its age later
                    log.warning("could not clear pending work: %s", type(err).__name__)

    ctx.work.submit(run)
    if time.monotonic() - ctx.lost_work_checked >= pending.SWEEP_EVERY_SECONDS:
        ctx.lost_work_checked = time.monotonic()
        ctx.work.submit(lambda: recover_lost(ctx))


def recover_lost(ctx: AppContext) -> None:
    """Replace the placeholders of work lost with its process (at start-up, and now and then)."""
    try:
        pending.recover(ctx.factory, now=ctx.now(),
                        tell=lambda url, text: Responder(url)(text=text, replace_original=True))
    except Exception as err:  # noqa: BLE001 - runs on the work pool; nobody to report to
        log.warning("could not look for lost work: %s", type(err).__name__)
