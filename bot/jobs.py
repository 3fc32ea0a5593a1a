"""Scheduled work, orchestration only: the clock's tick delivers the weekly digests that are due
and closes the surveys whose deadline passed. Every step is idempotent, so a tick may run in
several processes, twice, or after a crash.

A tick (1) inserts the claim rows of the runs now due (``bot.digests.plan_due``), then (2) a
bounded pool of threads takes leases one delivery at a time (``claim_next``) and delivers: build
the digest from the week's stored snapshot, mark the row ``sending``, post it with message
``metadata`` naming the delivery, record it ``sent``, then upload the chart. Posts go through a
client that retries only HTTP 429 (Slack did not process the request); a 5xx, a timeout or a
dropped connection leaves the row in ``sending`` and the next attempt first looks for the
message in ``conversations.history`` — a retry never doubles a post. Permanent Slack errors are
recorded, told once to the subscriber, and pause the subscription when they cannot heal.

Within a tick, each product's figures and chart are computed once however many channels get
them. No database access here beyond ``bot.digests`` and ``bot.surveys``.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from multiprocessing import get_context
from typing import Any, Literal, TypeVar
from urllib.error import URLError

from slack_sdk.errors import SlackApiError, SlackRequestError

from bot import digests, slack_client
from bot.context import AppContext
from bot.digests import DeliveryJob, DigestContent
from bot.errors import NotFound, UserError
from bot.render import digest_blocks
from storage.repositories import ProductRef

log = logging.getLogger(__name__)

T = TypeVar("T")

METADATA_EVENT = "pmf_digest"
# Slack's clock and ours differ a little: look for an earlier post from a bit before the claim.
RECONCILE_SLACK = timedelta(seconds=120)
RECONCILE_MAX_PAGES = 5
DELIVERY_THREADS = 32
# Chart uploads run beside the deliveries (they wait on drawing, then on Slack).
CHART_UPLOAD_THREADS = 8
CHART_TIMEOUT_SECONDS = 300

# The app lost access to the workspace or the channel for good: pause at once.
PAUSE_NOW_ERRORS = frozenset({
    "is_archived", "account_inactive", "token_revoked", "invalid_auth", "not_authed", "not_installed",
    "team_access_not_granted", "ekm_access_denied", "org_login_required", "team_not_found",
})
# Errors after which the app cannot message the workspace at all (so no DM either).
NO_ACCESS_ERRORS = frozenset({"account_inactive", "token_revoked", "invalid_auth", "not_authed", "not_installed",
                              "team_access_not_granted", "org_login_required", "team_not_found"})
# ``ok: false`` answers that mean Slack itself failed: the post may or may not have happened.
AMBIGUOUS_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


# =============================================================================== Slack outcomes


@dataclass(frozen=True)
class SlackOutcome:
    """How a failed Slack call is handled. ``ambiguous``: the request may have been processed
    (reconcile before repeating a post); ``retry``: it was not (rate limited), try later;
    ``permanent``: it will fail again until someone acts; ``pause``: and the subscription stops."""

    kind: Literal["ambiguous", "retry", "permanent", "pause"]
    error: str
    retry_after: float | None = None


class PermanentSlackError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def error_code(err: BaseException) -> str:
    if isinstance(err, SlackApiError):
        data = err.response.data if isinstance(err.response.data, dict) else {}
        return str(data.get("error") or f"http_{err.response.status_code}")
    if isinstance(err, PermanentSlackError):
        return err.code
    return type(err).__name__


def classify(err: BaseException) -> SlackOutcome:
    code = error_code(err)
    if isinstance(err, PermanentSlackError):
        return SlackOutcome("pause" if code in PAUSE_NOW_ERRORS else "permanent", code)
    if isinstance(err, SlackApiError):
        status = err.response.status_code
        if status == 429 or code == "ratelimited":
            raw = (err.response.headers or {}).get("Retry-After") or (err.response.headers or {}).get("retry-after")
            try:
                after = float(raw[0] if isinstance(raw, list) else raw) if raw else None
            except ValueError:
                after = None
            return SlackOutcome("retry", "ratelimited", after)
        if status >= 500 or code in AMBIGUOUS_ERRORS:
            return SlackOutcome("ambiguous", code if code in AMBIGUOUS_ERRORS else f"http_{status}")
        if code in PAUSE_NOW_ERRORS:
            return SlackOutcome("pause", code)
        # HTTP 200 with ok=false: Slack refused the request and did nothing.
        return SlackOutcome("permanent", code)
    if isinstance(err, TimeoutError | socket.timeout | http.client.HTTPException | ConnectionError | URLError
                  | SlackRequestError | OSError):
        # The request may have reached Slack before the connection failed.
        return SlackOutcome("ambiguous", code)
    return SlackOutcome("ambiguous", code)


def post_client(client: Any) -> Any:
    """``client`` without the retries that could double a post: only HTTP 429 is retried
    (Slack did not process it). 5xx and connection errors surface so they can be reconciled."""
    return slack_client.with_retries(client, server_errors=False, connection_errors=False)


def _join(client: Any, channel_id: str) -> None:
    """Join a public channel so the app may post and upload there; a private channel cannot be
    joined (the app must be invited), which is reported as ``not_in_channel``."""
    try:
        client.conversations_join(channel=channel_id)
    except SlackApiError as err:
        code = error_code(err)
        if code in ("method_not_supported_for_channel_type", "not_in_channel", "missing_scope"):
            raise PermanentSlackError("not_in_channel") from err
        raise


def _is_our_post(message: dict[str, Any], delivery_id: int) -> bool:
    meta = message.get("metadata") or {}
    payload = meta.get("event_payload") or {}
    return meta.get("event_type") == METADATA_EVENT and str(payload.get("delivery_id")) == str(delivery_id)


def find_posted(client: Any, *, channel_id: str, delivery_id: int, since: datetime) -> str | None:
    """The ts of the digest message of ``delivery_id`` if it is already in the channel."""
    cursor: str | None = None
    for _ in range(RECONCILE_MAX_PAGES):
        kwargs: dict[str, Any] = {"channel": channel_id, "oldest": f"{since.timestamp():.6f}",
                                  "include_all_metadata": True, "limit": 100}
        if cursor:
            kwargs["cursor"] = cursor
        resp = client.conversations_history(**kwargs)
        for message in resp.get("messages") or []:
            if _is_our_post(message, delivery_id):
                return str(message["ts"])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor or not resp.get("has_more"):
            return None
    return None


# =============================================================================== per-tick caches


class _Once:
    """Compute a value once per key however many threads ask at the same time; errors are
    kept too (the deliveries that need it retry on a later tick)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[threading.Event, list[Any]]] = {}
        self.computed = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            entry = self._entries.get(key)
            owner = entry is None
            if entry is None:
                entry = self._entries[key] = (threading.Event(), [])
        done, box = entry
        if owner:
            try:
                box.append(("ok", compute()))
                self.computed += 1
            except BaseException as err:
                box.append(("err", err))
            finally:
                done.set()
        else:
            done.wait()
        kind, value = box[0]
        if kind == "err":
            raise value
        return value  # type: ignore[no-any-return]


