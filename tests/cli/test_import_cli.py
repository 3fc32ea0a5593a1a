"""`pmfbot import events|signups|responses` through the real CLI: exit codes, messages, nothing written."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bot.cli import main
from storage.db import Factory


@pytest.fixture
def run(db_url: str, session_factory: Factory):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(main, list(args), env={"DATABASE_URL": db_url}, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _counts(factory: Factory) -> tuple[int, int, int]:
    with factory() as s:
        return tuple(int(s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())  # type: ignore[return-value]
                     for t in ("product_users", "activity_weeks", "survey_responses"))


@pytest.fixture
def acme(run) -> str:  # type: ignore[no-untyped-def]
    code, out, err = run("product", "create", "acme")
    assert code == 0, err
    return "acme"


def test_each_kind_imports_and_reimports_without_change(run, acme: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        session_factory: Factory) -> None:
    files = {
        "events": _write(tmp_path / "e.csv", ["user_id", "occurred_at", "event"],
                         [["u1", "2026-03-02T10:00:00Z", "login"], ["u2", "2026-03-09", "open"]]),
        "signups": _write(tmp_path / "s.csv", ["user_id", "signed_up_at", "utm_source", "utm_medium"],
                          [["u1", "2026-03-01T12:00:00+01:00", "google", "cpc"]]),
        "responses": _write(tmp_path / "r.csv", ["respondent_id", "answered_at", "answer"],
                            [["u1", "2026-03-05", "Very disappointed"]]),
    }
    for kind, path in files.items():
        code, out, err = run("import", kind, str(path), "--product", acme)
        assert code == 0, err
        assert out.startswith("Imported ") and "acme" in out
    after = _counts(session_factory)
    assert after == (2, 3, 1)
    for kind, path in files.items():
        code, out, _ = run("import", kind, str(path), "--product", acme)
        assert code == 0 and "already known" in out
    assert _counts(session_factory) == after


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b"user_id,occurred_at\nu1,2026-03-02\n,2026-03-02\nu3,soon\n",
         ["2 of 3 rows are invalid; nothing was imported", "line 3: user_id is empty", "line 4: occurred_at 'soon'"]),
        (b"", ["is empty"]),
        (b"id,time\nu1,2026-03-02\n", ["missing columns user_id, occurred_at"]),
        (b"user_id,occurred_at\nJos\xe9,2026-03-02\n", ["is not UTF-8 text", "Re-save it as UTF-8"]),
    ],
)
def test_bad_files_exit_2_and_write_nothing(run, acme: str, tmp_path: Path, session_factory: Factory,  # type: ignore[no-untyped-def]
                                            content: bytes, needles: list[str]) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(content)
    code, out, err = run("import", "events", str(path), "--product", acme)
    assert code == 2
    for needle in needles:
        assert needle in err
    assert out == ""
    assert _counts(session_factory) == (0, 0, 0)


def test_missing_file_exits_2(run, acme: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("import", "signups", str(tmp_path / "nope.csv"), "--product", acme)
    assert code == 2 and "no such file" in err


def test_bad_answers_are_named_by_line(run, acme: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                       session_factory: Factory) -> None:
    path = _write(tmp_path / "r.csv", ["respondent_id", "answered_at", "answer"],
                  [["r1", "2026-03-02", "1"], ["r2", "2026-03-02", "maybe"]])
    code, _, err = run("import", "responses", str(path), "--product", acme)
    assert code == 2 and "line 3: answer 'maybe' is not one of" in err
    assert _counts(session_factory) == (0, 0, 0)


def test_skip_invalid_imports_the_rest(run, acme: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                       session_factory: Factory) -> None:
    path = _write(tmp_path / "e.csv", ["user_id", "occurred_at"], [["u1", "2026-03-02"], ["u2", "later"]])
    code, out, err = run("import", "events", str(path), "--product", acme, "--skip-invalid")
    assert code == 0, err
    assert "1 rejected" in out and "e.csv.rejected.csv" in out
    with (tmp_path / "e.csv.rejected.csv").open(encoding="utf-8", newline="") as fh:
        rejected = list(csv.reader(fh))
    assert rejected[0] == ["user_id", "occurred_at", "error"]
    assert rejected[1][:2] == ["u2", "later"] and rejected[1][2].startswith("line 3: occurred_at 'later' is not")
    assert len(rejected) == 2
    assert _counts(session_factory)[:2] == (1, 1)


def test_unknown_product_exits_2_and_says_how_to_create_it(run, acme: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "e.csv", ["user_id", "occurred_at"], [["u1", "2026-03-02"]])
    code, _, err = run("import", "events", str(path), "--product", "widgets")
    assert code == 2
    assert "'widgets'" in err and "pmfbot product create widgets" in err


def test_the_installed_console_script(db_url: str, acme: str, tmp_path: Path,
                                      session_factory: Factory) -> None:
    """The real `pmfbot` executable in a subprocess: exit codes and streams as a shell sees them."""
    exe = shutil.which("pmfbot", path=str(Path(sys.executable).parent)) or shutil.which("pmfbot")
    assert exe, "the pmfbot console script is not installed"
    env = {**os.environ, "DATABASE_URL": db_url}
    bad = _write(tmp_path / "bad.csv", ["user_id", "occurred_at"], [["u1", "2026-03-02"], ["u2", "31/12/2026"]])
    proc = subprocess.run([exe, "import", "events", str(bad), "--product", acme], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "line 3: occurred_at '31/12/2026'" in proc.stderr and proc.stdout == ""
    assert _counts(session_factory) == (0, 0, 0)
    good = _write(tmp_path / "good.csv", ["user_id", "occurred_at"], [["u1", "2026-03-02"]])
    proc = subprocess.run([exe, "import", "events", str(good), "--product", acme], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Imported 1 of 1 event row into acme")
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal


def test_the_demo_files_import_under_their_own_names(run, acme: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     session_factory: Factory) -> None:
    from datetime import date

    from bot.demo import generate

    data = generate(tmp_path / "data", date(2026, 11, 23), weeks=4)
    assert (data.signups, data.events, data.responses) == (
        tmp_path / "data" / "signups.csv", tmp_path / "data" / "events.csv", tmp_path / "data" / "responses.csv")
    for kind in ("signups", "events", "responses"):  # `pmfbot import signups data/signups.csv`, and so on
        code, out, err = run("import", kind, str(tmp_path / "data" / f"{kind}.csv"), "--product", acme)
        assert code == 0, err
        assert out.startswith("Imported ")
    users, activity, answers = _counts(session_factory)
    assert users == data.users and answers > 0 and activity > 0
