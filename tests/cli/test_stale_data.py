"""An export that ends weeks before the report (bot/domain/freshness.py), through the real import
and `pmfbot check`: the report says the data ends first, names the --as-of that reads it, and
that --as-of no longer warns. Retention of cohorts nobody came back to reads 0%, not a "slope"."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.weeks import week_of_date, week_start

AS_OF = date(2026, 12, 7)  # a Monday


def _events(path: Path, last_week_start: date, *, weeks: int = 20, users: int = 60) -> Path:
    """Users u0.. active every week from ``weeks`` weeks before ``last_week_start`` through it."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "occurred_at"])
        for k in range(weeks):
            day = last_week_start - timedelta(weeks=weeks - 1 - k)
            for u in range(users):
                w.writerow([f"u{u}", datetime(day.year, day.month, day.day, 12, tzinfo=UTC).isoformat()])
    return path


@pytest.mark.parametrize(("quiet_weeks", "warned"), [(0, False), (1, False), (2, True), (30, True)])
def test_a_cut_off_export_is_named_first(run, tmp_path: Path, quiet_weeks: int, warned: bool) -> None:  # type: ignore[no-untyped-def]
    last_complete = week_start(week_of_date(AS_OF) - 1)
    last_active = last_complete - timedelta(weeks=quiet_weeks)
    assert run("product", "create", "acme")[0] == 0
    code, _, err = run("import", "events", str(_events(tmp_path / "e.csv", last_active)), "--product", "acme")
    assert code == 0, err
    code, out, err = run("check", "--product", "acme", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    report = json.loads(out)
    codes = [w["code"] for w in report["warnings"]]
    assert ("stale_data" in codes) is warned
    code, text_out, _ = run("check", "--product", "acme", "--as-of", AS_OF.isoformat())
    if not warned:
        assert "The data ends" not in text_out
        return
    assert codes[0] == "stale_data"  # first: every other figure depends on it
    message = report["warnings"][0]["message"]
    assert f"The data ends in the week of {last_active.day} {last_active:%b %Y}" in message
    assert f"{quiet_weeks} complete weeks since" in message
    then = (last_active + timedelta(weeks=1)).isoformat()
    assert report["next_steps"][0].endswith(f"`pmfbot check --as-of {then}`.")
    assert "The data ends" in text_out and f"--as-of {then}" in text_out
    # Read as of when the data ends, the warning is gone.
    code, out, _ = run("check", "--product", "acme", "--as-of", then, "--json")
    assert "stale_data" not in [w["code"] for w in json.loads(out)["warnings"]]


def test_cohorts_nobody_came_back_to_read_zero_not_a_slope(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("product", "create", "ghost")[0] == 0
    # 8 weekly cohorts of 40 users, each seen only in its signup week.
    with (tmp_path / "s.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "signed_up_at", "channel"])
        for c in range(30):
            day = week_start(week_of_date(AS_OF) - 31 + c)
            for u in range(40):
                w.writerow([f"c{c}u{u}", f"{day.isoformat()}T10:00:00+00:00", "organic"])
    assert run("import", "signups", str(tmp_path / "s.csv"), "--product", "ghost")[0] == 0
    code, out, _ = run("check", "--product", "ghost", "--as-of", AS_OF.isoformat(), "--json")
    retention = json.loads(out)["signals"]["retention"]
    assert retention["status"] == "fail"
    code, text_out, _ = run("check", "--product", "ghost", "--as-of", AS_OF.isoformat())
    assert "No user of these cohorts was active over" in text_out and "retention there is 0%" in text_out
    assert "−0%" not in text_out and "n/a of the remaining" not in text_out


def test_history_says_once_where_the_data_ends(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    last_active = week_start(week_of_date(AS_OF) - 1) - timedelta(weeks=10)
    assert run("product", "create", "acme")[0] == 0
    assert run("import", "events", str(_events(tmp_path / "e.csv", last_active)), "--product", "acme")[0] == 0
    code, out, err = run("history", "--product", "acme", "--weeks", "3", "--as-of", AS_OF.isoformat())
    assert code == 0, err
    head = out.split("\n\n", 1)[0]  # above the weeks
    assert head.count("The data ends in the week of") == 1
    assert f"{last_active.day} {last_active:%b %Y}" in head
    # A history that ends before the data does carries no such line.
    then = (last_active + timedelta(weeks=1)).isoformat()
    code, out, _ = run("history", "--product", "acme", "--weeks", "3", "--as-of", then)
    assert "The data ends" not in out
