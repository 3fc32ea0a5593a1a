"""The report cache shared by every process (``report_cache``, PostgreSQL): one row per report
key with the report's JSON and its chart. Single flight under ``pg_advisory_xact_lock`` on the
key, so N workers asking for the same report compute it once. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.models_jobs import ReportCacheRow


def lock(session: Session, key: str) -> None:
    """Hold the key's advisory lock until the transaction ends (PostgreSQL)."""
    session.execute(text("SELECT pg_advisory_xact_lock(('x' || substr(:k, 1, 16))::bit(64)::bigint)"), {"k": key})


def get(session: Session, key: str) -> tuple[dict[str, Any], bytes | None] | None:
    row = session.execute(select(ReportCacheRow.report, ReportCacheRow.chart).where(ReportCacheRow.key == key)).first()
    return (dict(row[0]), row[1]) if row is not None else None


def put(session: Session, *, key: str, report: dict[str, Any], now: datetime) -> None:
    stmt = dialect_insert(session, ReportCacheRow).values(key=key, report=report, chart=None, created_at=now)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))


def put_chart(session: Session, *, key: str, chart: bytes) -> None:
    session.execute(update(ReportCacheRow).where(ReportCacheRow.key == key).values(chart=chart))


def prune(session: Session, *, before: datetime) -> int:
    return session.execute(delete(ReportCacheRow).where(ReportCacheRow.created_at < before)).rowcount or 0  # type: ignore[attr-defined]
