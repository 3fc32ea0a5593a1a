"""The source side of a SQL source (SPEC §9): URLs, read-only engines and the SQL per dialect.

Everything that differs between PostgreSQL, MySQL/MariaDB, SQLite and DuckDB is here: how a URL
becomes an engine that can only read (and which ``pip install 'pmf-gate[EXTRA]'`` brings its
driver), the read-only transaction and statement timeout, the expression for the Monday of a
timestamp's week in the product's timezone, and the incremental bound. ``bot.ingest.sql_source`` runs
the use cases on top of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from bot.domain.weeks import UTC_NAMES
from bot.errors import UserError
from bot.ingest.formats import OPTIONAL_COLUMNS
from bot.ingest.sql_deadline import CONNECT_TIMEOUT_S, MARGIN_S, SourceError, SourceTimeout, Watchdog, connect_within
from bot.ingest.sql_guard import check_query, check_url, mask, shown
from storage.db import normalise_url

__all__ = ["CONNECT_TIMEOUT_S", "Reader", "SourceError", "SourceTimeout", "cause", "grouped_events_sql", "parse_url",
           "reading", "shown_url", "signups_sql", "since_param", "source_engine", "subquery", "week_expression"]

# PostgreSQL: TCP keepalives find a dead peer in ~25 s, and data left unacknowledged for 30 s
# drops the connection (a silent network), on top of the statement timeout the server enforces.
PG_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
                 "tcp_user_timeout": 30_000}
MYSQL_MULTI_STATEMENTS = 1 << 16  # pymysql.constants.CLIENT.MULTI_STATEMENTS, never set on a source
# MySQL/MariaDB group in an in-memory temporary table only up to min(tmp_table_size,
# max_heap_table_size), 16 MB by default; past that it goes to disk. Measured on MariaDB 10.11 with
# 1M events (270k groups): 36 s at the defaults, 5.5 s at 256 MB. Session settings, no privilege needed.
MYSQL_TMP_TABLE_BYTES = 256 * 1024 * 1024
# Backends we know how to read read-only with a week expression, and the extra with their driver.
EXTRAS = {"postgresql": None, "sqlite": None, "mysql": "mysql", "mariadb": "mysql", "duckdb": "duckdb"}
_TZ_RE = re.compile(r"^[A-Za-z0-9/_+\-]+$")
_COLUMNS = {"events": ("user_id", "occurred_at"), "signups": ("user_id", "signed_up_at")}

# ============================================================================ URL and engine
def parse_url(raw: str) -> URL:
    try:
        url = make_url(normalise_url(raw))
    except (exc.ArgumentError, ValueError):
        raise UserError("--url is not a database URL (e.g. postgresql://user:pass@host/db, "
                        "mysql+pymysql://user@host/db, sqlite:////path/app.db, duckdb:////path/app.duckdb)") from None
    backend = url.get_backend_name()
    if backend not in EXTRAS:
        raise UserError(f"{backend!r} sources are not supported: use PostgreSQL, MySQL/MariaDB, SQLite or DuckDB.")
    if backend in ("sqlite", "duckdb") and (not url.database or url.database == ":memory:"):
        raise UserError(f"a {backend} source must name a database file (e.g. {backend}:////path/to/file).")
    check_url(url)
    return url


def shown_url(url: URL | str) -> str:
    """The URL as it may be printed: the password and any secret parameter as ``***``."""
    return shown(url if isinstance(url, URL) else make_url(url))


def _missing_driver(url: URL, err: BaseException) -> SourceError:
    backend = url.get_backend_name()
    extra = EXTRAS.get(backend)
    if backend in ("mysql", "mariadb") and url.get_driver_name() != "pymysql":
        return SourceError(f"the driver for {url.drivername} is not installed ({err}): use a mysql+pymysql:// URL "
                           "and pip install 'pmf-gate[mysql]'")
    hint = f": pip install 'pmf-gate[{extra}]'" if extra else ""
    return SourceError(f"the {backend} driver is not installed{hint} ({type(err).__name__}: {err})")


def source_engine(url: URL, timeout_s: int = 600) -> Engine:
    """An engine on the source that can only read, and whose every wait is bounded: SQLite opens
    the file with ``mode=ro``; DuckDB with ``read_only=True`` and external access off (only its
    own database is readable, no files, no other databases); PostgreSQL and MySQL/MariaDB get
    read-only transactions in ``reading``. Connect, read and keepalive limits are set here and win
    over the URL's; MySQL's multi-statements flag is cleared whatever asked for it. No pool: a
    sync is one connection a day."""
    check_url(url)
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        db = url.database or ""
        if not db.startswith("file:"):
            url = url.set(database=f"file:{db}")
        url = url.update_query_dict({"mode": "ro", "uri": "true"})
    elif backend == "duckdb":
        connect_args["read_only"] = True
        connect_args["config"] = {"enable_external_access": False}
    elif backend == "postgresql":
        connect_args.update(connect_timeout=CONNECT_TIMEOUT_S, **PG_KEEPALIVES)
    else:  # MySQL / MariaDB (PyMySQL): each socket read and write waits at most the timeout + 2 margins
        # (past the watchdog's deadline, so that its clearer message comes first)
        connect_args.update(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=timeout_s + 2 * MARGIN_S,
                            write_timeout=timeout_s + 2 * MARGIN_S)
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (exc.NoSuchModuleError, ImportError) as err:
        raise _missing_driver(url, err) from None
    if backend in ("mysql", "mariadb"):
        @event.listens_for(engine, "do_connect")
        def _one_statement_only(_dialect: Any, _conn_rec: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
            cparams["client_flag"] = int(cparams.get("client_flag", 0)) & ~MYSQL_MULTI_STATEMENTS
    return engine


def cause(err: BaseException, secrets: Sequence[str | None] | str | None) -> str:
    """One line naming why a source failed, without SQLAlchemy's SQL echo or any secret."""
    if isinstance(err, UserError):
        return mask(" ".join(str(err).split()), [secrets] if isinstance(secrets, str) else secrets or [])[:480]
    if isinstance(err, exc.DBAPIError) and err.orig is not None:
        name, msg = type(err.orig).__name__, str(err.orig)
    else:
        name, msg = type(err).__name__, str(err)
    line = " ".join(msg.split())  # drivers' messages run over several lines
    line = mask(line, [secrets] if isinstance(secrets, str) else secrets or [])
    lowered = line.lower()
    if any(m in lowered for m in ("statement timeout", "max_statement_time", "max_execution_time", "interrupt")):
        line += " (the statement timeout; raise it with `pmfbot source add ... --timeout SECONDS`)"
    return f"{name}: {line}"[:480]


