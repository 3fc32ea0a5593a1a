"""Work that runs after a listener's ack, on a pool of its own instead of Bolt's listener threads.

Bolt runs every listener — and so every ack — on one executor. Work that keeps a listener
thread busy for a second (a report, its chart, several Slack calls) lets a burst of it fill
that executor, and the acks queued behind wait, or past 3 s are lost (Slack shows the user an
error). ``submit`` hands the work to this pool (``WORK_THREADS`` per process; more wait in its
queue, never in an ack) and reports any exception to the user through ``handlers.errors``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from handlers.errors import reported

WORK_THREADS = 8  # measured with bench/slack_ack.py (2 cores, 20 concurrent /pmf-check)
_pool = ThreadPoolExecutor(max_workers=WORK_THREADS, thread_name_prefix="pmf-work")
_pending: set[Future[None]] = set()
_lock = threading.Lock()


def submit(work: Callable[[], Any], *, body: dict[str, Any], client: Any) -> None:
    """Run ``work()`` soon; an exception is told to whoever sent ``body``."""

    def run() -> None:
        with reported(body, client):
            work()

    future = _pool.submit(run)
    with _lock:
        _pending.add(future)
    future.add_done_callback(_done)


def _done(future: Future[None]) -> None:
    with _lock:
        _pending.discard(future)


def drain(timeout: float = 30.0) -> None:
    """Wait for the work already submitted (tests; a graceful shutdown)."""
    with _lock:
        pending = set(_pending)
    wait(pending, timeout=timeout)
