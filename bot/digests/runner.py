"""Scheduled work, orchestration only: the clock's tick delivers the weekly digests that are due
and closes the surveys whose deadline passed. Every step is idempotent, so a tick may run in
several processes, twice, or after a crash.

A tick (1) inserts the claim rows of the runs now due (``bot.digests.plan_due``), then (2) a
bounded pool of threads takes leases one delivery at a time (``claim_next``) and delivers: build
the digest from the week's stored snapshot, mark the row ``sending``, post it with message
``metadata`` naming the delivery, record it ``sent``, then upload the chart. Each post is one
try (``bot.slack.post.send``: within the call only what Slack did not process is retried); a
5xx, a timeout or a dropped connection leaves the row in ``sending`` and the next attempt, after
the wait of ``bot.slack.retry.DIGEST_DELIVERY``, first looks for the message in
``conversations.history`` — a retry never doubles a post. Permanent Slack errors are
recorded, told once to the subscriber, and pause the subscription when they cannot heal.

Within a tick, each product's figures and chart are computed once however many channels get
them. No database access here beyond ``bot.digests.service`` and ``bot.surveys.service``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.digests import blocks as digest_blocks
from bot.digests.claims import (
    attempts_exhausted,
    begin_send,
    claim_next,
    load_job,
    plan_due,
    record_chart,
    record_failure,
    record_retry,
    record_sent,
    record_skipped,
    take_orphan_charts,
    window_text,
)
from bot.digests.service import DigestContent
from bot.digests.tick import CHART_TIMEOUT_SECONDS, CHART_UPLOAD_THREADS, ChartPool, TickStats, _TickCache
from bot.digests.values import DeliveryJob
from bot.domain.weeks import week_start
from bot.errors import NotFound
from bot.render.names import TRAJECTORY_CHART
from bot.slack import post, retry
from bot.slack.errors import NO_ACCESS_ERRORS, classify, error_code

log = logging.getLogger(__name__)

T = TypeVar("T")

METADATA_EVENT = "pmf_digest"
NOTICE_EVENT = "pmf_digest_notice"  # the DM telling a subscriber that a delivery failed
DELIVERY_THREADS = 32
# Chart uploads run beside the deliveries (they wait on drawing, then on Slack).

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

        plan = plan_due(self.ctx.factory, now=base)
        stats = TickStats(planned=plan.claimed, missed=plan.skipped)
        if plan.skipped:
            log.warning("digest runs missed by more than %s recorded as skipped: %d", window_text(), plan.skipped)
        uploads = ThreadPoolExecutor(max_workers=CHART_UPLOAD_THREADS, thread_name_prefix="digest-chart")
        cache = _TickCache(self.ctx, self.charts, uploads)
        lock = threading.Lock()
        self._orphan_charts(cache, base)

        def work() -> None:
            while not self.stopping.is_set():
                ids = claim_next(self.ctx.factory, now=clock(), worker=self.worker_id)
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

    def _orphan_charts(self, cache: _TickCache, now: datetime) -> None:
        """Charts of digests whose sender (a procrastinate worker) died after posting them: they
        follow their message now, uploaded by this tick (SPEC §11)."""
        try:
            orphans = take_orphan_charts(self.ctx.factory, now=now, worker=self.worker_id)
        except Exception as err:  # noqa: BLE001 - the next tick looks again
            log.warning("digest tick: could not look for charts left behind: %s", type(err).__name__)
            return
        for delivery_id in orphans:
            job = load_job(self.ctx.factory, delivery_id=delivery_id, worker=self.worker_id, sent=True)
            if job is None:
                continue
            where = f"delivery={job.id} team={job.team_id} channel={job.channel_id} (chart left by a dead worker)"
            try:
                client = cache.client(job.team_id)
                content = cache.content(job.product, job.week)
            except Exception as err:  # noqa: BLE001 - recorded like any chart failure
                record_chart(self.ctx.factory, delivery_id=job.id, file_id=None, error=type(err).__name__)
                continue
            if content.has_chart:
                cache.chart(content)
                cache.after(partial(self._post_chart, client, job, cache, where))
            else:
                record_chart(self.ctx.factory, delivery_id=job.id, file_id=None, error=None)

    # ------------------------------------------------------------------ one delivery
    def deliver(self, delivery_id: int, cache: _TickCache, clock: Callable[[], datetime]) -> str:
        f = self.ctx.factory
        job = load_job(f, delivery_id=delivery_id, worker=self.worker_id)
        if job is None:
            return "lost_lease"
        where = f"delivery={job.id} team={job.team_id} channel={job.channel_id} product={job.product.slug} period={job.period}"
        if not job.subscription_active:
            record_skipped(f, job, reason="subscription turned off before delivery")
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
                if not record_sent(f, job, message_ts=ts, now=clock()):
                    return "lost_lease"
                log.info("digest %s: found the earlier post ts=%s, not posting again", where, ts)
                cache.after(partial(self._post_chart, client, job, cache, where))
                return "reconciled"

        now = clock()
        if now > job.due_at + retry.DIGEST_WINDOW:
            record_skipped(f, job, reason=f"too late: not delivered within {window_text()} of the due time")
            log.warning("digest %s skipped: more than %s late", where, window_text())
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
            no_new_data=content.no_new_data, chart_follows=content.has_chart,
            custom_rules=content.custom_rules, source_problem=content.source_problem,
        )
        if not begin_send(f, job, now=clock()):
            return "lost_lease"
        try:
            ts = self._post(client, job, message)
        except Exception as err:  # noqa: BLE001 - classified below
            job = _with_attempts(job, job.attempts + 1)
            return self._after_error(job, client, err, clock, where, reconciling=False)
        if not record_sent(f, job, message_ts=ts, now=clock()):
            # Our lease ran out while posting and another process took over: it will find this
            # post by its metadata and not post again.
            log.warning("digest %s posted ts=%s after losing the lease", where, ts)
            return "lost_lease"
        log.info("digest %s sent ts=%s late=%s", where, ts, job.late)
        if content.has_chart:
            cache.chart(content)  # start drawing now; the upload waits for it on its own thread
            cache.after(partial(self._post_chart, client, job, cache, where))
        return "sent"

    # ------------------------------------------------------------------ Slack steps
    def _post(self, client: Any, job: DeliveryJob, message: dict[str, Any]) -> str:
        # One attempt: an ambiguous failure leaves the row in ``sending`` and the next attempt
        # reconciles it (``_reconcile``) before posting again.
        return post.send(client, channel_id=job.channel_id, message=message, meta=self._meta(job))

    @staticmethod
    def _meta(job: DeliveryJob) -> dict[str, Any]:
        return post.metadata(METADATA_EVENT, delivery_id=job.id, subscription_id=job.subscription_id,
                             period=job.period.isoformat())

    def _reconcile(self, client: Any, job: DeliveryJob) -> str | None:
        def find() -> str | None:
            return post.find_posted(client, channel_id=job.channel_id, event_type=METADATA_EVENT,
                                    match={"delivery_id": job.id}, since=job.claimed_at - post.RECONCILE_SLACK)

        try:
            return find()
        except SlackApiError as err:
            if error_code(err) != "not_in_channel":
                raise
        post.join(client, job.channel_id)
        return find()

    def _post_chart(self, client: Any, job: DeliveryJob, cache: _TickCache, where: str) -> None:
        """Best effort, at most once: the digest is already delivered; a failed or interrupted
        upload is recorded, never repeated (a repeat could double the image)."""
        try:
            content = cache.content(job.product, job.week)
            if not content.has_chart:
                return
            png = cache.chart(content).result(timeout=CHART_TIMEOUT_SECONDS)
        except Exception:  # noqa: BLE001 - the message is out; the chart must not undo that
            log.exception("digest %s: chart rendering failed", where)
            record_chart(self.ctx.factory, delivery_id=job.id, file_id=None, error="rendering failed")
            return
        try:
            file_id = post.upload(client, channel_id=job.channel_id, content=png,
                                  filename=digest_blocks.chart_filename(job.product.slug, content.week),
                                  title=digest_blocks.chart_title(job.product.name, content.week))
        except Exception as err:  # noqa: BLE001 - recorded for `digest list`
            log.warning("digest %s: chart upload failed: %s", where, error_code(err))
            record_chart(self.ctx.factory, delivery_id=job.id, file_id=None, error=error_code(err))
            return
        record_chart(self.ctx.factory, delivery_id=job.id, file_id=file_id, error=None)
        self._post_trajectory(client, job, cache, content, where, file_id)

    def _post_trajectory(self, client: Any, job: DeliveryJob, cache: _TickCache, content: DigestContent, where: str,
                         chart_file: str | None) -> None:
        """The trajectory chart (the gate week by week) after the digest chart: best effort and
        at most once, like it; a failure is recorded beside the digest chart's file."""
        if content.history is None or not content.history.weeks:
            return
        try:
            png = cache.chart(content, "trajectory").result(timeout=CHART_TIMEOUT_SECONDS)
            post.upload(client, channel_id=job.channel_id, content=png,
                        filename=f"pmf-trajectory-{job.product.slug}-{week_start(content.week).isoformat()}.png",
                        title=f"{job.product.name} · {TRAJECTORY_CHART} to {week_start(content.week + 1).isoformat()}")
        except Exception as err:  # noqa: BLE001 - the digest and its chart are out
            log.warning("digest %s: trajectory chart failed: %s", where, error_code(err))
            record_chart(self.ctx.factory, delivery_id=job.id, file_id=chart_file, error=f"trajectory {error_code(err)}")

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
        if attempts_exhausted(job, now=now, attempts=attempts):
            detail = f"gave up after {attempts} attempts: {error}"
            if ambiguous:
                detail += " (the last attempt's outcome is unknown)"
            return self._fail(job, client, detail, clock, pause=False)
        if count_attempt:
            job = _with_attempts(job, attempts)
        ok = record_retry(self.ctx.factory, job, now=now, error=error, ambiguous=ambiguous,
                                  retry_after=retry_after)
        return "retry" if ok else "lost_lease"

    def _fail(self, job: DeliveryJob, client: Any, error: str, clock: Callable[[], datetime], *, pause: bool) -> str:
        outcome = record_failure(self.ctx.factory, job, now=clock(), error=error, pause_now=pause)
        if outcome is None:
            return "lost_lease"
        log.warning("digest delivery=%s team=%s channel=%s failed: %s (failed weeks in a row=%d, paused=%s)",
                    job.id, job.team_id, job.channel_id, error, outcome.consecutive_failures, outcome.paused)
        code = error.split(":", 1)[0]
        if outcome.notify_user and client is not None and code not in NO_ACCESS_ERRORS:
            note = digest_blocks.failure_notice(product_name=job.product.name, channel_id=job.channel_id,
                                                error=error, paused=outcome.paused)
            try:
                post.dm(client, outcome.notify_user, note,
                        meta=post.metadata(NOTICE_EVENT, delivery_id=job.id, failures=outcome.consecutive_failures))
            except Exception as err:  # noqa: BLE001 - the failure is recorded and listed anyway
                log.warning("digest delivery=%s: could not tell the subscriber: %s", job.id, error_code(err))
        return "failed"


def _with_attempts(job: DeliveryJob, attempts: int) -> DeliveryJob:
    from dataclasses import replace

    return replace(job, attempts=attempts)
