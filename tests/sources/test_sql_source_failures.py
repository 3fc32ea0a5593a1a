"""Failing sources: each is reported with its cause, recorded as last_error, and writes nothing.
Also: the password is stored encrypted and never printed, and a missing driver names its extra."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner
from ingest_like import counts
from source_helpers import PG_URL, SECRET
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.errors import UserError
from bot.ingest.source_probe import test_source as try_source
from bot.ingest.sql_dialects import SourceError
from bot.ingest.sql_source import add_source, list_sources, source_status, sync_source
from storage.models import Product, SqlSource

Factory = sessionmaker[Session]
PASSWORD = "pw-n0t-to-be-seen"


def _add(factory: Factory, url: str, events: str = "SELECT user_id, occurred_at FROM events",
         signups: str = "SELECT user_id, signed_up_at FROM signups", **kw) -> None:  # type: ignore[no-untyped-def]
    add_source(factory, product_slug="acme", team_id=None, url=url, signups_query=signups, events_query=events,
               secret=SECRET, **kw)


def _status(factory: Factory):  # type: ignore[no-untyped-def]
    with factory() as s:
        pid = s.query(Product.id).filter_by(slug="acme").scalar()
        return source_status(s, pid)


def test_an_unreachable_source_is_reported_recorded_and_writes_nothing(session_factory: Factory, acme: str) -> None:
    _add(session_factory, f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/test")
    with pytest.raises(SourceError) as err:
        sync_source(session_factory, product_slug=acme, team_id=None, secret=SECRET)
    assert "nothing was written" in str(err.value) and "127.0.0.1" in str(err.value)
    assert PASSWORD not in str(err.value)
    status = _status(session_factory)
    assert status.failing and status.last_error and PASSWORD not in status.last_error
    assert status.last_sync_at is None and counts(session_factory) == (0, 0)


def test_wrong_columns_are_named(session_factory: Factory, acme: str, make) -> None:  # type: ignore[no-untyped-def]
    src = make("sqlite")
    _add(session_factory, src.url, events="SELECT user_id AS uid, occurred_at AS ts FROM events")
    with pytest.raises(SourceError, match=r"events query must return the columns user_id, occurred_at "
                                          r"\(missing user_id, occurred_at; it returns uid, ts\)"):
        sync_source(session_factory, product_slug=acme, team_id=None, secret=SECRET)
    assert "missing user_id" in (_status(session_factory).last_error or "")


def test_a_query_that_fails_on_the_source_is_reported(session_factory: Factory, acme: str, make) -> None:  # type: ignore[no-untyped-def]
    src = make("postgresql")
    _add(session_factory, src.url, signups=src.signups_query, events="SELECT user_id, occurred_at FROM no_such_table")
    with pytest.raises(SourceError, match="no_such_table"):
        sync_source(session_factory, product_slug=acme, team_id=None, secret=SECRET)


def test_a_timeout_after_signups_were_read_writes_nothing(session_factory: Factory, acme: str, make) -> None:  # type: ignore[no-untyped-def]
    """The signups are read (and staged in the bot's transaction) first; the events query then
    outlives the statement timeout: the bot's data stays as it was, the timeout is named."""
    src = make("postgresql")
    src.generate(2_000, 100)
    _add(session_factory, src.url, signups=src.signups_query, timeout_seconds=1,
         events=f"SELECT user_id, occurred_at FROM {src.events}, (SELECT pg_sleep(3)) s")
    with pytest.raises(SourceError, match="statement timeout"):
        sync_source(session_factory, product_slug=acme, team_id=None, secret=SECRET)
    assert counts(session_factory) == (0, 0)
    assert "statement timeout" in (_status(session_factory).last_error or "")
    # A success afterwards clears the error.
    _add(session_factory, src.url, signups=src.signups_query, events=src.events_query)
    sync_source(session_factory, product_slug=acme, team_id=None, secret=SECRET)
    assert not _status(session_factory).failing and counts(session_factory)[0] == 100


@pytest.mark.parametrize("dialect", ["mysql", "duckdb"])
def test_the_statement_timeout_of_mariadb_and_duckdb(session_factory: Factory, acme: str, make,  # type: ignore[no-untyped-def]
                                                     dialect: str) -> None:
    """MariaDB's max_statement_time; DuckDB has none, so the watchdog interrupts the connection."""
    src = make(dialect)
    if dialect == "mysql":
        src.insert_events([("u1", "2026-03-02 10:00:00"), ("u2", "2026-03-02 11:00:00")])
        slow = f"SELECT user_id, occurred_at FROM {src.events} WHERE SLEEP(2) = 0"
    else:
        src.generate(1_000, 10)  # a cross join of ten billion rows: far longer than a second
        slow = ("SELECT a.user_id, a.occurred_at FROM events a, range(10000000) r "
                "WHERE hash(a.user_id, r.range) = 7")
    _add(session_factory, src.url, signups=src.signups_query, events=slow, timeout_seconds=1)
    with pytest.raises(SourceError, match="statement timeout|interrupt"):
        sync_source(session_factory, product_slug=acme, team_id=None, secret=SECRET)
    assert counts(session_factory) == (0, 0)


def test_the_source_is_read_only(session_factory: Factory, acme: str, make) -> None:  # type: ignore[no-untyped-def]
    """A query the parser lets through (it calls a function of the source's own) but that writes
    inside that function is stopped by the read-only transaction, the second wall."""
    src = make("postgresql")
    src.run(f"CREATE TABLE {src.schema}.written (n int)",
            f"CREATE FUNCTION {src.schema}.sneaky() RETURNS int LANGUAGE plpgsql AS "
            f"$$ BEGIN INSERT INTO {src.schema}.written VALUES (1); RETURN 1; END $$")
    src.insert_events([("u1", "2026-03-02 10:00:00")])
    _add(session_factory, src.url, signups=src.signups_query,
         events=f"SELECT user_id, occurred_at FROM {src.events} WHERE {src.schema}.sneaky() > 0")
    with pytest.raises(SourceError, match="read-only transaction"):
        sync_source(session_factory, product_slug=acme, team_id=None, secret=SECRET)
    assert len(src.frame(f"SELECT * FROM {src.schema}.written")) == 0 and counts(session_factory) == (0, 0)


@pytest.mark.parametrize(("url", "module", "extra"), [
    ("mysql+pymysql://root@127.0.0.1:3306/test", "pymysql", "mysql"),
    ("duckdb:////tmp/none.duckdb", "duckdb", "duckdb"),
])
def test_a_missing_driver_names_the_extra(session_factory: Factory, acme: str, monkeypatch: pytest.MonkeyPatch,
                                          url: str, module: str, extra: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # "import pymysql" now raises ImportError
    if module == "duckdb":
        # As if duckdb-engine were not installed either: SQLAlchemy must look its dialect up again.
        from sqlalchemy.dialects import registry

        monkeypatch.setitem(sys.modules, "duckdb_engine", None)
        monkeypatch.delitem(registry.impls, "duckdb", raising=False)
    with pytest.raises(SourceError, match=rf"pip install 'pmf-gate\[{extra}\]'"):
        _add(session_factory, url)


def test_bad_urls_are_refused(session_factory: Factory, acme: str) -> None:
    for url in ("not a url", "oracle://x@y/z", "sqlite://"):
        with pytest.raises(UserError):
            _add(session_factory, url)


def test_the_password_is_encrypted_at_rest_and_never_printed(session_factory: Factory, acme: str, db_url: str,
                                                             make) -> None:  # type: ignore[no-untyped-def]
    src = make("postgresql")
    src.insert_events([("u1", "2026-03-02 10:00:00")])
    url = PG_URL.replace("postgres@", f"postgres:{PASSWORD}@")  # the local server trusts; the password rides along
    runner = CliRunner()
    env = {"DATABASE_URL": db_url, "PMFBOT_SECRET_KEY": SECRET}

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return result.stdout + result.stderr

    out = run("source", "add", "acme", "--url", url, "--signups-query", src.signups_query,
              "--events-query", src.events_query)
    out += run("source", "test", "acme") + run("source", "sync", "acme") + run("source", "list")
    assert PASSWORD not in out and "postgres:***@127.0.0.1" in out
    assert "rows read: 1" in out and "weeks covered: 1" in out
    with session_factory() as s:
        row = s.execute(text("SELECT * FROM sql_sources")).mappings().one()
    assert [k for k, v in row.items() if PASSWORD in str(v)] == []
    assert row["password_enc"].startswith("enc1:") and "postgres:***@127.0.0.1" in row["url"]
    # A failure shows its cause without the password either.
    with session_factory() as s:
        s.execute(text("UPDATE sql_sources SET url = 'postgresql+psycopg://postgres:***@127.0.0.1:1/test'"))
        s.commit()
    result = runner.invoke(main, ["source", "sync", "acme"], env=env)
    assert result.exit_code == 2 and "nothing was written" in result.stderr and PASSWORD not in result.stderr
    listed = run("source", "list")
    assert "last error" in listed and PASSWORD not in listed
    # Without the key the password cannot be used, and says so.
    with pytest.raises(Exception, match="PMFBOT_SECRET_KEY"):
        try_source(session_factory, product_slug="acme", team_id=None, secret=None)


def test_list_and_status_before_any_sync(session_factory: Factory, acme: str, make) -> None:  # type: ignore[no-untyped-def]
    src = make("sqlite")
    _add(session_factory, src.url)
    [status] = list_sources(session_factory, team_id=None)
    assert status.product == "acme" and status.last_sync_at is None and not status.failing
    with session_factory() as s:
        assert s.query(SqlSource).count() == 1
