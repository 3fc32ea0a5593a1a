"""Shared values and helpers of the survey service tests: workspace ``T1``, its channel, the
secret key, a fixed start time, and a click recorded straight through the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.surveys import service as surveys
from bot.surveys.answers import record_answer
from bot.surveys.values import SurveyInfo
from storage.db import Base

TEAM = "T1"
CHANNEL = "C0SURVEY"
SECRET = "test-secret-key-0123456789"
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def ts(at: datetime) -> str:
    """A Slack timestamp string for ``at``."""
    return f"{int(at.timestamp())}.{at.microsecond:06d}"


def click(factory: sessionmaker[Session], survey: SurveyInfo, user: str, answer: str, at: datetime,
          now: datetime | None = None) -> surveys.AnswerOutcome:
    return record_answer(factory, survey_id=survey.id, channel_id=survey.channel_id, user_id=user,
                                 answer=answer, answered_at=at, secret=SECRET,  # type: ignore[arg-type]
                                 now=now or at)


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def scan_for(factory: sessionmaker[Session], needle: str) -> list[str]:
    """Every ``table.column`` holding a value whose text contains ``needle``, over every column
    of every table of the schema (text, JSON and all others, as text)."""
    hits = []
    with factory() as s:
        for table in Base.metadata.sorted_tables:
            for col in table.columns:
                for value in s.execute(select(col)).scalars():
                    if value is not None and needle in str(value):
                        hits.append(f"{table.name}.{col.name}")
    return hits
