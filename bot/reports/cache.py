"""The per-process report cache behind ``/pmf-check``, ``share`` and the App Home.

The key is the product, the day, its settings and a fingerprint of its data (row counts and
high-water marks), so twenty people running ``/pmf-check`` at once compute it — and draw its
chart — once (single flight), with at most ``parallel`` computations running per process so the
CPU-bound statistics and matplotlib never starve the threads that ack Slack. The fingerprint
itself (a few aggregate queries) is reused for ``fingerprint_ttl`` seconds, so a burst of
commands costs one set of queries; new data shows in a report at most that many seconds after
its import committed. One cache lives on the ``AppContext`` (no module state).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.domain.settings import ProductSettings
from bot.domain.types import GateReport
from bot.render.names import SIGNALS_CHART
from bot.reports.shared import SharedReports
from storage.repositories.fingerprint import data_fingerprint
from storage.repositories.products import ProductRef


@dataclass
class _Entry:
    report: GateReport
    chart: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class ReportBundle:
    product: ProductRef
    report: GateReport
    chart: bytes | None  # the three-signal chart PNG, when asked for and there is data

    @property
    def chart_filename(self) -> str:
        return f"pmf-gate-{self.product.slug}-{self.report.as_of.isoformat()}.png"

    @property
    def chart_title(self) -> str:
        return f"{self.product.name} · {SIGNALS_CHART} · {self.report.as_of.isoformat()}"


class ReportCache:
    """A small LRU of computed reports (and their charts) with single flight per key."""

    def __init__(self, *, size: int, parallel: int, fingerprint_ttl: float) -> None:
        self.fingerprint_ttl = fingerprint_ttl
        self._fingerprints: dict[int, tuple[float, tuple[object, ...]]] = {}
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self._size = size
        self._cpu = threading.BoundedSemaphore(parallel)
        # PostgreSQL: the cache shared by every process (bot.reports.shared), behind this LRU.
        self.shared: SharedReports | None = None

    def fingerprint(self, session: Session, product_id: int) -> tuple[object, ...]:
        """Changes whenever an import or a survey adds or changes what the report is computed
        from (memoised for ``fingerprint_ttl`` seconds)."""
        now = time.monotonic()
        memo = self._fingerprints.get(product_id)
        if memo is not None and now - memo[0] < self.fingerprint_ttl:
            return memo[1]
        value = data_fingerprint(session, product_id)
        self._fingerprints[product_id] = (now, value)
        return value

    def _get(self, key: Hashable) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def entry(self, key: Hashable, compute: Callable[[], GateReport]) -> _Entry:
        entry = self._get(key)
        if entry is not None:
            return entry
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            entry = self._get(key)
            if entry is None:
                with self._cpu:
                    entry = _Entry(compute())
                with self._lock:
                    self._entries[key] = entry
                    while len(self._entries) > self._size:
                        self._entries.popitem(last=False)
                    self._key_locks.pop(key, None)
        return entry

    def chart(self, entry: _Entry, settings: ProductSettings,
              through: Callable[[Callable[[], bytes]], bytes] | None = None) -> bytes:
        """The report's chart of all three signals (the digest's chart), drawn once per entry
        (``through``: the shared cache, which draws it only if no process has)."""
        with entry.lock:
            if entry.chart is None:
                from bot.digests.charts import digest_chart  # matplotlib: only when a chart is drawn

                def draw() -> bytes:
                    with self._cpu:
                        return digest_chart(entry.report, min_share=settings.organic.min_share, name=SIGNALS_CHART,
                                            threshold=settings.survey.threshold,
                                            window_weeks=settings.organic.window_weeks)

                entry.chart = through(draw) if through is not None else draw()
            return entry.chart

    def preset_chart(self, entry: _Entry, chart: bytes) -> None:
        with entry.lock:
            if entry.chart is None:
                entry.chart = chart

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        self._fingerprints.clear()
