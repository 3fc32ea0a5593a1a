"""When a weekly digest is due: wall-clock time in an IANA zone, resolved with zoneinfo.

Table-driven over the DST changes that matter: a 09:00 Europe/Berlin digest stays at 09:00 local
across the March and October changes; a time inside the spring-forward gap runs at the first
valid instant after it; a time that happens twice in the fall-back runs at the first occurrence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digests.schedule import Schedule, latest_due, next_run, occurrence_on, resolve_local

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("scenario", "day", "at", "zone", "expected_utc"),
    [
        ("berlin winter, 09:00 CET", date(2026, 3, 23), time(9), "Europe/Berlin", utc(2026, 3, 23, 8)),
        ("berlin after spring forward, 09:00 CEST", date(2026, 3, 30), time(9), "Europe/Berlin", utc(2026, 3, 30, 7)),
        ("berlin before fall back, 09:00 CEST", date(2026, 10, 19), time(9), "Europe/Berlin", utc(2026, 10, 19, 7)),
        ("berlin after fall back, 09:00 CET", date(2026, 10, 26), time(9), "Europe/Berlin", utc(2026, 10, 26, 8)),
        # 02:30 does not exist on 29 Mar 2026 in Berlin: clocks jump 02:00 → 03:00 (01:00 UTC).
        ("berlin gap 02:30 → first valid instant 03:00 CEST", date(2026, 3, 29), time(2, 30), "Europe/Berlin",
         utc(2026, 3, 29, 1)),
        ("berlin gap 02:00 exactly → 03:00 CEST", date(2026, 3, 29), time(2, 0), "Europe/Berlin", utc(2026, 3, 29, 1)),
        ("berlin 03:00 on the gap day is valid", date(2026, 3, 29), time(3, 0), "Europe/Berlin", utc(2026, 3, 29, 1)),
        # 02:30 happens twice on 25 Oct 2026: first at CEST (00:30 UTC), then at CET (01:30 UTC).
        ("berlin ambiguous 02:30 → first occurrence (CEST)", date(2026, 10, 25), time(2, 30), "Europe/Berlin",
         utc(2026, 10, 25, 0, 30)),
        ("new york gap 02:30 → 03:00 EDT", date(2026, 3, 8), time(2, 30), "America/New_York", utc(2026, 3, 8, 7)),
        ("new york ambiguous 01:30 → EDT", date(2026, 11, 1), time(1, 30), "America/New_York", utc(2026, 11, 1, 5, 30)),
        # Lord Howe moves by 30 minutes: 02:00 → 02:30 on 4 Oct 2026 (15:30 UTC the day before).
        ("lord howe half-hour gap 02:15 → 02:30 +11", date(2026, 10, 4), time(2, 15), "Australia/Lord_Howe",
         utc(2026, 10, 3, 15, 30)),
        # Samoa skipped Friday 30 Dec 2011 entirely: the first valid instant is Sat 31 Dec 00:00.
        ("apia skipped day → next midnight", date(2011, 12, 30), time(9), "Pacific/Apia", utc(2011, 12, 30, 10)),
        ("utc is trivial", date(2026, 6, 1), time(23, 59), "UTC", utc(2026, 6, 1, 23, 59)),
        ("kathmandu +05:45", date(2026, 6, 1), time(9), "Asia/Kathmandu", utc(2026, 6, 1, 3, 15)),
    ],
)
def test_resolve_local(scenario: str, day: date, at: time, zone: str, expected_utc: datetime) -> None:
    assert resolve_local(day, at, ZoneInfo(zone)) == expected_utc, scenario


def test_a_berlin_digest_is_at_0900_local_every_week_across_both_dst_changes() -> None:
    s = Schedule(weekday=0, local_time=time(9), timezone="Europe/Berlin")
    now = utc(2026, 3, 1)
    runs = []
    for _ in range(40):
        occ = next_run(s, now)
        runs.append(occ.due_at)
        now = occ.due_at
    local = [r.astimezone(BERLIN) for r in runs]
    assert all(x.hour == 9 and x.minute == 0 and x.weekday() == 0 for x in local)
    assert all(b - a in (timedelta(days=7), timedelta(days=7, hours=-1), timedelta(days=7, hours=1))
               for a, b in zip(runs, runs[1:], strict=False))
    # The weeks around the changes: 23 Mar is CET (08:00 UTC), 30 Mar CEST (07:00 UTC), etc.
    by_day = {r.astimezone(BERLIN).date(): r for r in runs}
    assert by_day[date(2026, 3, 23)] == utc(2026, 3, 23, 8)
    assert by_day[date(2026, 3, 30)] == utc(2026, 3, 30, 7)
    assert by_day[date(2026, 10, 19)] == utc(2026, 10, 19, 7)
    assert by_day[date(2026, 10, 26)] == utc(2026, 10, 26, 8)


@pytest.mark.parametrize(
    ("scenario", "now", "latest", "following"),
    [
        ("just before the run", utc(2026, 3, 30, 6, 59, 59), utc(2026, 3, 23, 8), utc(2026, 3, 30, 7)),
        ("exactly at the run", utc(2026, 3, 30, 7), utc(2026, 3, 30, 7), utc(2026, 4, 6, 7)),
        ("later the same day", utc(2026, 3, 30, 12), utc(2026, 3, 30, 7), utc(2026, 4, 6, 7)),
        ("on sunday", utc(2026, 3, 29, 12), utc(2026, 3, 23, 8), utc(2026, 3, 30, 7)),
        # Monday 00:30 Berlin is still Sunday in UTC: the local date decides.
        ("monday early in berlin, sunday in utc", utc(2026, 3, 29, 22, 30), utc(2026, 3, 23, 8), utc(2026, 3, 30, 7)),
    ],
)
def test_latest_and_next_run(scenario: str, now: datetime, latest: datetime, following: datetime) -> None:
    s = Schedule(weekday=0, local_time=time(9), timezone="Europe/Berlin")
    assert latest_due(s, now).due_at == latest, scenario
    assert next_run(s, now).due_at == following, scenario


def test_a_run_inside_the_gap_every_week_is_still_weekly() -> None:
    # Sunday 02:30 in Berlin: the DST Sunday runs at 03:00, the others at 02:30.
    s = Schedule(weekday=6, local_time=time(2, 30), timezone="Europe/Berlin")
    before = occurrence_on(s, date(2026, 3, 22)).due_at
    gap = occurrence_on(s, date(2026, 3, 29)).due_at
    after = occurrence_on(s, date(2026, 4, 5)).due_at
    assert gap.astimezone(BERLIN).time() == time(3, 0)
    assert before < gap < after
    assert next_run(s, before).due_at == gap and next_run(s, gap).due_at == after


def test_period_is_the_monday_of_the_local_week() -> None:
    s = Schedule(weekday=4, local_time=time(17), timezone="America/Los_Angeles")
    occ = latest_due(s, utc(2026, 3, 14, 12))  # Sat in UTC and LA → Fri 13 Mar
    assert occ.local_date == date(2026, 3, 13)
    assert occ.period == date(2026, 3, 9)