# ============================================================================ dialects
def _check_tz(tz: str) -> str:
    if not _TZ_RE.match(tz):  # validated as an IANA name by the settings; this guards the SQL literal
        raise UserError(f"unexpected timezone name {tz!r}")
    return tz


def week_expression(dialect: str, column: str, tz: str) -> str:
    """SQL for the Monday (a DATE) of the week of ``column`` in ``tz``; naive values are UTC."""
    utc = tz in UTC_NAMES
    if dialect in ("postgresql", "duckdb"):
        # The session's time zone is UTC (reading), so a naive timestamp cast to timestamptz is
        # read as UTC; AT TIME ZONE gives the wall clock in the product's zone, DST included.
        return f"CAST(date_trunc('week', CAST({column} AS TIMESTAMPTZ) AT TIME ZONE '{_check_tz(tz)}') AS DATE)"
    if dialect in ("mysql", "mariadb"):
        local = column if utc else f"CONVERT_TZ({column}, '+00:00', '{_check_tz(tz)}')"
        return f"(DATE({local}) - INTERVAL WEEKDAY({local}) DAY)"
    if dialect == "sqlite":
        if not utc:
            raise SourceError(f"SQLite has no time zones, so a SQLite source can only feed a UTC product (this one "
                              f"is in {tz}): set the product's timezone to UTC, or load the data into PostgreSQL")
        return f"date({column}, '-6 days', 'weekday 1')"
    raise SourceError(f"no week expression for {dialect}")


