"""When a failed Slack call is tried again, how often and after how long: the one retry policy.
Which failures are transient (a 5xx, a timeout or a dropped connection is *ambiguous*, a 429 is
*retry*) is decided by ``bot.slack.errors.classify``; everything else about retrying is here, and
every client, post, digest delivery and job reads it from here.

- **Within one call** (slack_sdk's retry handlers, on every WebClient and response_url client):
  an idempotent call (a read, an update) is retried ``CALL_RETRIES`` times on a connection
  error, on HTTP 500/503 and on HTTP 429, ``CALL_BACKOFF_FACTOR`` × 2ⁿ s apart (plus slack_sdk's
  jitter); a 429 waits out its ``Retry-After`` instead (``IDEMPOTENT``).
- **Posts and uploads** (``chat.postMessage``, ``files_upload_v2``) are never retried within the
  call after a 5xx, a timeout or a dropped connection: Slack has no idempotency key and may have
  processed them. Only 429 is retried there (``NON_IDEMPOTENT``). An ambiguous failure is
  reconciled instead: ``bot.slack.post`` looks for the message by its metadata before trying
  again, at most ``POST_TRIES.attempts`` tries in one process; an upload is tried once.
- **Listener threads** never sleep out a ``Retry-After`` (``LISTENER``): a held thread would stop
  acking every other click.
- **Durable retries** store the wait (a lease or the job queue), so they survive restarts:
  ``DIGEST_DELIVERY`` (each attempt is a post or a look-up for an earlier post; give up after
  ``max_attempts`` or when the next one would come later than ``give_up_after`` past the due
  time), ``JOBS`` (any failure of a deferred job; its last failure gives up), and a survey's
  results, posted again by the clock between ``RESULTS_REPOST_AFTER`` and ``RESULTS_REPOST_UNTIL``
  after the close (found first in the thread by their metadata).
- **Socket Mode** reconnects after ``RECONNECT_DELAYS`` while Slack cannot be reached; a failed
  ``auth.test`` (single-workspace authorization) is asked again after ``AUTH_TEST_RETRY_SECONDS``.
- **Retry-After** is a floor, never a replacement: a durable wait is the later of the schedule's
  and Slack's (``honour_retry_after``).

"Retry a 5xx 5 times instead of 3" is one edit of ``CALL_RETRIES``; "back off longer between
digest attempts" one edit of ``DIGEST_DELIVERY``. Users read these names at call time
(``retry.X``, never a copy taken at import), so the edit reaches every client, post and job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler

# Retries within one call, after the first try, of each kind of failure an idempotent call retries.
CALL_RETRIES = 3
# Their waits (not a 429's): CALL_BACKOFF_FACTOR × 2ⁿ seconds (+ jitter) after the n-th failure.
CALL_BACKOFF_FACTOR = 0.5


@dataclass(frozen=True)
class CallRetries:
    """What slack_sdk retries within one call: ``retries`` times each of the kinds enabled."""

    retries: int
    connection_errors: bool = True
    server_errors: bool = True
    rate_limits: bool = True
    backoff_factor: float = CALL_BACKOFF_FACTOR

    def handlers(self) -> list[RetryHandler]:
        """slack_sdk's retry handlers for this policy (the only place the app builds them)."""
        interval = BackoffRetryIntervalCalculator(backoff_factor=self.backoff_factor)
        handlers: list[RetryHandler] = []
        if self.connection_errors:
            handlers.append(ConnectionErrorRetryHandler(max_retry_count=self.retries, interval_calculator=interval))
        if self.rate_limits:  # waits Retry-After, not the backoff
            handlers.append(RateLimitErrorRetryHandler(max_retry_count=self.retries))
        if self.server_errors:
            handlers.append(ServerErrorRetryHandler(max_retry_count=self.retries, interval_calculator=interval))
        return handlers


# Every WebClient the app makes, and response_url replies.
IDEMPOTENT = CallRetries(CALL_RETRIES)
# Posts and uploads: a 5xx or a lost connection may come after Slack processed them.
NON_IDEMPOTENT = replace(IDEMPOTENT, server_errors=False, connection_errors=False)
# Calls on a listener thread: a 429 fails at once instead of sleeping out its Retry-After.
LISTENER = replace(IDEMPOTENT, rate_limits=False)


@dataclass(frozen=True)
class Tries:
    """Tries of a non-idempotent call within one process, the outcome checked between them:
    ``attempts`` in all, ``pause(i)`` seconds after the i-th failure (0-based)."""

    attempts: int
    base_seconds: float
    factor: float

    def pause(self, failed: int) -> float:
        return self.base_seconds * self.factor ** failed


# A post after an ambiguous failure and a reconcile that did not find it (bot.slack.post), and a
# job's reply by response_url (bot.jobs.reply: each try is one of the URL's 5 uses, so at most 5).
POST_TRIES = Tries(attempts=3, base_seconds=0.5, factor=2.0)


def _seconds(*values: float) -> tuple[timedelta, ...]:
    return tuple(timedelta(seconds=v) for v in values)


@dataclass(frozen=True)
class Backoff:
    """A durable schedule: ``waits[n-1]`` after the n-th failed attempt (the last one repeats),
    ``max_attempts`` in all, none later than ``give_up_after`` past the due time (if set)."""

    waits: tuple[timedelta, ...]
    max_attempts: int
    give_up_after: timedelta | None = None

    def wait(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """The wait after ``attempts`` failed attempts, at least Slack's ``Retry-After``."""
        return honour_retry_after(self.waits[min(max(attempts - 1, 0), len(self.waits) - 1)], retry_after)

    def exhausted(self, attempts: int, *, since_due: timedelta = timedelta(0)) -> bool:
        """No attempt left after ``attempts``: all made, or the next would come too late
        (``since_due``: how long ago the work was due)."""
        if attempts >= self.max_attempts:
            return True
        return self.give_up_after is not None and since_due + self.wait(attempts) > self.give_up_after


# A weekly digest not delivered within this long of its due time is skipped, never sent (SPEC §6).
DIGEST_WINDOW = timedelta(hours=24)
DIGEST_DELIVERY = Backoff(waits=_seconds(30, 60, 120, 300, 600, 1200), max_attempts=6, give_up_after=DIGEST_WINDOW)
# A deferred job (bot.jobs), run again after any failure; the wait is procrastinate's on PostgreSQL.
JOBS = Backoff(waits=_seconds(2), max_attempts=3)
# On SQLite the pause between runs holds a thread of the work pool, so it is shorter than JOBS's.
JOBS_LOCAL_PAUSE_SECONDS = 1.0
# A survey's results not posted this long after its close are posted again by the clock (after
# looking for them in the thread by their metadata), until this long after the close.
RESULTS_REPOST_AFTER = timedelta(minutes=2)
RESULTS_REPOST_UNTIL = timedelta(hours=24)
# Single-workspace authorization (bot.slack.identity): after auth.test failed, not asked again for this long.
AUTH_TEST_RETRY_SECONDS = 60.0
# Socket Mode: seconds between connection attempts while Slack cannot be reached (the last repeats).
RECONNECT_DELAYS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)


def honour_retry_after(wait: timedelta, retry_after: float | None) -> timedelta:
    """The later of our wait and the ``Retry-After`` seconds Slack asked for (None: no header)."""
    return max(wait, timedelta(seconds=retry_after)) if retry_after else wait
