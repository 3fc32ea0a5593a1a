"""The report cache shared through PostgreSQL (SPEC §11): two processes' caches (two
ReportCaches on one database) asking for the same report compute it once and draw its chart
once — also when they ask at the same instant (single flight under the advisory lock) — and
read back the same values; new data (another fingerprint) is computed again."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.digests import charts
from bot.reports import service
from bot.reports.cache import ReportCache
from bot.reports.service import PendingReport, fetch_report
from bot.reports.shared import SharedReports
from tests.conftest import is_pg_url


def two_processes(factory: sessionmaker[Session]) -> list[ReportCache]:
    caches = [ReportCache(size=8, parallel=2, fingerprint_ttl=0.0) for _ in range(2)]
    for c in caches:
        c.shared = SharedReports(factory)
    return caches


def test_two_workers_compute_and_draw_a_report_once(db_url: str, session_factory: sessionmaker[Session],
                                                    seed_product: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if not is_pg_url(db_url):
        pytest.skip("the shared cache runs on PostgreSQL (one SQLite process has its LRU)")
    product = seed_product("T1", "acme", "Acme")
    computed: list[int] = []
    drawn: list[int] = []
    real_compute, real_chart = service.compute_report, charts.digest_chart

    def counting_compute(*a: Any, **k: Any) -> Any:
        computed.append(1)
        return real_compute(*a, **k)

    def counting_chart(*a: Any, **k: Any) -> bytes:
        drawn.append(1)
        return real_chart(*a, **k)

    monkeypatch.setattr(service, "compute_report", counting_compute)
    monkeypatch.setattr(charts, "digest_chart", counting_chart)  # bot.reports.cache imports it when it draws
    caches = two_processes(session_factory)
    with session_factory() as s:
        fingerprint = caches[0].fingerprint(s, product.id)
    pending = PendingReport(product, date(2026, 11, 23), fingerprint)
    results: list[Any] = [None, None]

    def ask(i: int) -> None:
        results[i] = fetch_report(session_factory, caches[i], pending, with_chart=True)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert computed == [1] and drawn == [1]
    assert results[0].report == results[1].report and results[0].chart == results[1].chart
    assert results[0].chart.startswith(b"\x89PNG")
    # New data: another fingerprint, computed again (once).
    fetch_report(session_factory, caches[1], PendingReport(product, date(2026, 11, 23), (*fingerprint, "new")),
                 with_chart=False)
    assert computed == [1, 1]
