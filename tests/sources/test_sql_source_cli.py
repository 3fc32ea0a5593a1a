"""`pmfbot source add|list|test|sync|remove` through the real CLI on a SQLite source file."""

from __future__ import annotations

from click.testing import CliRunner
from ingest_like import activity
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main


def test_the_source_commands_end_to_end(session_factory: sessionmaker[Session], acme: str, db_url: str,
                                        make) -> None:  # type: ignore[no-untyped-def]
    src = make("sqlite")
    src.insert_events([("u1", "2026-03-01 23:30:00"), ("u1", "2026-03-02T00:30:00Z"), ("u2", "2026-03-03 10:00:00")])
    src.run("INSERT INTO signups VALUES ('u2', '2026-03-03 09:00:00', 'cpc')")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, list(args), env={"DATABASE_URL": db_url}, catch_exceptions=False)
        assert result.exit_code == code, result.stderr
        return result.stdout if code == 0 else result.stderr

    run("source", "add", "acme", "--url", src.url, "--signups-query", src.signups_query + ";",
        "--events-query", src.events_query)
    out = run("source", "test", "acme")
    assert "signups query: 1 rows" in out and "events query: 3 rows" in out
    assert "u1\t2026-03-01 23:30:00\t2026-02-23" in out and "u1\t2026-03-02T00:30:00Z\t2026-03-02" in out
    assert activity(session_factory) == set()  # test writes nothing
    assert "3 (user, week) pairs over 2 weeks and 1 signup read" in run("source", "sync", "acme")
    assert "weeks covered: 2 (weeks of 2026-02-23 .. 2026-03-02)" in run("source", "list")
    assert "since the week of 2026-02-16" in run("source", "sync", "acme")
    assert "from the start" in run("source", "sync", "acme", "--full")
    run("source", "remove", "acme")
    assert "no SQL sources" in run("source", "list")
    assert "has no SQL source" in run("source", "sync", "acme", code=2)
    assert len(activity(session_factory)) == 3  # the data stays
