"""The tables of durable post-ack work (SPEC §11), apart from ``storage.models`` (which is near
the module size limit).

- ``jobs``: the in-process queue of a SQLite deployment (``bot.jobs.local``): a row is written
  before the ack and deleted when its job is done, so a restart replays what was acked. On
  PostgreSQL procrastinate's own tables hold the queue (applied by migration 0013) and this table
  stays empty.
- ``job_effects``: one row per external effect a job has completed (a response_url reply, a
  channel post's ts, a chart's file id), so a job run again after a crash skips what already
  happened (``bot.jobs.effects``).
- ``report_cache``: reports and their charts shared by the workers on PostgreSQL
  (``bot.reports.shared``), so N workers do not compute the same report N times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base
from storage.models import UTCDateTime, utcnow


class Job(Base):
    """A job acked and not finished yet (SQLite's in-process queue): ``name`` is its registered
    task, ``args`` its JSON arguments, ``job_key`` the key its effects are recorded under."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class JobEffect(Base):
    """An effect of a job that happened (``step`` names it: ``reply:1``, ``post``, ``file:chart``);
    ``result`` is what a rerun needs (a ts, a file id), as a short string."""

    __tablename__ = "job_effects"
    job_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[str] = mapped_column(String(100), primary_key=True)
    result: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ReportCacheRow(Base):
    """A computed report (``bot.digests.codec`` JSON) and its chart PNG, by a key hashing the
    product, day, settings, data fingerprint and rules version."""

    __tablename__ = "report_cache"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))
    chart: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
