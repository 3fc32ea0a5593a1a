"""What every Slack listener and job needs, built once by the composition root (``bot.app``):
the settings, the session factory, the Slack clients, and the per-process state that would
otherwise be module globals — the report cache, the private-chart memo, the deferred survey
count refreshes, the pool that runs work after an ack, who is a workspace admin — with the tuning that sizes them.

Listeners get an ``AppContext`` through ``register(app, ctx, router)`` closures instead of
globals, so tests build the real app against a test database and a fake Slack Web API, with
their own ``Tuning`` instead of monkeypatching constants.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.jobs.registry import MAINTENANCE, JobQueue, Registry
from bot.reports.cache import ReportCache
from bot.slack.admins import AdminCache
from bot.slack.files import SentCharts
from bot.slack.identity import BotIdentity
from bot.slack.oauth import OAuthParts
from bot.slack.users import UserEmails


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Tuning:
    """Sizes and intervals measured on the 2-core dev machine (bench/): override in tests."""

    # Reports computed at once per process (statistics and charts are CPU-bound; more would
    # starve the threads that ack Slack) and how many are kept (bench/slack_ack.py).
    max_parallel_reports: int = 2
    report_cache_entries: int = 128
    # A burst of /pmf-check costs one set of fingerprint queries in this many seconds.
    fingerprint_ttl: float = 3.0
    # Work after an ack runs on this many threads, never on Bolt's listener threads.
    work_threads: int = 8
    # A survey's live count is updated at most once per interval (chat.update is Tier 3).
    count_update_interval: timedelta = timedelta(seconds=5)
    # Between reminder DMs: chat.postMessage ~1/s, users.info Tier 4.
    reminder_dm_pace: float = 1.2
    # Whether a user is a workspace admin (users.info, Tier 4) is remembered this many seconds.
    admin_cache_ttl: float = 300.0


class Deferred:
    """At most one pending delayed call per key in this process (trailing updates). A lost
    call (restart) is repaired by the clock's sweep, so nothing depends on these alone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[Hashable, threading.Timer] = {}

    def schedule(self, key: Hashable, delay: float, fn: Callable[[], None]) -> bool:
        """Call ``fn`` after ``delay`` seconds unless a call for ``key`` is already pending."""
        with self._lock:
            if key in self._pending:
                return False
            timer = threading.Timer(delay, self._fire, args=(key, fn))
            timer.daemon = True
            self._pending[key] = timer
        timer.start()
        return True

    def _fire(self, key: Hashable, fn: Callable[[], None]) -> None:
        with self._lock:  # cleared first: a change after fn's read schedules a new call
            self._pending.pop(key, None)
        fn()

    def cancel_all(self) -> None:
        with self._lock:
            timers, self._pending = list(self._pending.values()), {}
        for timer in timers:
            timer.cancel()


class TrackingExecutor(ThreadPoolExecutor):
    """A thread pool that knows the work it was given, so a graceful shutdown (and a test that
    asserts nothing more happened) can wait for it: ``drain`` returns once every task submitted
    so far has finished. Bolt's listener executor and the post-ack work pool are both one."""

    def __init__(self, max_workers: int, thread_name_prefix: str) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._tracked: set[Future[Any]] = set()
        self._tracked_lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._tracked_lock:
            self._tracked.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._tracked_lock:
            self._tracked.discard(future)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait for the work already submitted (tests; a graceful shutdown)."""
        with self._tracked_lock:
            pending = set(self._tracked)
        wait(pending, timeout=timeout)


class WorkPool(TrackingExecutor):
    """Work that runs after a listener's ack, on threads of its own (see handlers.background)."""

    def __init__(self, threads: int) -> None:
        super().__init__(threads, thread_name_prefix="pmf-work")


@dataclass
class AppContext:
    settings: Settings
    factory: sessionmaker[Session]
    # The bot's WebClient for a team (single-workspace: the bot token; OAuth: the installation
    # store's bot). Always built by bot.slack.client.make_client, so SLACK_API_URL is honoured.
    client_for_team: Callable[[str], WebClient]
    secret_key: str
    now: Callable[[], datetime] = field(default=_utcnow)
    # Multi-workspace mode's stores and authorize (None with a single bot token).
    oauth: OAuthParts | None = None
    # Single-workspace mode's authorize: the bot's own ids, learnt after the ack (bot.app).
    bot_identity: BotIdentity | None = None
    tuning: Tuning = field(default_factory=Tuning)
    reports: ReportCache = field(init=False)
    sent_charts: SentCharts = field(default_factory=SentCharts)
    deferred: Deferred = field(default_factory=Deferred)
    # users.info answers (respondents' emails, to match them to signups), per process.
    user_emails: UserEmails = field(default_factory=UserEmails)
    work: WorkPool = field(init=False)
    admins: AdminCache = field(init=False)
    # The jobs the features declare (bot.jobs.registry) and the queue that runs them (bot.jobs.queue).
    jobs: Registry = field(default_factory=Registry)
    queue: JobQueue | None = None

    def __post_init__(self) -> None:
        t = self.tuning
        self.reports = ReportCache(size=t.report_cache_entries, parallel=t.max_parallel_reports,
                                   fingerprint_ttl=t.fingerprint_ttl)
        self.work = WorkPool(t.work_threads)
        self.admins = AdminCache(t.admin_cache_ttl)

    @property
    def single_workspace(self) -> bool:
        return not self.settings.oauth_mode


@dataclass(frozen=True)
class ScheduledJob:
    """A job a feature declares for the clock (``bot.scheduler`` adds every declared job): its
    stable id, a name for the logs, its interval, and ``start(ctx)`` → the callable each tick
    runs (built once per process, so a job may keep state such as the digest runner)."""

    id: str
    name: str
    every_seconds: int
    start: Callable[[AppContext], Callable[[], object]]
    stop: Callable[[Callable[[], object]], None] | None = None
    queue: str = MAINTENANCE  # on PostgreSQL: the procrastinate queue its periodic task runs on
