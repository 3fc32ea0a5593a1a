"""Durable work's rows (``storage.models_jobs``): SQLite's in-process queue (``jobs``) and the
effects every job records (``job_effects``). Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.models_jobs import Job, JobEffect


# ----------------------------------------------------------------------------- jobs (SQLite)
def add_job(session: Session, *, job_key: str, name: str, args: dict[str, Any], now: datetime) -> None:
    session.add(Job(job_key=job_key, name=name, args=args, attempts=0, created_at=now))


def remove_job(session: Session, job_key: str) -> None:
    session.execute(delete(Job).where(Job.job_key == job_key))


def count_attempt(session: Session, job_key: str) -> int:
    """One more attempt at the job; how many before this one."""
    before = session.scalar(select(Job.attempts).where(Job.job_key == job_key))
    session.execute(update(Job).where(Job.job_key == job_key).values(attempts=Job.attempts + 1))
    return int(before or 0)


def open_jobs(session: Session) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, name, args) of every job not done, oldest first."""
    rows = session.execute(select(Job.job_key, Job.name, Job.args).order_by(Job.id)).all()
    return [(k, n, dict(a)) for k, n, a in rows]



# ----------------------------------------------------------------------------- effects
def effects(session: Session, job_key: str) -> dict[str, str | None]:
    rows = session.execute(select(JobEffect.step, JobEffect.result).where(JobEffect.job_key == job_key)).all()
    return {step: result for step, result in rows}


def record_effect(session: Session, *, job_key: str, step: str, result: str | None, now: datetime) -> None:
    """Record a step once (a second record of the same step keeps the first)."""
    stmt = dialect_insert(session, JobEffect).values(job_key=job_key, step=step, result=result, created_at=now)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["job_key", "step"]))


def prune_effects(session: Session, *, before: datetime) -> int:
    """Forget the effects of jobs long done (a job is retried within minutes, never days)."""
    return session.execute(delete(JobEffect).where(JobEffect.created_at < before)).rowcount or 0  # type: ignore[attr-defined]
