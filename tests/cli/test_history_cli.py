"""`pmfbot history`, `pmfbot survey lessons` and the lessons key of `pmfbot check --json`, through
the real CLI against the test DB, on imported CSVs."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.settings import SurveySettings

AS_OF = date(2026, 11, 23)
BENEFITS = ("saves hours of reporting", "saves hours every week", "the weekly digest for the team",
            "the weekly digest keeps us honest", "saves hours on spreadsheets")




def _data(tmp: Path) -> tuple[Path, Path]:
    events, responses = tmp / "events.csv", tmp / "responses.csv"
    start = datetime(2026, 8, 3, tzinfo=UTC)
    with events.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "occurred_at"])
        for i in range(240):
            first = start + timedelta(days=(i * 5) % 105)
            for k in range(0, 16, 1 + i % 3):
                at = first + timedelta(weeks=k)
                if at.date() < AS_OF:
                    w.writerow([f"u{i}", at.isoformat()])
    with responses.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["respondent_id", "answered_at", "answer", "segment", "main_benefit", "improve"])
        for i in range(45):
            answer = "Very disappointed" if i % 3 == 0 else "Somewhat disappointed" if i % 3 == 1 else "Not disappointed"
            w.writerow([f"r{i}", (AS_OF - timedelta(days=1 + i % 30)).isoformat(), answer,
                        "Engineer" if i % 2 else "Founder", BENEFITS[i % 5] if i % 3 < 2 else "",
                        "faster import please" if i % 3 == 1 else ""])
    return events, responses


def _setup(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events, responses = _data(tmp_path)
    assert run("product", "create", "acme")[0] == 0
    assert run("import", "events", str(events), "--product", "acme")[0] == 0
    assert run("import", "responses", str(responses), "--product", "acme")[0] == 0


def test_history_json_is_the_spec_shape_and_matches_check_for_each_week(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _setup(run, tmp_path)
    code, out, err = run("history", "--product", "acme", "--weeks", "4", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["product"] == "acme" and [w["week"] for w in data["weeks"]] == [
        "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"]
    for w in data["weeks"]:
        # Independent: the same week through `pmfbot check --as-of` (a fresh computation).
        code, out, err = run("check", "--product", "acme", "--as-of", w["as_of"], "--json")
        check = json.loads(out)
        assert w["verdict"] == check["verdict"]
        # The survey: answers through the week's Sunday only (SPEC §10), i.e. `check` as of that Sunday.
        sunday = (date.fromisoformat(w["as_of"]) - timedelta(days=1)).isoformat()
        survey = json.loads(run("check", "--product", "acme", "--as-of", sunday, "--json")[1])["signals"]["survey"]
        assert w["survey"]["responses"] == survey["responses"]
        assert w["survey"]["score"] == pytest.approx(survey["score"], abs=1e-3)
        assert w["retention"]["plateau_level"] == pytest.approx(check["signals"]["retention"]["plateau_level"],
                                                                abs=1e-3)
    code, text, _ = run("history", "--product", "acme", "--weeks", "2", "--as-of", AS_OF.isoformat())
    assert code == 0 and text.startswith("acme · PMF week by week") and "week of 2026-11-16" in text


def test_check_json_adds_the_lessons_and_survey_lessons_prints_them(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _setup(run, tmp_path)
    code, out, err = run("check", "--product", "acme", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"product", "as_of", "verdict", "signals", "warnings", "next_steps", "lessons"} <= set(data)  # keys may be added (SPEC §4)
    lessons = data["lessons"]
    assert set(lessons) == {"anonymous", "segment", "love", "hold_back", "respondents"}
    assert lessons["respondents"]["very"] == 15 and lessons["love"]["phrases"][0]["phrase"] == "saves hours"
    code, out, err = run("survey", "lessons", "--product", "acme", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    alone = json.loads(out)
    assert alone == {"product": "acme", "as_of": AS_OF.isoformat()} | lessons
    code, text, _ = run("survey", "lessons", "--product", "acme", "--as-of", AS_OF.isoformat())
    assert "Who loves it most: " in text and "saves hours" in text and "faster import" in text


@pytest.mark.parametrize("args, needle", [
    (("history", "--product", "nope"), "No product 'nope'"),
    (("history", "--product", "acme", "--weeks", "0"), "--weeks"),
    (("survey", "lessons", "--product", "nope"), "No product 'nope'"),
])
def test_bad_history_arguments_exit_2(run, args: tuple[str, ...], needle: str) -> None:  # type: ignore[no-untyped-def]
    run("product", "create", "acme")
    code, out, err = run(*args)
    assert code == 2 and needle in err and out == ""


def test_a_finished_week_never_changes_when_answers_arrive_on_the_monday_after(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """SPEC §10: the row of the week that ends on Sunday 22 Nov counts answers through that day;
    three answers on Monday 23 Nov (the day its row is dated, after the digest went out) go to the
    next week's row, and the finished row keeps its n."""
    _setup(run, tmp_path)
    code, out, err = run("history", "--product", "acme", "--weeks", "2", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    before = json.loads(out)["weeks"][-1]
    assert before["week"] == "2026-11-16" and before["as_of"] == AS_OF.isoformat()
    # Independent count: distinct respondents answering in the window ending Sunday 22 Nov
    # (_data: r{i} answers AS_OF - 1 - i % 30 days, none of them N/A).
    window = timedelta(days=SurveySettings().window_days)
    sunday = AS_OF - timedelta(days=1)
    expected = len({i for i in range(45) if sunday - window < AS_OF - timedelta(days=1 + i % 30) <= sunday})
    assert before["survey"]["responses"] == expected
    late = tmp_path / "late.csv"
    with late.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["respondent_id", "answered_at", "answer"])
        for i in range(3):
            w.writerow([f"late{i}", f"{AS_OF.isoformat()}T0{9 + i % 1}:1{i}:00Z", "Very disappointed"])
    assert run("import", "responses", str(late), "--product", "acme")[0] == 0
    next_monday = AS_OF + timedelta(days=7)
    code, out, err = run("history", "--product", "acme", "--weeks", "3", "--as-of", next_monday.isoformat(), "--json")
    assert code == 0, err
    weeks = {w["week"]: w for w in json.loads(out)["weeks"]}
    assert weeks["2026-11-16"]["survey"] == before["survey"]
    # The next row has them: the same window a week later, plus the three.
    later = len({i for i in range(45) if AS_OF + timedelta(days=6) - window < AS_OF - timedelta(days=1 + i % 30)})
    assert weeks["2026-11-23"]["survey"]["responses"] == later + 3
