"""A source is read only for real (issue 19): the attacks that wrote to a source, or read a file
through it, are refused, against the real PostgreSQL, MariaDB and DuckDB, and nothing on the
source changes. Each attack is tried twice: through ``source add`` (refused before anything is
stored) and as a row already stored (as a database from before this check holds it), which the
sync and ``source test`` refuse before sending anything."""

from __future__ import annotations

import pytest
from ingest_like import counts
from source_helpers import MARIA_URL, SECRET
from sqlalchemy import text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import UserError
from bot.ingest.source_probe import test_source as try_source
from bot.ingest.sql_dialects import SourceError, source_engine
from bot.ingest.sql_guard import check_query
from bot.ingest.sql_source import add_source, sync_source
from storage.models import SqlSource

Factory = sessionmaker[Session]


def _add(factory: Factory, url: str, *, events: str, signups: str) -> None:
    add_source(factory, product_slug="acme", team_id=None, url=url, signups_query=signups, events_query=events,
               secret=SECRET)


def _store_raw(factory: Factory, **values: str) -> None:
    """Put values in the stored source as they are, past ``source add``'s checks."""
    with factory() as s:
        s.execute(update(SqlSource).values(**values))
        s.commit()


def _both_refuse(factory: Factory) -> list[str]:
    messages = []
    for run in (sync_source, try_source):
        with pytest.raises(UserError) as err:
            run(factory, product_slug="acme", team_id=None, secret=SECRET)
        messages.append(str(err.value))
    return messages


def test_postgresql_a_second_statement_cannot_delete_rows(session_factory: Factory, acme: str, make) -> None:  # type: ignore[no-untyped-def]
    src = make("postgresql")
    src.insert_events([("u1", "2026-03-02 10:00:00"), ("u2", "2026-03-03 10:00:00")])
    attack = (f"SELECT user_id, occurred_at FROM (SELECT * FROM {src.events}) src; COMMIT; "
              f"DELETE FROM {src.events}; CREATE TABLE {src.schema}.pwned (n int); SELECT * FROM (SELECT 1 AS x")
    with pytest.raises(UserError, match="exactly one SELECT"):
        _add(session_factory, src.url, events=attack, signups=src.signups_query)
    with session_factory() as s:
        assert s.query(SqlSource).count() == 0  # nothing stored
    # As a stored row: the sync and the test refuse it before connecting.
    _add(session_factory, src.url, events=src.events_query, signups=src.signups_query)
    _store_raw(session_factory, events_query=attack)
    assert all("exactly one SELECT" in m for m in _both_refuse(session_factory))
    assert len(src.frame(f"SELECT * FROM {src.events}")) == 2
    assert src.frame(f"SELECT count(*) AS n FROM pg_tables WHERE schemaname = '{src.schema}' "
                     "AND tablename = 'pwned'").n[0] == 0
    assert counts(session_factory) == (0, 0)


def test_postgresql_statements_carry_a_bound_parameter_so_only_one_runs(make) -> None:  # type: ignore[no-untyped-def]
    """The third wall, below the parser: with a bound parameter psycopg uses the extended protocol,
    and PostgreSQL refuses a second statement in it (sent here past the parser on purpose)."""
    from bot.ingest.sql_dialects import ALWAYS, reading

    src = make("postgresql")
    src.insert_events([("u1", "2026-03-02 10:00:00")])
    engine = source_engine(make_url(src.url))
    try:
        with reading(engine, 30, "UTC") as reader, pytest.raises(Exception, match="multiple commands"):
            reader.conn.execute(text(f"SELECT 1 WHERE :pmf_one = 1; DELETE FROM {src.events}"), ALWAYS)
    finally:
        engine.dispose()
    assert len(src.frame(f"SELECT * FROM {src.events}")) == 1