def render_chart(content: DigestContent) -> bytes:
    from bot.render.charts import digest_chart  # matplotlib is heavy: only the clock pays for it

    s = content.product.settings
    return digest_chart(content.report, previous=content.previous, min_share=s.organic.min_share,
                        threshold=s.survey.threshold, window_weeks=s.organic.window_weeks)


class ChartPool:
    """Where charts are drawn. They are CPU-bound matplotlib work that holds the GIL, so by
    default they go to a few worker processes (every core busy while the delivery threads wait
    on Slack); ``processes`` 0, or a custom ``renderer`` (tests), draws them on one background
    thread instead. ``submit`` never blocks: a delivery thread posts the next digest while the
    chart of the last one is being drawn."""

    def __init__(self, renderer: Callable[[DigestContent], bytes] | None = None, processes: int | None = None) -> None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        wanted = min(4, cores) if processes is None else processes
        self.renderer = renderer or render_chart
        self.processes = wanted if renderer is None and wanted >= 2 else 0
        self._pool: ProcessPoolExecutor | ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, content: DigestContent) -> Future[bytes]:
        with self._lock:
            if self._pool is None:
                # spawn: forking a process that runs threads (and holds DB connections) is unsafe.
                self._pool = (ProcessPoolExecutor(max_workers=self.processes, mp_context=get_context("spawn"))
                              if self.processes else ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart"))
            return self._pool.submit(self.renderer, content)

    def close(self, *, wait: bool = False) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=wait, cancel_futures=True)
                self._pool = None


