"""The source side of a SQL source (SPEC §9): URLs, read-only engines and the SQL per dialect.

Everything that differs between PostgreSQL, MySQL/MariaDB, SQLite and DuckDB is here: how a URL
becomes an engine that can only read (and which ``pip install 'pmf-gate[EXTRA]'`` brings its
driver), the read-only transaction and statement timeout, the expression for the Monday of a
timestamp's week in the product's timezone, and the incremental bound. ``bot.ingest.sql_source`` runs
the use cases on top of it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from bot.errors import UserError
from storage.db import normalise_url

CONNECT_TIMEOUT_S = 10
# MySQL/MariaDB group in an in-memory temporary table only up to min(tmp_table_size,
# max_heap_table_size), 16 MB by default; past that it goes to disk. Measured on MariaDB 10.11 with
# 1M events (270k groups): 36 s at the defaults, 5.5 s at 256 MB. Session settings, no privilege needed.
MYSQL_TMP_TABLE_BYTES = 256 * 1024 * 1024
# Backends we know how to read read-only with a week expression, and the extra with their driver.
EXTRAS = {"postgresql": None, "sqlite": None, "mysql": "mysql", "mariadb": "mysql", "duckdb": "duckdb"}
UTC_NAMES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"}
_TZ_RE = re.compile(r"^[A-Za-z0-9/_+\-]+$")
_COLUMNS = {"events": ("user_id", "occurred_at"), "signups": ("user_id", "signed_up_at")}


class SourceError(UserError):
    """A source that cannot be read: the message names the cause (never the password)."""

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
    return url


def shown_url(url: URL | str) -> str:
    """The URL as it may be printed: the password, if any, as ``***``."""
    u = url if isinstance(url, URL) else make_url(url)
    return u.render_as_string(hide_password=True)


def _missing_driver(url: URL, err: BaseException) -> SourceError:
    backend = url.get_backend_name()
    extra = EXTRAS.get(backend)
    if backend in ("mysql", "mariadb") and url.get_driver_name() != "pymysql":
        return SourceError(f"the driver for {url.drivername} is not installed ({err}): use a mysql+pymysql:// URL "
                           "and pip install 'pmf-gate[mysql]'")
    hint = f": pip install 'pmf-gate[{extra}]'" if extra else ""
    return SourceError(f"the {backend} driver is not installed{hint} ({type(err).__name__}: {err})")


def source_engine(url: URL) -> Engine:
    """An engine on the source that can only read: SQLite opens the file with ``mode=ro``,
    DuckDB with ``read_only=True``; PostgreSQL and MySQL/MariaDB get read-only transactions in
    ``reading``. No pool: a sync is one connection a day."""
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        db = url.database or ""
        if not db.startswith("file:"):
            url = url.set(database=f"file:{db}")
        url = url.update_query_dict({"mode": "ro", "uri": "true"})
    elif backend == "duckdb":
        connect_args["read_only"] = True
    elif "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (exc.NoSuchModuleError, ImportError) as err:
        raise _missing_driver(url, err) from None


def cause(err: BaseException, password: str | None) -> str:
    """One line naming why a source failed, without SQLAlchemy's SQL echo or the password."""
    if isinstance(err, exc.DBAPIError) and err.orig is not None:
        name, msg = type(err.orig).__name__, str(err.orig)
    else:
        name, msg = type(err).__name__, str(err)
    line = " ".join(msg.split())  # drivers' messages run over several lines
    if password:
        line = line.replace(password, "***")
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


def grouped_events_sql(dialect: str, events_query: str, tz: str, *, since: bool) -> str:
    """The one query a sync sends for activity: distinct (user_id, week_start) pairs."""
    where = "src.user_id IS NOT NULL AND src.occurred_at IS NOT NULL"
    if since:
        where += " AND " + _since_condition(dialect, "src.occurred_at")
    return (f"SELECT w.user_id, w.week_start FROM (SELECT src.user_id AS user_id, "
            f"{week_expression(dialect, 'src.occurred_at', tz)} AS week_start "
            f"FROM ({subquery(events_query)}) src WHERE {where}) w GROUP BY w.user_id, w.week_start")


def signups_sql(dialect: str, signups_query: str, channel: bool, *, since: bool) -> str:
    where = "src.user_id IS NOT NULL AND src.signed_up_at IS NOT NULL"
    if since:
        where += " AND " + _since_condition(dialect, "src.signed_up_at")
    cols = "src.user_id, src.signed_up_at" + (", src.channel" if channel else "")
    return f"SELECT {cols} FROM ({subquery(signups_query)}) src WHERE {where}"


@contextmanager
def reading(engine: Engine, timeout_s: int, tz: str) -> Iterator[Connection]:
    """A connection in a read-only transaction with a statement timeout, times in UTC. DuckDB and
    SQLite have no statement timeout: a watchdog interrupts their connection instead."""
    with engine.connect() as conn:
        dialect = conn.dialect.name
        watchdog: threading.Timer | None = None
        if dialect == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
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
            conn.commit()  # the next statement opens a transaction with the read-only setting
            if tz not in UTC_NAMES and conn.execute(text("SELECT CONVERT_TZ('2000-01-01 00:00:00', '+00:00', :tz)"),
                                                     {"tz": tz}).scalar() is None:
                raise SourceError(f"this MySQL/MariaDB server has no time-zone tables, so it cannot compute weeks in "
                                  f"{tz}: load them (mysql_tzinfo_to_sql /usr/share/zoneinfo | mysql mysql) or use a "
                                  "UTC product")
        elif dialect == "duckdb":
            conn.exec_driver_sql("SET TimeZone = 'UTC'")
        elif dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")
        if dialect in ("duckdb", "sqlite"):
            raw: Any = conn.connection.driver_connection
            watchdog = threading.Timer(timeout_s, raw.interrupt)
            watchdog.daemon = True
            watchdog.start()
        try:
            yield conn
        finally:
            if watchdog is not None:
                watchdog.cancel()
            conn.rollback()  # nothing to keep: it only read


def columns(conn: Connection, query: str, kind: str) -> list[str]:
    """The query's column names (lower case), refusing a query without the contract's columns."""
    keys = [k.lower() for k in conn.execute(text(f"SELECT * FROM ({subquery(query)}) src WHERE 1 = 0")).keys()]
    missing = [c for c in _COLUMNS[kind] if c not in keys]
    if missing:
        raise SourceError(f"the {kind} query must return the columns {', '.join(_COLUMNS[kind])} "
                          f"(missing {', '.join(missing)}; it returns {', '.join(keys) or 'nothing'})")
    return keys


