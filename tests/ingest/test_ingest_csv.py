"""``bot.ingest.csv_import.import_csv`` against the test database: formats, semantics, idempotence, bad input."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from ingest_helpers import Factory, activity, set_timezone, snapshot, users
from sqlalchemy import func, select

from bot.domain.weeks import week_of_date
from bot.errors import UserError
from bot.ingest import csv_import as ingest
from bot.ingest.csv_import import import_csv
from bot.products import service as product_service
from bot.reports import service as services
from storage import bulk
from storage.models import SurveyResponse

MakeCsv = Callable[..., Path]
W = week_of_date(date(2026, 3, 2))  # a Monday


def run(factory: Factory, kind: str, path: Path, **kw: object) -> ingest.ImportResult:
    return import_csv(factory, kind=kind, path=path, product_slug=kw.pop("product_slug", "acme"), **kw)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- events
def test_events_are_compacted_to_user_weeks(session_factory: Factory, product: str, csv_file: MakeCsv) -> None:
    path = csv_file("events.csv", ["user_id", "occurred_at", "event"], [
        ["u1", "2026-03-02T10:00:00Z", "login"],
        ["u1", "2026-03-04T10:00:00Z", "export"],  # same week: one user-week
        ["u1", "2026-03-09T10:00:00+01:00", "login"],
        ["u2", "2026-03-10", "login"],
        ["u2", "2026-03-10 12:00:00", ""],  # naive = UTC
    ])
    result = run(session_factory, "events", path)
    assert (result.rows_read, result.inserted, result.new_users, result.unchanged, result.rejected) == (5, 3, 2, 2, 0)
    assert activity(session_factory) == {("u1", W), ("u1", W + 1), ("u2", W + 1)}
    u = users(session_factory)
    assert u["u1"]["first_week"] == W and u["u2"]["first_week"] == W + 1
    assert u["u1"]["signup_week"] is None
    assert "3 new active user-weeks" in result.summary() and "acme" in result.summary()


def test_reimporting_the_same_file_changes_nothing(session_factory: Factory, product: str, csv_file: MakeCsv) -> None:
    ev = csv_file("events.csv", ["user_id", "occurred_at"], [["u1", "2026-03-02T10:00:00Z"], ["u2", "2026-03-09"]])
    su = csv_file("signups.csv", ["user_id", "signed_up_at", "channel"],
                  [["u1", "2026-03-01T10:00:00Z", "seo"], ["u3", "2026-03-03", "cpc"]])
    rs = csv_file("responses.csv", ["respondent_id", "answered_at", "answer", "segment"],
                  [["u1", "2026-03-05T10:00:00Z", "1", "founders"], ["u3", "2026-03-05", "not", ""]])
    for kind, path in (("events", ev), ("signups", su), ("responses", rs)):
        run(session_factory, kind, path)
    before = snapshot(session_factory)
    for kind, path in (("events", ev), ("signups", su), ("responses", rs)):
        again = run(session_factory, kind, path)
        assert (again.inserted, again.updated, again.new_users) == (0, 0, 0)
        assert again.unchanged == again.rows_read
    assert snapshot(session_factory) == before


def test_first_week_is_the_earliest_whatever_the_import_order(session_factory: Factory, product: str,
                                                              csv_file: MakeCsv) -> None:
    run(session_factory, "events", csv_file("late.csv", ["user_id", "occurred_at"], [["u1", "2026-03-16"]]))
    assert users(session_factory)["u1"]["first_week"] == W + 2
    run(session_factory, "events", csv_file("early.csv", ["user_id", "occurred_at"], [["u1", "2026-03-03"]]))
    assert users(session_factory)["u1"]["first_week"] == W
    run(session_factory, "events", csv_file("mid.csv", ["user_id", "occurred_at"], [["u1", "2026-03-10"]]))
    assert users(session_factory)["u1"]["first_week"] == W


def test_header_is_case_insensitive_in_any_order_with_extra_columns(session_factory: Factory, product: str,
                                                                    tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    # Excel writes a byte-order mark; it must not become part of the first column's name.
    path.write_bytes("\ufeffSource, Occurred_At ,USER_ID\r\nweb,2026-03-02T10:00:00Z,u1\r\n\r\n".encode())
    result = run(session_factory, "events", path)
    assert result.rows_read == 1 and result.inserted == 1
    assert activity(session_factory) == {("u1", W)}


def test_non_utc_product_timezone_near_the_week_boundary(session_factory: Factory, product: str,
                                                         csv_file: MakeCsv) -> None:
    set_timezone(session_factory, product, "Europe/Berlin")
    run(session_factory, "events", csv_file("e.csv", ["user_id", "occurred_at"], [
        ["sun", "2026-03-01T22:30:00Z"],  # Sunday 23:30 in Berlin: the week before
        ["mon", "2026-03-01T23:30:00Z"],  # Monday 00:30 in Berlin
        ["naive", "2026-03-01T23:30:00"],  # naive = UTC, so also Monday in Berlin
        ["date", "2026-03-01"],  # a bare date is Sunday in Berlin
    ]))
    assert activity(session_factory) == {("sun", W - 1), ("mon", W), ("naive", W), ("date", W - 1)}
    run(session_factory, "signups", csv_file("s.csv", ["user_id", "signed_up_at", "channel"],
                                             [["s1", "2026-03-01T23:30:00Z", "seo"]]))
    assert users(session_factory)["s1"]["signup_week"] == W


# ----------------------------------------------------------------------------- signups
def test_signups_with_a_channel_column(session_factory: Factory, product: str, csv_file: MakeCsv) -> None:
    run(session_factory, "events", csv_file("e.csv", ["user_id", "occurred_at"], [["u1", "2026-03-16T09:00:00Z"]]))
    result = run(session_factory, "signups", csv_file("s.csv", ["user_id", "signed_up_at", "channel"], [
        ["u1", "2026-03-02T10:00:00Z", "Organic Search"],
        ["u2", "2026-03-09T10:00:00+02:00", "google-cpc"],
        ["u3", "2026-03-09", "carrier pigeon"],
        ["u4", "2026-03-09", ""],
    ]))
    assert (result.inserted, result.updated, result.unchanged) == (4, 0, 0)  # u1 was known only from events
    u = users(session_factory)
    assert {k: (v["signup_week"], v["channel"], v["channel_class"]) for k, v in u.items()} == {
        "u1": (W, "Organic Search", "organic"), "u2": (W + 1, "google-cpc", "paid"),
        "u3": (W + 1, "carrier pigeon", "unknown"), "u4": (W + 1, None, "direct"),  # no tag: direct (untagged)
    }
    assert u["u1"]["first_week"] == W  # the signup counts as activity
    assert u["u2"]["signed_up_at"] == datetime(2026, 3, 9, 8, tzinfo=UTC)
    # Week 0 is 100%: every signup has activity in its signup week.
    assert {("u1", W), ("u1", W + 2), ("u2", W + 1), ("u3", W + 1), ("u4", W + 1)} == activity(session_factory)


def test_signups_with_utm_columns(session_factory: Factory, product: str, csv_file: MakeCsv) -> None:
    run(session_factory, "signups", csv_file("s.csv", ["user_id", "signed_up_at", "utm_source", "utm_medium"], [
        ["u1", "2026-03-02", "google", "cpc"],
        ["u2", "2026-03-02", "google", "organic"],
        ["u3", "2026-03-02", "", ""],
        ["u4", "2026-03-02", "facebook", "paid_social"],
    ]))
    u = users(session_factory)
    assert {k: (v["channel"], v["channel_class"]) for k, v in u.items()} == {
        "u1": ("google / cpc", "paid"), "u2": ("google / organic", "organic"), "u3": (None, "direct"),
        "u4": ("facebook / paid_social", "paid"),
    }


def test_signup_imported_again_with_new_values_takes_them(session_factory: Factory, product: str,
                                                          csv_file: MakeCsv) -> None:
    header = ["user_id", "signed_up_at", "channel"]
    run(session_factory, "signups", csv_file("a.csv", header, [["u1", "2026-03-09", "seo"], ["u2", "2026-03-09", "seo"]]))
    result = run(session_factory, "signups", csv_file("b.csv", header,
                                                      [["u1", "2026-03-02", "cpc"], ["u2", "2026-03-09", "seo"]]))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 1)
    u = users(session_factory)["u1"]
    assert (u["signup_week"], u["channel"], u["channel_class"], u["first_week"]) == (W, "cpc", "paid", W)


def test_the_last_row_for_a_user_in_a_file_wins(session_factory: Factory, product: str, csv_file: MakeCsv) -> None:
    result = run(session_factory, "signups", csv_file("s.csv", ["user_id", "signed_up_at", "channel"],
                                                      [["u1", "2026-03-02", "seo"], ["u1", "2026-03-02", "cpc"]]))
    assert (result.inserted, result.unchanged) == (1, 1)
    assert users(session_factory)["u1"]["channel"] == "cpc"


# ----------------------------------------------------------------------------- responses
def test_responses_are_imported_once(session_factory: Factory, product: str, csv_file: MakeCsv) -> None:
    path = csv_file("r.csv", ["Respondent_ID", "answered_at", "answer", "segment", "who_benefits", "main_benefit",
                              "improve", "email"], [
        ["r1", "2026-03-02T10:00:00+02:00", "Very disappointed", "founders", "PMs", "speed", "", "x@y"],
        ["r2", "2026-03-02", "2", "", "", "", "more export formats", ""],
        ["r3", "2026-03-02", "N/A - I no longer use Acme", "", "", "", "", ""],
        ["r1", "2026-03-03T10:00:00Z", "not", "", "", "", "", ""],  # a later answer is another response
    ])
    result = run(session_factory, "responses", path)
    assert (result.inserted, result.unchanged) == (4, 0)
    with session_factory() as s:
        rows = {r.dedupe_key: r for r in s.scalars(select(SurveyResponse))}
    r1 = rows["import:r1:2026-03-02T08:00:00+00:00"]
    assert (r1.source, r1.respondent_key, r1.answer, r1.segment, r1.who_benefits, r1.main_benefit, r1.improve) == (
        "import", "r1", "very", "founders", "PMs", "speed", None)
    assert r1.survey_id is None
    assert rows["import:r2:2026-03-02T00:00:00+00:00"].improve == "more export formats"
    assert rows["import:r3:2026-03-02T00:00:00+00:00"].answer == "na"
    assert rows["import:r1:2026-03-03T10:00:00+00:00"].answer == "not"
    # The survey signal reads them back.
    ref = services.gate_report(session_factory, product_slug="acme", as_of=date(2026, 3, 16))
    assert ref.survey.counts.very == 0 and ref.survey.counts.not_ == 1  # r1's latest answer counts


# ----------------------------------------------------------------------------- chunks
def test_chunk_boundaries_do_not_change_the_result(session_factory: Factory, product: str,
                                                   csv_file: MakeCsv) -> None:
    events = csv_file("e.csv", ["user_id", "occurred_at"], [
        ["u1", "2026-03-16"], ["u2", "2026-03-09"], ["u1", "2026-03-17"],
        ["u1", "2026-03-02"],  # u1's earliest week arrives in a later chunk
        ["u2", "2026-03-09"], ["u3", "2026-03-23"], ["u1", "2026-03-16"], ["u2", "2026-03-02"],
    ])
    signups = csv_file("s.csv", ["user_id", "signed_up_at", "channel"], [
        ["u2", "2026-03-02", "seo"], ["u4", "2026-03-02", "seo"], ["u2", "2026-03-03", "cpc"],  # u2 again, later chunk
        ["u5", "2026-03-09", "ads"],
    ])
    product_service.create_product(session_factory, slug="whole")
    r1 = run(session_factory, "events", events, chunk_rows=3)
    s1 = run(session_factory, "signups", signups, chunk_rows=3)
    r2 = run(session_factory, "events", events, product_slug="whole")
    s2 = run(session_factory, "signups", signups, product_slug="whole")
    assert users(session_factory, "acme")["u1"]["first_week"] == W
    assert users(session_factory, "acme")["u2"]["channel"] == "cpc"
    assert users(session_factory, "acme") == users(session_factory, "whole")
    assert activity(session_factory, "acme") == activity(session_factory, "whole")
    assert (r1.inserted, r1.new_users, s1.inserted, s1.updated) == (r2.inserted, r2.new_users, s2.inserted, s2.updated)


# ----------------------------------------------------------------------------- bad input
def _bad_events(csv_file: MakeCsv, n_bad: int = 3) -> Path:
    rows = [["u1", "2026-03-02T10:00:00Z"], ["", "2026-03-02T10:00:00Z"], ["u2", "next tuesday"],
            ["u3", "2026-03-03"], ["u4", "2026-02-30"]]
    rows += [["u5", "bad"]] * (n_bad - 3)
    return csv_file("events.csv", ["user_id", "occurred_at", "event"], rows)


def test_one_bad_row_rejects_the_whole_file_with_line_numbers(session_factory: Factory, product: str,
                                                              csv_file: MakeCsv) -> None:
    run(session_factory, "events", csv_file("ok.csv", ["user_id", "occurred_at"], [["u0", "2026-03-02"]]))
    before = snapshot(session_factory)
    path = _bad_events(csv_file)
    with pytest.raises(UserError) as err:
        run(session_factory, "events", path)
    msg = str(err.value)
    assert "3 of 5 rows are invalid; nothing was imported" in msg
    assert "line 3: user_id is empty" in msg
    assert "line 4: occurred_at 'next tuesday' is not an ISO 8601 timestamp" in msg
    assert "line 6: occurred_at '2026-02-30'" in msg
    assert "--skip-invalid" in msg
    assert snapshot(session_factory) == before
    assert not Path(str(path) + ".rejected.csv").exists()


def test_many_bad_rows_report_the_first_ten_and_the_total(session_factory: Factory, product: str,
                                                          csv_file: MakeCsv) -> None:
    path = _bad_events(csv_file, n_bad=25)
    with pytest.raises(UserError) as err:
        run(session_factory, "events", path, chunk_rows=2)
    msg = str(err.value)
    assert "25 of 27 rows are invalid" in msg
    assert msg.count("\n  line ") == 10
    assert "... and 15 more" in msg
    assert snapshot(session_factory)["activity_weeks"] == []


def test_an_error_after_chunks_were_written_still_leaves_nothing(session_factory: Factory, product: str,
                                                                 csv_file: MakeCsv) -> None:
    rows = [[f"u{i}", "2026-03-02"] for i in range(20)] + [["u99", "not a date"]]
    with pytest.raises(UserError, match="line 22"):
        run(session_factory, "events", csv_file("e.csv", ["user_id", "occurred_at"], rows), chunk_rows=5)
    assert snapshot(session_factory)["product_users"] == []


def test_a_crash_mid_import_leaves_nothing_half_written(session_factory: Factory, product: str, csv_file: MakeCsv,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = bulk.BulkWriter.events

    def flaky(self: bulk.BulkWriter, *args: object) -> tuple[int, int]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk on fire")
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk.BulkWriter, "events", flaky)
    rows = [[f"u{i}", "2026-03-02"] for i in range(20)]
    with pytest.raises(OSError):
        run(session_factory, "events", csv_file("e.csv", ["user_id", "occurred_at"], rows), chunk_rows=5)
    assert calls["n"] == 3
    assert snapshot(session_factory)["product_users"] == []


def test_skip_invalid_imports_the_rest_and_writes_the_rejected_rows(session_factory: Factory, product: str,
                                                                    csv_file: MakeCsv) -> None:
    path = _bad_events(csv_file)
    result = run(session_factory, "events", path, skip_invalid=True)
    assert (result.rows_read, result.rejected, result.inserted) == (5, 3, 2)
    assert result.rejected_file == str(path) + ".rejected.csv"
    assert activity(session_factory) == {("u1", W), ("u3", W)}
    with open(result.rejected_file, encoding="utf-8", newline="") as fh:
        rejected = list(csv.reader(fh))
    assert rejected[0] == ["user_id", "occurred_at", "event", "error"]
    assert [r[:2] for r in rejected[1:]] == [["", "2026-03-02T10:00:00Z"], ["u2", "next tuesday"], ["u4", "2026-02-30"]]
    assert rejected[1][-1] == "line 3: user_id is empty"
    assert "3 rejected" in result.summary() and "rejected.csv" in result.summary()


def test_short_rows_are_invalid(session_factory: Factory, product: str, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user_id,occurred_at\nu1,2026-03-02\nu2\n", encoding="utf-8")
    with pytest.raises(UserError, match="line 3: expected at least 2 columns, found 1"):
        run(session_factory, "events", path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        (b"", "is empty; expected a header row: user_id,occurred_at[,event]"),
        (b"\n\n", "has no header row"),
        (b"user,when\nu1,2026-03-02\n", "missing columns user_id, occurred_at"),
        (b"user_id,occurred_at\nu1,2026-03-02\nJos\xe9,2026-03-02\n", "is not UTF-8 text"),
        (b"user_id,occurred_at\nu1,2026-03-02\x00\n", "line 2"),
    ],
)
def test_unreadable_files_are_refused(session_factory: Factory, product: str, tmp_path: Path,
                                      content: bytes | None, expected: str) -> None:
    path = tmp_path / "events.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError) as err:
        run(session_factory, "events", path)
    assert expected in str(err.value)
    if b"\xe9" in (content or b""):
        assert "Re-save it as UTF-8" in str(err.value)
    assert snapshot(session_factory)["product_users"] == []


def test_signups_need_a_channel_or_utm_columns(session_factory: Factory, product: str, csv_file: MakeCsv) -> None:
    with pytest.raises(UserError, match=r"missing column channel \(or utm_source,utm_medium\)"):
        run(session_factory, "signups", csv_file("s.csv", ["user_id", "signed_up_at"], [["u1", "2026-03-02"]]))


def test_a_header_only_file_imports_nothing(session_factory: Factory, product: str, csv_file: MakeCsv) -> None:
    result = run(session_factory, "events", csv_file("e.csv", ["user_id", "occurred_at"], []))
    assert (result.rows_read, result.inserted) == (0, 0)


def test_unknown_product_names_it_and_how_to_create_it(session_factory: Factory, product: str,
                                                       csv_file: MakeCsv) -> None:
    path = csv_file("e.csv", ["user_id", "occurred_at"], [["u1", "2026-03-02"]])
    with pytest.raises(UserError) as err:
        run(session_factory, "events", path, product_slug="nope")
    assert "'nope'" in str(err.value) and "pmfbot product create nope" in str(err.value)


def test_unknown_product_in_an_empty_database(session_factory: Factory, csv_file: MakeCsv) -> None:
    path = csv_file("e.csv", ["user_id", "occurred_at"], [["u1", "2026-03-02"]])
    with pytest.raises(UserError) as err:
        run(session_factory, "events", path, product_slug="acme")
    assert "'acme'" in str(err.value) and "pmfbot product create acme" in str(err.value)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_several_workspaces_need_workspace(session_factory: Factory, csv_file: MakeCsv) -> None:
    product_service.create_product(session_factory, slug="acme", team_id="T1")
    product_service.create_product(session_factory, slug="acme", team_id="T2")
    path = csv_file("e.csv", ["user_id", "occurred_at"], [["u1", "2026-03-02"]])
    with pytest.raises(UserError) as err:
        run(session_factory, "events", path)
    assert "T1" in str(err.value) and "T2" in str(err.value) and "--workspace" in str(err.value)
    result = run(session_factory, "events", path, team_id="T2")
    assert result.inserted == 1


def test_progress_bar_only_when_asked(session_factory: Factory, product: str, csv_file: MakeCsv,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = csv_file("e.csv", ["user_id", "occurred_at"], [[f"u{i}", "2026-03-02"] for i in range(50)])
    run(session_factory, "events", path, chunk_rows=10)
    assert capsys.readouterr().err == ""
    run(session_factory, "events", path, chunk_rows=10, progress=True)
    err = capsys.readouterr().err
    assert "e.csv" in err and "B/s" in err  # a byte-based bar, cleared when done


def test_a_large_import_is_vacuumed_on_postgresql(session_factory: Factory, product: str, csv_file: MakeCsv,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """After a committed import that changed VACUUM_AFTER_ROWS rows or more, PostgreSQL's tables
    are vacuumed and analysed (fresh statistics and hint bits: the first report is fast)."""
    engine = session_factory.kw["bind"]
    pg = engine.dialect.name == "postgresql"

    def last_vacuum() -> object:
        with engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'activity_weeks' "
                "AND schemaname = current_schema()").scalar()

    path = csv_file("events.csv", ["user_id", "occurred_at"], [["u1", "2026-03-02T10:00:00Z"], ["u2", "2026-03-09"]])
    monkeypatch.setattr(bulk, "VACUUM_AFTER_ROWS", 5)
    before = last_vacuum() if pg else None
    import_csv(session_factory, kind="events", path=path, product_slug=product)  # 4 changes: below
    assert not pg or last_vacuum() == before
    monkeypatch.setattr(bulk, "VACUUM_AFTER_ROWS", 4)
    import_csv(session_factory, kind="events", path=csv_file("more.csv", ["user_id", "occurred_at"],
                                                             [["u3", "2026-03-02"], ["u4", "2026-03-09"]]),
               product_slug=product)
    if pg:
        after = last_vacuum()
        assert after is not None and after != before
    # SQLite has nothing to vacuum for: the function says it did not run.
    assert bulk.tidy_after_import(engine, "events", 10**9) is pg


def test_an_import_waits_for_another_writer_instead_of_failing(session_factory: Factory, product: str,
                                                              csv_file: MakeCsv,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: while `pmfbot web` runs its clock in-process, another connection writes during a CLI
    import (here: a write transaction open for 0.3 s, begun while the import works). The import
    waits its turn and commits; a transaction that read first and wrote later would get "database
    is locked" at once when it reached the lock (SQLite cannot let it wait: its snapshot is stale)."""
    engine = session_factory.kw["bind"]
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single writer")
    import sqlite3
    import threading
    import time

    other: list[str] = []
    threads: list[threading.Thread] = []
    original = bulk.BulkWriter._analyze

    def clock_write(began: threading.Event) -> None:
        conn = sqlite3.connect(engine.url.database, timeout=5, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            began.set()
            conn.execute("UPDATE products SET name = name")
            time.sleep(0.3)
            conn.execute("COMMIT")
            other.append("written")
        except sqlite3.OperationalError as err:
            began.set()
            other.append(str(err))
        finally:
            conn.close()

    def write_meanwhile(self: bulk.BulkWriter, table: str) -> None:  # after the import read product_users
        if table == "pmf_stage_ids" and not threads:
            began = threading.Event()
            threads.append(threading.Thread(target=clock_write, args=(began,)))
            threads[0].start()
            began.wait(0.5)
        original(self, table)

    monkeypatch.setattr(bulk.BulkWriter, "_analyze", write_meanwhile)
    path = csv_file("events.csv", ["user_id", "occurred_at"], [["u1", "2026-03-02T10:00:00Z"], ["u2", "2026-03-09"]])
    result = run(session_factory, "events", path)
    threads[0].join()
    assert result.new_users == 2 and activity(session_factory) == {("u1", W), ("u2", W + 1)}
    assert other == ["written"]  # the other writer waited for the import, then wrote