@dataclass
class TickStats:
    planned: int = 0
    missed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        parts = [f"planned={self.planned}", f"missed={self.missed}"]
        parts += [f"{k}={v}" for k, v in sorted(self.outcomes.items())]
        return " ".join(parts)


# =============================================================================== the digest runner


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class DigestRunner:
    """Delivers due digests. One per process (its ``worker_id`` names the lease holder); ``tick``
    may be called by the scheduler or by tests with an injected ``now``."""

    def __init__(self, ctx: AppContext, *, worker_id: str | None = None, max_workers: int | None = None,
                 chart_renderer: Callable[[DigestContent], bytes] | None = None,
                 chart_processes: int | None = None) -> None:
        self.ctx = ctx
        self.worker_id = worker_id or default_worker_id()
        # Threads mostly wait on Slack (round trips, Retry-After sleeps on the per-channel limit);
        # 32 deliver 1,000 digests in well under a minute (bench/digest_fanout.py).
        self.max_workers = max_workers or DELIVERY_THREADS
        self.charts = ChartPool(chart_renderer, chart_processes)
        self.stopping = threading.Event()

    def close(self, *, wait: bool = False) -> None:
        """Stop claiming and let the chart processes go (the clock's shutdown)."""
        self.stopping.set()
        self.charts.close(wait=wait)

    # ------------------------------------------------------------------ tick
    def tick(self, now: datetime | None = None) -> TickStats:
        base = now or self.ctx.now()
        started = time.monotonic()

        def clock() -> datetime:
            # The injected instant, moving forward with real time while the tick runs.
            return base + timedelta(seconds=time.monotonic() - started)

        plan = digests.plan_due(self.ctx.factory, now=base)
        stats = TickStats(planned=plan.claimed, missed=plan.skipped)
        if plan.skipped:
            log.warning("digest runs missed by more than 24 h recorded as skipped: %d", plan.skipped)
        uploads = ThreadPoolExecutor(max_workers=CHART_UPLOAD_THREADS, thread_name_prefix="digest-chart")
        cache = _TickCache(self.ctx, self.charts, uploads)
        lock = threading.Lock()

        def work() -> None:
            while not self.stopping.is_set():
                ids = digests.claim_next(self.ctx.factory, now=clock(), worker=self.worker_id)
                if not ids:
                    return
                for delivery_id in ids:
                    try:
                        outcome = self.deliver(delivery_id, cache, clock)
                    except Exception:  # noqa: BLE001 - one digest's bug must not stop the others
                        log.exception("digest delivery %s failed unexpectedly (job=digest_tick)", delivery_id)
                        outcome = "error"
                    with lock:
                        stats.outcomes[outcome] += 1

        try:
            with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="digest") as pool:
                for future in [pool.submit(work) for _ in range(self.max_workers)]:
                    future.result()
        finally:
            uploads.shutdown(wait=True)  # the tick ends when every chart is in its channel
        stats.outcomes["charts_rendered"] = cache.charts_rendered
        if stats.planned or stats.missed or stats.outcomes.total() > stats.outcomes["charts_rendered"]:
            log.info("digest tick worker=%s %s (%.1fs)", self.worker_id, stats, time.monotonic() - started)
        return stats

    # ------------------------------------------------------------------ one delivery
    def deliver(self, delivery_id: int, cache: _TickCache, clock: Callable[[], datetime]) -> str:
        f = self.ctx.factory
        job = digests.load_job(f, delivery_id=delivery_id, worker=self.worker_id)
        if job is None:
            return "lost_lease"
        where = f"delivery={job.id} team={job.team_id} channel={job.channel_id} product={job.product.slug} period={job.period}"
        if not job.subscription_active:
            digests.record_skipped(f, job, reason="subscription turned off before delivery")
            return "skipped"
        try:
            client = cache.client(job.team_id)
        except NotFound:
            log.warning("digest %s: the app is not installed in the team any more", where)
            return self._fail(job, None, "not_installed", clock, pause=True)
        except Exception as err:  # noqa: BLE001 - e.g. the token rotation call failed: try later
            log.warning("digest %s: no Slack client for the team: %s", where, type(err).__name__)
            return self._transient(job, None, f"no client: {type(err).__name__}", clock,
                                   ambiguous=job.status == "sending", count_attempt=True)

        if job.status == "sending":
            # An earlier attempt may have posted: find it before posting again.
            try:
                ts = self._reconcile(client, job)
            except Exception as err:  # noqa: BLE001 - classified below
                return self._after_error(job, client, err, clock, where, reconciling=True)
            if ts is not None:
                if not digests.record_sent(f, job, message_ts=ts, now=clock()):
                    return "lost_lease"
                log.info("digest %s: found the earlier post ts=%s, not posting again", where, ts)
                cache.after(partial(self._post_chart, client, job, cache, where))
                return "reconciled"

        now = clock()
        if now > job.due_at + digests.MISSED_AFTER:
            digests.record_skipped(f, job, reason="too late: not delivered within 24 h of the due time")
            log.warning("digest %s skipped: more than 24 h late", where)
            return "skipped"

        try:
            content = cache.content(job.product, job.week)
        except Exception:  # noqa: BLE001 - a report bug must not block the row forever
            log.exception("digest %s: building the content failed", where)
            return self._transient(job, client, "internal: building the digest failed", clock,
                                   ambiguous=job.status == "sending", count_attempt=True)
        message = digest_blocks.digest_message(
            content.report, previous=content.previous, week=content.week,
            surveys=[digest_blocks.SurveyLine(s.channel_id, s.responses, s.closes_at, s.anonymous)
                     for s in content.open_surveys],
            tz=job.schedule.timezone, late_due=job.due_at if job.late else None,
            no_new_data=content.no_new_data, chart_follows=not content.no_new_data,
        )
        if not digests.begin_send(f, job, now=clock()):
            return "lost_lease"
        try:
            ts = self._post(client, job, message)
        except Exception as err:  # noqa: BLE001 - classified below
            job = _with_attempts(job, job.attempts + 1)
            return self._after_error(job, client, err, clock, where, reconciling=False)
        if not digests.record_sent(f, job, message_ts=ts, now=clock()):
            # Our lease ran out while posting and another process took over: it will find this
            # post by its metadata and not post again.
            log.warning("digest %s posted ts=%s after losing the lease", where, ts)
            return "lost_lease"
        log.info("digest %s sent ts=%s late=%s", where, ts, job.late)
        if not content.no_new_data:
            cache.chart(content)  # start drawing now; the upload waits for it on its own thread
            cache.after(partial(self._post_chart, client, job, cache, where))
        return "sent"

    # ------------------------------------------------------------------ Slack steps
    def _post(self, client: Any, job: DeliveryJob, message: dict[str, Any]) -> str:
        kwargs = {
            "channel": job.channel_id, "text": message["text"], "blocks": message["blocks"],
            "metadata": {"event_type": METADATA_EVENT,
                         "event_payload": {"delivery_id": job.id, "subscription_id": job.subscription_id,
                                           "period": job.period.isoformat()}},
            "unfurl_links": False, "unfurl_media": False,
        }
        poster = post_client(client)
        try:
            return str(poster.chat_postMessage(**kwargs)["ts"])
        except SlackApiError as err:
            if error_code(err) != "not_in_channel":
                raise
        # ok=false not_in_channel: nothing was posted; join (public channels) and post once more.
        _join(client, job.channel_id)
        return str(poster.chat_postMessage(**kwargs)["ts"])

    def _reconcile(self, client: Any, job: DeliveryJob) -> str | None:
        since = job.claimed_at - RECONCILE_SLACK
        try:
            return find_posted(client, channel_id=job.channel_id, delivery_id=job.id, since=since)
        except SlackApiError as err:
            if error_code(err) != "not_in_channel":
                raise
        _join(client, job.channel_id)
        return find_posted(client, channel_id=job.channel_id, delivery_id=job.id, since=since)

    def _post_chart(self, client: Any, job: DeliveryJob, cache: _TickCache, where: str) -> None:
        """Best effort, at most once: the digest is already delivered; a failed or interrupted
        upload is recorded, never repeated (a repeat could double the image)."""
        try:
            content = cache.content(job.product, job.week)
            if content.no_new_data:
                return
            png = cache.chart(content).result(timeout=CHART_TIMEOUT_SECONDS)
        except Exception:  # noqa: BLE001 - the message is out; the chart must not undo that
            log.exception("digest %s: chart rendering failed", where)
            digests.record_chart(self.ctx.factory, delivery_id=job.id, file_id=None, error="rendering failed")
            return
        kwargs = {"channel": job.channel_id, "content": png,
                  "filename": digest_blocks.chart_filename(job.product.slug, content.week),
                  "title": digest_blocks.chart_title(job.product.name, content.week)}
        uploader = post_client(client)
        try:
            try:
                resp = uploader.files_upload_v2(**kwargs)
            except SlackApiError as err:
                if error_code(err) != "not_in_channel":
                    raise
                _join(client, job.channel_id)  # uploads need membership even where posting did not
                resp = uploader.files_upload_v2(**kwargs)
        except Exception as err:  # noqa: BLE001 - recorded for `digest list`
            log.warning("digest %s: chart upload failed: %s", where, error_code(err))
            digests.record_chart(self.ctx.factory, delivery_id=job.id, file_id=None, error=error_code(err))
            return
        files = resp.get("files") or [resp.get("file") or {}]
        digests.record_chart(self.ctx.factory, delivery_id=job.id, file_id=(files[0] or {}).get("id"), error=None)

    # ------------------------------------------------------------------ failures
    def _after_error(self, job: DeliveryJob, client: Any, err: BaseException, clock: Callable[[], datetime],
                     where: str, *, reconciling: bool) -> str:
        outcome = classify(err)
        step = "looking for an earlier post" if reconciling else "posting"
        log.warning("digest %s: %s failed: %s (%s)", where, step, outcome.error, outcome.kind)
        if outcome.kind in ("permanent", "pause"):
            return self._fail(job, client, outcome.error, clock, pause=outcome.kind == "pause")
        # Ambiguous while posting → the post may be out; while reconciling → still unknown.
        ambiguous = outcome.kind == "ambiguous" or reconciling
        return self._transient(job, client, outcome.error, clock, ambiguous=ambiguous,
                               retry_after=outcome.retry_after, count_attempt=reconciling)

    def _transient(self, job: DeliveryJob, client: Any, error: str, clock: Callable[[], datetime], *,
                   ambiguous: bool, retry_after: float | None = None, count_attempt: bool = False) -> str:
        now = clock()
        attempts = job.attempts + (1 if count_attempt else 0)
        if digests.attempts_exhausted(job, now=now, attempts=attempts):
            detail = f"gave up after {attempts} attempts: {error}"
            if ambiguous:
                detail += " (the last attempt's outcome is unknown)"
            return self._fail(job, client, detail, clock, pause=False)
        if count_attempt:
            job = _with_attempts(job, attempts)
        ok = digests.record_retry(self.ctx.factory, job, now=now, error=error, ambiguous=ambiguous,
                                  retry_after=retry_after)
        return "retry" if ok else "lost_lease"

    def _fail(self, job: DeliveryJob, client: Any, error: str, clock: Callable[[], datetime], *, pause: bool) -> str:
        outcome = digests.record_failure(self.ctx.factory, job, now=clock(), error=error, pause_now=pause)
        if outcome is None:
            return "lost_lease"
        log.warning("digest delivery=%s team=%s channel=%s failed: %s (failed weeks in a row=%d, paused=%s)",
                    job.id, job.team_id, job.channel_id, error, outcome.consecutive_failures, outcome.paused)
        code = error.split(":", 1)[0]
        if outcome.notify_user and client is not None and code not in NO_ACCESS_ERRORS:
            note = digest_blocks.failure_notice(product_name=job.product.name, channel_id=job.channel_id,
                                                error=error, paused=outcome.paused)
            try:
                # A user id as channel opens the DM with the app.
                client.chat_postMessage(channel=outcome.notify_user, text=note["text"], blocks=note["blocks"])
            except Exception as err:  # noqa: BLE001 - the failure is recorded and listed anyway
                log.warning("digest delivery=%s: could not tell the subscriber: %s", job.id, error_code(err))
        return "failed"