def _since_condition(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        return f"datetime({column}) >= :since"  # ISO text with 'T' or offsets compares as instants
    if dialect == "duckdb":
        return f"CAST({column} AS TIMESTAMPTZ) >= CAST(:since AS TIMESTAMPTZ)"
    return f"{column} >= :since"


def since_param(dialect: str, at: datetime) -> Any:
    at = at.astimezone(UTC)
    if dialect == "sqlite":
        return at.strftime("%Y-%m-%d %H:%M:%S")
    if dialect == "duckdb":
        return at.strftime("%Y-%m-%d %H:%M:%S+00")
    if dialect in ("mysql", "mariadb"):
        return at.replace(tzinfo=None)  # the session's time_zone is +00:00 (reading)
    return at


def subquery(query: str) -> str:
    return query.strip().rstrip(";").strip()


def _wrapped(query: str) -> str:
    # On lines of their own, so that a comment at the end of the query cannot swallow the wrapper.
    return f"(\n{subquery(query)}\n)"


# Every statement sent to a source carries at least one bound parameter: psycopg then uses the
# extended protocol, which runs exactly one statement whatever the text holds.
ALWAYS = {"pmf_one": 1}


def grouped_events_sql(dialect: str, events_query: str, tz: str, *, since: bool) -> str:
    """The one query a sync sends for activity: distinct (user_id, week_start) pairs."""
    where = ":pmf_one = 1 AND src.user_id IS NOT NULL AND src.occurred_at IS NOT NULL"
    if since:
        where += " AND " + _since_condition(dialect, "src.occurred_at")
    return (f"SELECT w.user_id, w.week_start FROM (SELECT src.user_id AS user_id, "
            f"{week_expression(dialect, 'src.occurred_at', tz)} AS week_start "
            f"FROM {_wrapped(events_query)} src WHERE {where}) w GROUP BY w.user_id, w.week_start")


def signups_sql(dialect: str, signups_query: str, optional: Sequence[str], *, since: bool) -> str:
    """The signups as the query returns them: user_id, signed_up_at and the ``optional`` columns found."""
    where = ":pmf_one = 1 AND src.user_id IS NOT NULL AND src.signed_up_at IS NOT NULL"
    if since:
        where += " AND " + _since_condition(dialect, "src.signed_up_at")
    cols = ", ".join(f"src.{c}" for c in ("user_id", "signed_up_at", *optional))
    return f"SELECT {cols} FROM {_wrapped(signups_query)} src WHERE {where}"


def sample_sql(dialect: str, kind: str, query: str, optional: Sequence[str], tz: str) -> str:
    """``source test``'s sample: the rows as a sync reads them (events with the Monday of their week)."""
    cols = ", ".join(f"src.{c}" for c in (*_COLUMNS[kind], *optional))
    if kind == "events":
        cols = f"src.user_id, src.occurred_at, {week_expression(dialect, 'src.occurred_at', tz)} AS week_start"
    return f"SELECT {cols} FROM {_wrapped(query)} src LIMIT :pmf_limit"


def count_sql(query: str) -> str:
    return f"SELECT count(*) FROM (SELECT 1 AS one FROM {_wrapped(query)} src LIMIT :pmf_cap) c"


@dataclass
class Reader:
    """A read-only connection to a source whose every call into the driver is checked (one
    SELECT, ``bot.ingest.sql_guard``) and bounded (``Watchdog``, ``deadline`` seconds a call)."""

    conn: Connection
    dialect: str
    watchdog: Watchdog
    deadline: float

    def _execute(self, sql: str, params: Mapping[str, Any], stream: bool) -> Any:
        check_query(sql, self.dialect, "the statement built around your query")
        if not params:
            raise AssertionError("a statement sent to a source carries a bound parameter")
        with self.watchdog.guard(self.deadline):
            return self.conn.execute(text(sql), dict(params), execution_options={"stream_results": stream})

    def keys(self, sql: str, params: Mapping[str, Any]) -> list[str]:
        result = self._execute(sql, params, stream=False)
        keys = list(result.keys())
        with self.watchdog.guard(self.deadline):
            result.close()
        return keys

    def rows(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        result = self._execute(sql, params, stream=False)
        with self.watchdog.guard(self.deadline):
            return [tuple(r) for r in result.fetchall()]

    def chunks(self, sql: str, params: Mapping[str, Any], size: int) -> Iterator[Sequence[Any]]:
        """The rows ``size`` at a time, streamed; each fetch has its own deadline. (``partitions()``
        follows the driver's own batches, which duckdb-engine makes one row long.)"""
        result = self._execute(sql, params, stream=True)
        while True:
            with self.watchdog.guard(self.deadline):
                rows = result.fetchmany(size)
            if not rows:
                return
            yield rows


@contextmanager
def reading(engine: Engine, timeout_s: int, tz: str) -> Iterator[Reader]:
    """A ``Reader`` in a read-only transaction (and session) with a statement timeout, times in
    UTC. Connecting is bounded by ``CONNECT_TIMEOUT_S``; every later call by the statement timeout
    plus ``MARGIN_S`` (PostgreSQL, MySQL/MariaDB: the server's own timeout comes first) or by the
    timeout itself (DuckDB and SQLite have none: the watchdog interrupts them)."""
    url = engine.url
    where = f"{url.host}:{url.port}" if url.host and url.port else (url.host or url.database or "the source")
    try:
        conn = connect_within(engine, CONNECT_TIMEOUT_S + MARGIN_S, where)
    except (exc.SQLAlchemyError, OSError) as err:
        why = cause(err, None)
        if "timeout" in why.lower() or "timed out" in why.lower():
            why += f" (no answer within {CONNECT_TIMEOUT_S} s: check the host, port and firewall)"
        raise SourceError(f"could not connect to {where}: {why}") from None
    dialect = conn.dialect.name
    watchdog = Watchdog(conn)
    deadline = timeout_s if dialect in ("duckdb", "sqlite") else timeout_s + MARGIN_S
    try:
        with watchdog.guard(CONNECT_TIMEOUT_S + MARGIN_S):
            _read_only_session(conn, dialect, timeout_s, tz)
        yield Reader(conn, dialect, watchdog, deadline)
    finally:
        with suppress(Exception), watchdog.guard(CONNECT_TIMEOUT_S):
            conn.rollback()  # nothing to keep: it only read
        with suppress(Exception), watchdog.guard(CONNECT_TIMEOUT_S):
            conn.close()


def _read_only_session(conn: Connection, dialect: str, timeout_s: int, tz: str) -> None:
    if dialect == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql("SET SESSION default_transaction_read_only = on")
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}")
        conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
    elif dialect in ("mysql", "mariadb"):
        conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
        conn.exec_driver_sql("SET SESSION time_zone = '+00:00'")
        conn.exec_driver_sql(f"SET SESSION tmp_table_size = {MYSQL_TMP_TABLE_BYTES}, "
                             f"max_heap_table_size = {MYSQL_TMP_TABLE_BYTES}")
        mariadb = "mariadb" in str(conn.exec_driver_sql("SELECT VERSION()").scalar()).lower()
        if mariadb:
            conn.exec_driver_sql(f"SET SESSION max_statement_time = {float(timeout_s)}")
        else:
            conn.exec_driver_sql(f"SET SESSION MAX_EXECUTION_TIME = {int(timeout_s * 1000)}")
        conn.commit()
        conn.exec_driver_sql("START TRANSACTION READ ONLY")
        if tz not in UTC_NAMES and conn.execute(text("SELECT CONVERT_TZ('2000-01-01 00:00:00', '+00:00', :tz)"),
                                                 {"tz": tz}).scalar() is None:
            raise SourceError(f"this MySQL/MariaDB server has no time-zone tables, so it cannot compute weeks in "
                              f"{tz}: load them (mysql_tzinfo_to_sql /usr/share/zoneinfo | mysql mysql) or use a "
                              "UTC product")
    elif dialect == "duckdb":
        conn.exec_driver_sql("SET TimeZone = 'UTC'")
    elif dialect == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")


def columns(reader: Reader, query: str, kind: str) -> list[str]:
    """The query's optional columns (lower case, in the order it returns them), refusing a query
    without the contract's columns or with a column the import does not know."""
    keys = [k.lower() for k in reader.keys(f"SELECT * FROM {_wrapped(query)} src WHERE :pmf_one = 0", ALWAYS)]
    required, optional = _COLUMNS[kind], OPTIONAL_COLUMNS[kind]
    missing = [c for c in required if c not in keys]
    if missing:
        raise SourceError(f"the {kind} query must return the columns {', '.join(required)} "
                          f"(missing {', '.join(missing)}; it returns {', '.join(keys) or 'nothing'})")
    unknown = [k for k in keys if k not in required and k not in optional]
    if unknown:
        raise SourceError(f"the {kind} query returns column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}, "
                          f"which the import does not know: it may return {', '.join(required)} and optionally "
                          f"{', '.join(optional)} (rename with AS, or leave the others out)")
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise SourceError(f"the {kind} query returns {', '.join(duplicated)} more than once")
    return [k for k in keys if k in optional]
