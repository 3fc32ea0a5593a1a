"""What one clock tick computes once however many channels get it: each team's client, each
(product, week)'s figures and chart (drawn in worker processes: matplotlib holds the GIL), and the
queue of chart uploads that follow the posted digests."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import Counter
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, TypeVar

from bot.context import AppContext
from bot.digests import service as digests
from bot.digests.service import DigestContent
from bot.domain.weeks import week_start
from bot.history.service import product_history
from storage.repositories.products import ProductRef

T = TypeVar("T")
DIGEST_HISTORY_WEEKS = 12  # weeks on the digest's trajectory chart
CHART_UPLOAD_THREADS = 8
CHART_TIMEOUT_SECONDS = 300
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
    from bot.digests.charts import digest_chart  # matplotlib is heavy: only the clock pays for it

    s = content.product.settings
    return digest_chart(content.report, previous=content.previous, min_share=s.organic.min_share,
                        threshold=s.survey.threshold, window_weeks=s.organic.window_weeks)


def render_trajectory(content: DigestContent) -> bytes:
    from bot.history.charts import trajectory_chart

    assert content.history is not None
    return trajectory_chart(content.history)


def digest_content(ctx: AppContext, product: ProductRef, week: int) -> DigestContent:
    """The digest's figures and the history for its trajectory chart (the stored snapshots of
    the weeks before, computed where missing: once per product, then read back)."""
    content = digests.digest_content(ctx.factory, product=product, week=week)
    history = product_history(ctx.factory, product, as_of=week_start(week + 1), weeks=DIGEST_HISTORY_WEEKS)
    return dataclasses.replace(content, history=history)


class ChartPool:
    """Where charts are drawn. They are CPU-bound matplotlib work that holds the GIL, so by
    default they go to a few worker processes (every core busy while the delivery threads wait
    on Slack); ``processes`` 0, or a custom ``renderer`` (tests), draws them on one background
    thread instead. ``submit`` never blocks: a delivery thread posts the next digest while the
    chart of the last one is being drawn."""

    def __init__(self, renderer: Callable[[DigestContent], bytes] | None = None, processes: int | None = None,
                 trajectory_renderer: Callable[[DigestContent], bytes] | None = None) -> None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        wanted = min(4, cores) if processes is None else processes
        self.renderer = renderer or render_chart
        # A test's stand-in renderer draws both charts; the real digest chart comes with the real trajectory.
        custom = renderer is not None and renderer is not render_chart
        self.trajectory_renderer = trajectory_renderer or (renderer if custom and renderer else render_trajectory)
        self.processes = wanted if renderer is None and wanted >= 2 else 0
        self._pool: ProcessPoolExecutor | ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, content: DigestContent) -> Future[bytes]:
        return self._submit(self.renderer, content)

    def submit_trajectory(self, content: DigestContent) -> Future[bytes]:
        return self._submit(self.trajectory_renderer, content)

    def _submit(self, renderer: Callable[[DigestContent], bytes], content: DigestContent) -> Future[bytes]:
        with self._lock:
            if self._pool is None:
                # spawn: forking a process that runs threads (and holds DB connections) is unsafe.
                self._pool = (ProcessPoolExecutor(max_workers=self.processes, mp_context=get_context("spawn"))
                              if self.processes else ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart"))
            return self._pool.submit(renderer, content)

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


class _TickCache:
    """What a tick computes once: each team's client, each (product, week)'s figures and chart;
    and the queue of chart uploads that follow the posted digests."""

    def __init__(self, ctx: AppContext, charts: ChartPool, uploads: ThreadPoolExecutor) -> None:
        self.ctx = ctx
        self.clients = _Once()
        self.contents = _Once()
        self._charts = charts
        self._chart_futures: dict[tuple[int, int, str], Future[bytes]] = {}
        self._lock = threading.Lock()
        self._uploads = uploads

    def client(self, team_id: str) -> Any:
        return self.clients.get(team_id, lambda: self.ctx.client_for_team(team_id))

    def content(self, product: ProductRef, week: int) -> DigestContent:
        return self.contents.get((product.id, week), lambda: digest_content(self.ctx, product, week))

    def chart(self, content: DigestContent, kind: str = "digest") -> Future[bytes]:
        """The chart of (product, week) — ``kind`` "digest" or "trajectory" — drawn once per tick
        however many channels get it."""
        key = (content.product.id, content.week, kind)
        with self._lock:
            future = self._chart_futures.get(key)
            if future is None:
                submit = self._charts.submit if kind == "digest" else self._charts.submit_trajectory
                future = self._chart_futures[key] = submit(content)
            return future

    @property
    def charts_rendered(self) -> int:
        return len(self._chart_futures)

    def after(self, task: Callable[[], None]) -> None:
        """Run ``task`` (a chart upload) on the upload threads; failures are logged by it."""
        self._uploads.submit(task)