def _with_attempts(job: DeliveryJob, attempts: int) -> DeliveryJob:
    from dataclasses import replace

    return replace(job, attempts=attempts)


class _TickCache:
    """What a tick computes once: each team's client, each (product, week)'s figures and chart;
    and the queue of chart uploads that follow the posted digests."""

    def __init__(self, ctx: AppContext, charts: ChartPool, uploads: ThreadPoolExecutor) -> None:
        self.ctx = ctx
        self.clients = _Once()
        self.contents = _Once()
        self._charts = charts
        self._chart_futures: dict[tuple[int, int], Future[bytes]] = {}
        self._lock = threading.Lock()
        self._uploads = uploads

    def client(self, team_id: str) -> Any:
        return self.clients.get(team_id, lambda: self.ctx.client_for_team(team_id))

    def content(self, product: ProductRef, week: int) -> DigestContent:
        return self.contents.get((product.id, week),
                                 lambda: digests.digest_content(self.ctx.factory, product=product, week=week))

    def chart(self, content: DigestContent) -> Future[bytes]:
        """The chart of (product, week), drawn once per tick however many channels get it."""
        key = (content.product.id, content.week)
        with self._lock:
            future = self._chart_futures.get(key)
            if future is None:
                future = self._chart_futures[key] = self._charts.submit(content)
            return future

    @property
    def charts_rendered(self) -> int:
        return len(self._chart_futures)

    def after(self, task: Callable[[], None]) -> None:
        """Run ``task`` (a chart upload) on the upload threads; failures are logged by it."""
        self._uploads.submit(task)


