"""Work that runs after a listener's ack, on the context's work pool instead of Bolt's
listener threads.

Bolt runs every listener — and so every ack — on one executor. Work that keeps a listener
thread busy for a second (a report, its chart, several Slack calls) lets a burst of it fill
that executor, and the acks queued behind wait, or past 3 s are lost (Slack shows the user an
error). ``submit`` hands the work to ``ctx.work`` (``Tuning.work_threads`` per process; more
wait in its queue, never in an ack) and reports any exception to the user through
``handlers.errors``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.context import AppContext
from handlers.errors import reported


def submit(ctx: AppContext, work: Callable[[], Any], *, body: dict[str, Any], client: WebClient) -> None:
    """Run ``work()`` soon; an exception is told to whoever sent ``body``."""

    def run() -> None:
        with reported(body, client):
            work()

    ctx.work.submit(run)