def test_postgresql_a_data_modifying_cte_is_refused(session_factory: Factory, acme: str, make) -> None:  # type: ignore[no-untyped-def]
    src = make("postgresql")
    src.insert_events([("u1", "2026-03-02 10:00:00")])
    attack = f"WITH d AS (DELETE FROM {src.events} RETURNING *) SELECT user_id, occurred_at FROM d"
    with pytest.raises(UserError, match="contains DELETE"):
        _add(session_factory, src.url, events=attack, signups=src.signups_query)
    assert len(src.frame(f"SELECT * FROM {src.events}")) == 1


def test_mariadb_multi_statements_flag_and_read_write_switch(session_factory: Factory, acme: str, make) -> None:  # type: ignore[no-untyped-def]
    src = make("mysql")
    src.insert_events([("u1", "2026-03-02 10:00:00")])
    flagged = f"{MARIA_URL}?client_flag=65536"
    attack = (f"SELECT user_id, occurred_at FROM {src.events}; SET SESSION TRANSACTION READ WRITE; "
              f"INSERT INTO {src.events} VALUES ('intruder', '2026-03-02 10:00:00')")
    with pytest.raises(UserError, match="'client_flag' is not accepted.*multi-statements"):
        _add(session_factory, flagged, events=src.events_query, signups=src.signups_query)
    with pytest.raises(UserError, match="exactly one SELECT"):
        _add(session_factory, MARIA_URL, events=attack, signups=src.signups_query)
    for param in ("init_command=DELETE+FROM+x", "local_infile=1", "autocommit=true"):
        with pytest.raises(UserError, match="is not accepted"):
            _add(session_factory, f"{MARIA_URL}?{param}", events=src.events_query, signups=src.signups_query)
    # Both stored as they are (URL and query): refused before anything is sent.
    _add(session_factory, MARIA_URL, events=src.events_query, signups=src.signups_query)
    _store_raw(session_factory, url=flagged, events_query=attack)
    _both_refuse(session_factory)
    _store_raw(session_factory, url=make_url(MARIA_URL).render_as_string(hide_password=False))
    _both_refuse(session_factory)
    assert sorted(src.frame(f"SELECT user_id FROM {src.events}").user_id) == ["u1"]
    # Whatever asks for it, the driver never gets the multi-statements flag.
    engine = source_engine(make_url(MARIA_URL))
    try:
        with engine.connect() as conn:
            assert conn.connection.driver_connection.client_flag & (1 << 16) == 0  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_mariadb_a_writing_function_is_stopped_by_the_read_only_transaction(session_factory: Factory, acme: str,  # type: ignore[no-untyped-def]
                                                                             make) -> None:
    """The second wall: START TRANSACTION READ ONLY refuses a write the parser cannot see."""
    src = make("mysql")
    src.insert_events([("u1", "2026-03-02 10:00:00")])
    fn = f"w_{src.events}"
    src.run(f"CREATE TABLE {fn}_t (n INT)",
            f"CREATE FUNCTION {fn}() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO {fn}_t VALUES (1); RETURN 1; END")
    try:
        _add(session_factory, MARIA_URL, signups=src.signups_query,
             events=f"SELECT user_id, occurred_at FROM {src.events} WHERE {fn}() = 1")
        with pytest.raises(SourceError, match="READ ONLY"):
            sync_source(session_factory, product_slug="acme", team_id=None, secret=SECRET)
        assert len(src.frame(f"SELECT * FROM {fn}_t")) == 0 and counts(session_factory) == (0, 0)
    finally:
        src.run(f"DROP FUNCTION IF EXISTS {fn}", f"DROP TABLE IF EXISTS {fn}_t")


