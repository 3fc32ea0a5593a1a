"""The schedule's words have one home, bot/digests/schedule.py (issue 21 "one fact, one place"):
the day names, the default day and time, and how a schedule reads. The digest's replies, its
usage line and App Home's digest line follow it, and no other module spells a day."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import UTC, datetime, time
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bot.digests import blocks as db
from bot.digests import schedule
from bot.home.service import _subscription_line
from tests.literals import modules_saying, trees

HOME = "bot/digests/schedule.py"


@dataclass(frozen=True)
class _Sub:
    product_slug: str = "acme"
    product_name: str = "Acme"
    channel_id: str = "C1"
    schedule: schedule.Schedule = schedule.Schedule(0, time(9), "Europe/Berlin")
    active: bool = True
    paused_reason: str | None = None
    next_run: datetime | None = datetime(2026, 11, 30, 8, tzinfo=UTC)
    last_delivery: Any = None
    last_error: str | None = None
    last_error_at: datetime | None = None


def _text(message: dict[str, Any]) -> str:
    return str(message)


def test_a_schedule_reads_the_same_everywhere() -> None:
    sub = _Sub()
    said = schedule.describe(sub.schedule)
    assert said == sub.schedule.describe() == "Mondays at 09:00 (Europe/Berlin)"
    assert said in _text(db.subscriptions_message([sub]))
    assert said in _text(db.subscribed_message(sub, tz_from_profile=False))


def test_the_day_names_and_defaults_come_from_the_one_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule, "WEEKDAY_LONG", ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"))
    monkeypatch.setattr(schedule, "WEEKDAY_NAMES", ("Lun", "Mar", "Mer", "Jeu", "Ven", "Sam", "Dim"))
    monkeypatch.setattr(schedule, "DEFAULT_WEEKDAY", 2)
    monkeypatch.setattr(schedule, "DEFAULT_TIME", time(8, 30))
    sub = _Sub()
    listing = _text(db.subscriptions_message([sub]))
    assert "Lundis at 09:00 (Europe/Berlin)" in listing and "next: Lun 30 Nov 09:00 CET" in listing
    assert "default: this channel, Mercredi 08:30, your time zone" in dict(db.usage_lines())[
        "/pmf-check digest weekly [#channel] [mon…sun] [HH:MM] [Area/City]"]
    stored = SimpleNamespace(channel_id="C1", weekday=0, local_time="09:00", timezone="Europe/Berlin", active=True,
                             last_error=None)
    assert _subscription_line(cast(Any, stored), "acme") == "<#C1> · `acme` · Lundis 09:00 Europe/Berlin"


def test_no_other_module_spells_a_day() -> None:
    for day in schedule.WEEKDAY_LONG[1:]:  # "Monday" also names where weeks start, elsewhere
        assert modules_saying(day) == {HOME}, day
    short = set(schedule.WEEKDAY_NAMES)
    found = {path for path, tree in trees().items()
             if any(isinstance(n, ast.Constant) and n.value in short for n in ast.walk(tree))}
    assert found == {HOME}


def test_the_default_schedule_is_said_by_the_one_home() -> None:
    assert schedule.default_when() == "Monday 09:00"
    assert modules_saying("09:00") == {HOME}