# =============================================================================== entry points


def digest_tick(ctx: AppContext, now: datetime | None = None, *, runner: DigestRunner | None = None) -> TickStats:
    return (runner or DigestRunner(ctx)).tick(now)


def close_due_surveys(ctx: AppContext, now: datetime | None = None) -> int:
    """Survey deadlines: the surveys feature owns the work (``close_due_surveys(ctx, now)`` in
    ``bot.surveys``, or ``bot.survey_slack`` where its Slack half lives); the clock only calls it."""
    import importlib

    fn = None
    for name in ("bot.surveys", "bot.survey_slack"):
        try:
            fn = getattr(importlib.import_module(name), "close_due_surveys", None)
        except ImportError:
            fn = None
        if fn is not None:
            break
    if fn is None:
        log.warning("no close_due_surveys(ctx, now) found: survey deadlines are not enforced (job=survey_deadlines)")
        return 0
    closed = int(fn(ctx, now or ctx.now()) or 0)
    if closed:
        log.info("surveys closed at their deadline: %d (job=survey_deadlines)", closed)
    return closed


def send_digest_now(ctx: AppContext, *, team_id: str, channel_id: str, product: ProductRef,
                    client: Any | None = None, renderer: Callable[[DigestContent], bytes] = render_chart) -> str:
    """``/pmf-check digest now``: post the current digest in a channel at once (outside the
    weekly schedule; it does not count as the week's digest). Returns the message ts."""
    client = client or ctx.client_for_team(team_id)
    now = ctx.now()
    week = digests.report_week(product, now)
    content = digests.digest_content(ctx.factory, product=product, week=week)
    message = digest_blocks.digest_message(
        content.report, previous=content.previous, week=week,
        surveys=[digest_blocks.SurveyLine(s.channel_id, s.responses, s.closes_at, s.anonymous)
                 for s in content.open_surveys],
        tz=product.settings.timezone, no_new_data=content.no_new_data, chart_follows=not content.no_new_data)
    kwargs = {"channel": channel_id, "text": message["text"], "blocks": message["blocks"],
              "metadata": {"event_type": METADATA_EVENT, "event_payload": {"manual": True, "product": product.slug}},
              "unfurl_links": False, "unfurl_media": False}
    poster = post_client(client)
    try:
        try:
            ts = str(poster.chat_postMessage(**kwargs)["ts"])
        except SlackApiError as err:
            if error_code(err) != "not_in_channel":
                raise
            _join(client, channel_id)
            ts = str(poster.chat_postMessage(**kwargs)["ts"])
    except (SlackApiError, PermanentSlackError) as err:
        code = error_code(err)
        outcome = classify(err)
        if outcome.kind == "ambiguous":
            raise UserError(f"Slack did not confirm the post in <#{channel_id}> ({code}). Look in the channel "
                            "before trying again, so it does not appear twice.") from None
        raise UserError(f"I could not post in <#{channel_id}>: {digest_blocks.error_help(code)}.") from None
    if not content.no_new_data:
        try:
            png = renderer(content)
            uploader = post_client(client)
            uploader.files_upload_v2(channel=channel_id, content=png,
                                     filename=digest_blocks.chart_filename(product.slug, week),
                                     title=digest_blocks.chart_title(product.name, week))
        except Exception as err:  # noqa: BLE001 - the digest is posted; say nothing more than the log
            log.warning("digest now team=%s channel=%s: chart upload failed: %s", team_id, channel_id, error_code(err))
    log.info("digest now team=%s channel=%s product=%s ts=%s", team_id, channel_id, product.slug, ts)
    return ts