def test_duckdb_cannot_read_a_file(session_factory: Factory, acme: str, make) -> None:  # type: ignore[no-untyped-def]
    src = make("duckdb")
    src.insert_events([("u1", "2026-03-02 10:00:00")])
    for attack in ("SELECT column0 AS user_id, now() AS occurred_at FROM read_csv('/etc/passwd')",
                   "SELECT * FROM '/etc/passwd'",
                   "SELECT user_id, occurred_at FROM events UNION ALL SELECT * FROM read_text('/etc/passwd')",
                   "SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')"):
        with pytest.raises(UserError, match="reads files|looks like a file"):
            _add(session_factory, src.url, events=attack, signups=src.signups_query)
    _add(session_factory, src.url, events=src.events_query, signups=src.signups_query)
    _store_raw(session_factory, events_query="SELECT column0 AS user_id, now() AS occurred_at "
                                             "FROM read_csv('/etc/passwd')")
    for message in _both_refuse(session_factory):
        assert "root:" not in message and "read_csv" in message
    # The second wall: the connection itself has external access off.
    engine = source_engine(make_url(src.url))
    try:
        with engine.connect() as conn, pytest.raises(Exception, match="disabled|external access"):
            conn.execute(text("SELECT * FROM read_csv('/etc/passwd')")).fetchall()
    finally:
        engine.dispose()
    with pytest.raises(UserError, match="not accepted"):
        _add(session_factory, f"{src.url}?enable_external_access=true", events=src.events_query,
             signups=src.signups_query)


@pytest.mark.parametrize(("backend", "query", "refused"), [
    ("postgresql", "SELECT 1; SELECT 2", "2 statements"),
    ("postgresql", "SELECT * INTO t2 FROM t", "INTO"),
    ("postgresql", "SELECT * FROM t FOR UPDATE", "FOR UPDATE"),
    ("postgresql", "SELECT pg_read_file('/etc/passwd') AS user_id", "pg_read_file"),
    ("postgresql", "SELECT set_config('default_transaction_read_only', 'off', false)", "set_config"),
    ("postgresql", "SELECT * FROM dblink('host=x', 'DELETE FROM t') AS r(a int)", "dblink"),
    ("postgresql", "COMMIT", "must be a SELECT"),
    ("postgresql", "CALL wipe()", "must be a SELECT"),
    ("postgresql", "SELECT 1 /*", "could not be read"),
    ("postgresql", "SELECT * FROM t) src; DELETE FROM t; SELECT * FROM (SELECT 1", "could not be read"),
    ("postgresql", "", "empty"),
    ("mysql", "SELECT LOAD_FILE('/etc/passwd') AS user_id", "load_file"),
    ("mysql", "SELECT 1 INTO OUTFILE '/tmp/x'", "could not be read|INTO"),
    ("mysql", "SET SESSION TRANSACTION READ WRITE", "must be a SELECT"),
    ("duckdb", "SELECT * FROM read_parquet('x.parquet')", "read_parquet"),
    ("duckdb", "SELECT * FROM glob('/etc/*')", "glob"),
    ("duckdb", "SELECT * FROM sqlite_scan('/x.db', 't')", "sqlite_scan"),
    ("sqlite", "SELECT load_extension('x')", "load_extension"),
])
def test_what_the_parser_refuses(backend: str, query: str, refused: str) -> None:
    with pytest.raises(UserError, match=refused):
        check_query(query, backend)


@pytest.mark.parametrize(("backend", "query"), [
    ("postgresql", "WITH a AS (SELECT id AS user_id, created_at AS occurred_at FROM ev) SELECT * FROM a;"),
    ("postgresql", "SELECT u.id AS user_id, e.ts::timestamptz AS occurred_at FROM users u "
                   "JOIN LATERAL (SELECT ts FROM ev WHERE ev.u = u.id) e ON true -- last line comment"),
    ("postgresql", "SELECT user_id, occurred_at FROM a UNION ALL SELECT user_id, occurred_at FROM b"),
    ("mysql", "SELECT `user id` AS user_id, occurred_at FROM ev WHERE SLEEP(0) = 0"),
    ("duckdb", "SELECT a.user_id, a.occurred_at FROM events a, range(10) r WHERE hash(a.user_id, r.range) = 7"),
    ("sqlite", "SELECT user_id, date(ts, '-6 days', 'weekday 1') AS occurred_at FROM ev"),
])
def test_ordinary_queries_pass(backend: str, query: str) -> None:
    assert check_query(query, backend) == query.strip().rstrip(";").strip()
