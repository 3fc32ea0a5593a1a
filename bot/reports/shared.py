"""The report cache shared by every process on PostgreSQL (SPEC §11): behind the per-process LRU
(``bot.reports.cache``), a computed report and its chart are stored in ``report_cache`` under a
key hashing the product, day, settings, data fingerprint and rules version. The first process to
need a key computes it while holding the key's advisory lock; the others wait on the lock and
read the row, so N workers compute (and draw) each report once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime

from bot.digests.codec import decode_report, encode, encode_report
from bot.domain import RULES_VERSION
from bot.domain.settings import ProductSettings
from bot.domain.types import GateReport
from storage.db import Factory, unit_of_work
from storage.repositories import report_cache as repo


def report_key(product_id: int, as_of: date, settings: ProductSettings, fingerprint: tuple[object, ...]) -> str:
    payload = {"rules": RULES_VERSION, "product": product_id, "as_of": as_of.isoformat(),
               "settings": encode(settings), "data": [str(v) for v in fingerprint]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class SharedReports:
    def __init__(self, factory: Factory) -> None:
        self.factory = factory

    def report(self, key: str, compute: Callable[[], GateReport]) -> tuple[GateReport, bytes | None]:
        """The stored report and chart, or ``compute()`` stored (once, under the key's lock)."""
        with unit_of_work(self.factory) as s:
            repo.lock(s, key)
            found = repo.get(s, key)
            if found is not None:
                return decode_report(found[0]), found[1]
            report = compute()
            repo.put(s, key=key, report=encode_report(report), now=datetime.now(UTC))
            return report, None

    def chart(self, key: str, draw: Callable[[], bytes]) -> bytes:
        """The stored chart, or ``draw()`` stored (once, under the key's lock)."""
        with unit_of_work(self.factory) as s:
            repo.lock(s, key)
            found = repo.get(s, key)
            if found is not None and found[1] is not None:
                return found[1]
            chart = draw()
            repo.put_chart(s, key=key, chart=chart)
            return chart
