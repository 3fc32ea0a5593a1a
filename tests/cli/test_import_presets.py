"""`pmfbot import … --from PRESET / --map / --date-format` through the real CLI (SPEC §4 "Imports"):
another tool's export lands exactly as the same rows written in our own format would."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.cli import _PRESETS
from bot.ingest import layout
from storage.db import Factory

# Six events of three users over three weeks (one repeated in a week), as instants.
_EVENTS = [("u1", datetime(2026, 3, 2, 10, 5, tzinfo=UTC)), ("u1", datetime(2026, 3, 4, 23, 59, 59, tzinfo=UTC)),
           ("u2", datetime(2026, 3, 8, 23, 30, tzinfo=UTC)), ("u2", datetime(2026, 3, 9, 0, 30, tzinfo=UTC)),
           ("u3", datetime(2026, 3, 16, 12, 0, tzinfo=UTC)), ("u1", datetime(2026, 3, 22, 8, 0, tzinfo=UTC))]


def _write(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def _weeks(factory: Factory, slug: str) -> set[tuple[str, int]]:
    with factory() as s:
        rows = s.execute(text(
            "SELECT u.external_id, a.week FROM activity_weeks a JOIN product_users u ON u.id = a.user_id "
            "JOIN products p ON p.id = u.product_id WHERE p.slug = :slug"), {"slug": slug}).all()
    return {(r[0], int(r[1])) for r in rows}


@pytest.fixture
def products(run) -> None:  # type: ignore[no-untyped-def]
    for slug in ("ours", "theirs"):
        code, _, err = run("product", "create", slug)
        assert code == 0, err


def _ours(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "ours.csv", ["user_id", "occurred_at"], [[u, t.isoformat()] for u, t in _EVENTS])
    code, _, err = run("import", "events", str(path), "--product", "ours")
    assert code == 0, err


@pytest.mark.parametrize(("preset", "header", "cell", "said"), [
    ("posthog", ["uuid", "event", "distinct_id", "timestamp"], lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f+00:00"),
     "distinct_id → user_id, timestamp → occurred_at"),
    ("mixpanel", ["event", "distinct_id", "time", "$city"], lambda t: str(int(t.timestamp())),
     "time read as epoch seconds"),
    ("amplitude", ["event_type", "user_id", "event_time", "amplitude_id"], lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f"),
     "event_time → occurred_at"),
    ("segment", ["messageId", "userId", "event", "timestamp"], lambda t: t.isoformat().replace("+00:00", "Z"),
     "userId → user_id"),
])
def test_event_presets_store_what_our_format_stores(run, products, tmp_path: Path, session_factory: Factory,  # type: ignore[no-untyped-def]
                                                    preset: str, header: list[str], cell, said: str) -> None:
    _ours(run, tmp_path)
    rows = []
    for u, t in _EVENTS:
        values = {"uuid": "x", "messageId": "m", "event": "opened", "event_type": "opened", "$city": "Lyon",
                  "amplitude_id": "9", "distinct_id": u, "user_id": u, "userId": u}
        rows.append([cell(t) if h in ("timestamp", "time", "event_time") else values[h] for h in header])
    path = _write(tmp_path / f"{preset}.csv", header, rows)
    code, out, err = run("import", "events", str(path), "--product", "theirs", "--from", preset)
    assert code == 0, err
    assert said in out and "preset" in out
    assert _weeks(session_factory, "theirs") == _weeks(session_factory, "ours")
    assert len(_weeks(session_factory, "ours")) == 5  # u1 twice in week 1, u2 across a week end


def test_epoch_milliseconds_and_map(run, products, tmp_path: Path, session_factory: Factory) -> None:  # type: ignore[no-untyped-def]
    _ours(run, tmp_path)
    rows = [[str(int(t.timestamp() * 1000)), u] for u, t in _EVENTS]
    path = _write(tmp_path / "ms.csv", ["ts", "person"], rows)
    code, out, err = run("import", "events", str(path), "--product", "theirs", "--map", "user_id=person,occurred_at=TS")
    assert code == 0, err
    assert "ts read as epoch milliseconds" in out and "person → user_id" in out
    assert _weeks(session_factory, "theirs") == _weeks(session_factory, "ours")


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_and_tab_separated_files_are_read(run, products, tmp_path: Path, session_factory: Factory,  # type: ignore[no-untyped-def]
                                                    delimiter: str, name: str) -> None:
    _ours(run, tmp_path)
    path = _write(tmp_path / "e.csv", ["user_id", "occurred_at"], [[u, t.isoformat()] for u, t in _EVENTS], delimiter)
    code, out, err = run("import", "events", str(path), "--product", "theirs")
    assert code == 0, err
    assert f"{name}-separated" in out
    assert _weeks(session_factory, "theirs") == _weeks(session_factory, "ours")


def test_semicolon_signups_header_is_not_called_missing(run, products, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.csv"
    path.write_text("user_id;signed_up_at;channel\nu1;2026-03-02;google\n", encoding="utf-8")
    code, out, err = run("import", "signups", str(path), "--product", "theirs")
    assert code == 0, err
    assert "Imported 1 of 1" in out and "semicolon-separated" in out


def test_ambiguous_day_month_is_refused_with_a_hint_then_accepted(run, products, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                  session_factory: Factory) -> None:
    path = _write(tmp_path / "e.csv", ["user_id", "occurred_at"], [["u1", "03/04/2026"], ["u2", "05/06/2026"]])
    code, out, err = run("import", "events", str(path), "--product", "theirs")
    assert code == 2 and out == ""
    assert "ambiguous" in err and "--date-format '%d/%m/%Y'" in err and "nothing was imported" in err
    assert _weeks(session_factory, "theirs") == set()
    code, out, err = run("import", "events", str(path), "--product", "theirs", "--date-format", "%d/%m/%Y")
    assert code == 0, err
    assert "--date-format %d/%m/%Y" in out
    monday = datetime(2026, 3, 30).toordinal()  # 3 April 2026 is in the week of Monday 30 March
    ours = _write(tmp_path / "iso.csv", ["user_id", "occurred_at"], [["u1", "2026-04-03"], ["u2", "2026-06-05"]])
    assert run("import", "events", str(ours), "--product", "ours")[0] == 0
    assert _weeks(session_factory, "theirs") == _weeks(session_factory, "ours")
    assert ("u1", (monday - datetime(1970, 1, 5).toordinal()) // 7) in _weeks(session_factory, "ours")


def test_a_day_above_12_decides_the_order_and_says_so(run, products, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     session_factory: Factory) -> None:
    path = _write(tmp_path / "e.csv", ["user_id", "occurred_at"], [["u1", "03/04/2026 10:00"], ["u2", "25/06/2026 09:30"]])
    code, out, err = run("import", "events", str(path), "--product", "theirs")
    assert code == 0, err
    assert "occurred_at read as day first (%d/%m/%Y %H:%M)" in out
    ours = _write(tmp_path / "iso.csv", ["user_id", "occurred_at"], [["u1", "2026-04-03T10:00"], ["u2", "2026-06-25T09:30"]])
    assert run("import", "events", str(ours), "--product", "ours")[0] == 0
    assert _weeks(session_factory, "theirs") == _weeks(session_factory, "ours")


def test_stripe_customers_export(run, products, tmp_path: Path, session_factory: Factory) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "customers.csv",
                  ["id", "Description", "Email", "Name", "Created (UTC)", "utm_source (metadata)", "utm_medium (metadata)"],
                  [["cus_1", "", "a@x.io", "A", "2026-03-02 10:05", "google", "cpc"],
                   ["cus_2", "", "b@x.io", "B", "2026-03-10 08:00", "", ""]])
    code, out, err = run("import", "signups", str(path), "--product", "theirs", "--from", "stripe")
    assert code == 0, err
    assert "Imported 2 of 2" in out and "emails left out" in out and "id → user_id" in out
    with session_factory() as s:
        rows = s.execute(text("SELECT external_id, channel_class FROM product_users ORDER BY external_id")).all()
    assert [tuple(r) for r in rows] == [("cus_1", "paid"), ("cus_2", "direct")]


def test_stripe_api_created_in_epoch_seconds_without_tags(run, products, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                          session_factory: Factory) -> None:
    created = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
    path = _write(tmp_path / "c.csv", ["id", "created", "email"], [["cus_1", str(int(created.timestamp())), ""]])
    code, out, err = run("import", "signups", str(path), "--product", "theirs", "--from", "stripe")
    assert code == 0, err
    assert "created read as epoch seconds" in out and "untagged" in out
    with session_factory() as s:
        at = s.execute(text("SELECT signed_up_at FROM product_users")).scalar_one()
    assert (at if isinstance(at, datetime) else datetime.fromisoformat(str(at))).replace(tzinfo=UTC) == created


def test_typeform_responses_export(run, products, tmp_path: Path, session_factory: Factory) -> None:  # type: ignore[no-untyped-def]
    header = ["#", "How would you feel if you could no longer use Acme?", "What type of people do you think would "
              "most benefit from Acme?", "What is the main benefit you receive from Acme?", "How can we improve Acme "
              "for you?", "user_id", "Start Date (UTC)", "Submit Date (UTC)", "Network ID"]
    path = _write(tmp_path / "typeform.csv", header, [
        ["tok1", "Very disappointed", "founders", "speed", "", "u1", "2026-03-02 10:00:00", "2026-03-02 10:01:00", "n"],
        ["tok2", "Somewhat disappointed", "", "", "an API", "u2", "2026-03-03 10:00:00", "2026-03-03 10:02:00", "n"]])
    code, out, err = run("import", "responses", str(path), "--product", "theirs", "--from", "typeform")
    assert code == 0, err
    assert "Typeform preset" in out
    with session_factory() as s:
        rows = s.execute(text("SELECT respondent_key, answer, main_benefit, improve, who_benefits "
                              "FROM survey_responses ORDER BY respondent_key")).all()
    assert [tuple(r) for r in rows] == [("u1", "very", "speed", None, "founders"), ("u2", "somewhat", None, "an API", None)]


@pytest.mark.parametrize(("args", "needle"), [
    (["--from", "stripe"], "Invalid value for '--from'"),
    (["--map", "user=distinct_id"], "events have no column 'user'"),
    (["--map", "user_id=nope"], "there is no column 'nope'"),
    (["--date-format", "DD/MM/YYYY"], "use strftime codes"),
])
def test_bad_options_exit_2_and_write_nothing(run, products, tmp_path: Path, session_factory: Factory,  # type: ignore[no-untyped-def]
                                              args: list[str], needle: str) -> None:
    path = _write(tmp_path / "e.csv", ["distinct_id", "time"], [["u1", "1772445900"]])
    code, out, err = run("import", "events", str(path), "--product", "theirs", *args)
    assert code == 2 and needle in err
    assert _weeks(session_factory, "theirs") == set()


def test_a_foreign_header_without_preset_names_the_presets(run, products, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "e.csv", ["distinct_id", "time"], [["u1", "1772445900"]])
    code, _, err = run("import", "events", str(path), "--product", "theirs")
    assert code == 2 and "missing columns user_id, occurred_at" in err and "--from posthog|mixpanel" in err


def test_the_cli_lists_the_presets_layout_knows() -> None:
    assert _PRESETS == {k: layout.presets_for(k) for k in _PRESETS}


def test_a_product_without_answers_says_no_survey_answers(run, products) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("check", "--product", "ours", "--as-of", "2026-04-06")
    assert code == 0, err
    assert "No survey answers in the last 90 days (40 needed)" in out and "Only 0" not in out
    assert "No week of retention" in out
