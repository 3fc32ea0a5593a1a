"""The SQL source servers of the tests: a PostgreSQL schema, MariaDB tables, a DuckDB file and a
SQLite file of their own, each with an events and a signups table, and a pandas reference.

Every source generates its rows server-side (``generate_series``, MariaDB's sequence engine,
DuckDB's ``range``) from the same formula, so the 1M-row tables cost seconds. Names are unique
per process and test (PostgreSQL schema ``src_<pid>_<hex>``, MariaDB tables ``ev_<pid>_<hex>``),
so two runs in parallel never see each other's tables; each fixture drops what it created.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

PG_URL = os.environ.get("TEST_SOURCE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MARIA_URL = os.environ.get("TEST_SOURCE_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
SPAN = 26 * 7 * 86400  # the events cover 26 weeks from 2026-01-01
CHANNELS = ("seo", "cpc", "referral", "ads")
SECRET = "test-secret-key-for-sql-sources-0123456789"  # PMFBOT_SECRET_KEY of the tests


class Source:
    """One source database: ``url`` for ``source add``, writable helpers for the test."""

    dialect: str
    url: str
    events: str
    signups: str

    @property
    def events_query(self) -> str:
        return f"SELECT user_id, occurred_at FROM {self.events}"

    @property
    def signups_query(self) -> str:
        return f"SELECT user_id, signed_up_at, channel FROM {self.signups}"

    def run(self, *statements: str, params: Sequence[dict[str, Any]] | None = None) -> None:
        raise NotImplementedError

    def frame(self, sql: str) -> pd.DataFrame:
        raise NotImplementedError

    def insert_events(self, rows: Sequence[tuple[str, str]]) -> None:
        """(user_id, 'YYYY-MM-DD HH:MM:SS' in UTC) rows."""
        raise NotImplementedError

    def generate(self, n_events: int, n_users: int) -> None:
        raise NotImplementedError

    def add_events(self, n_events: int, n_users: int, start: str, days: int) -> None:
        """More events, server-side: ``n_users`` users (new ones among them) over ``days`` from ``start``."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class _SqlAlchemySource(Source):
    def __init__(self, url: str) -> None:
        self._engine: Engine = create_engine(url, poolclass=NullPool)

    def run(self, *statements: str, params: Sequence[dict[str, Any]] | None = None) -> None:
        with self._engine.begin() as conn:
            for s in statements:
                conn.execute(text(s), params or {})

    def frame(self, sql: str) -> pd.DataFrame:
        with self._engine.connect() as conn:
            return pd.read_sql(text(sql), conn)

    def insert_events(self, rows: Sequence[tuple[str, str]]) -> None:
        with self._engine.begin() as conn:
            conn.execute(text(f"INSERT INTO {self.events} (user_id, occurred_at) VALUES (:u, :t)"),
                         [{"u": u, "t": t} for u, t in rows])

    def close(self) -> None:
        self._engine.dispose()


class PgSource(_SqlAlchemySource):
    dialect = "postgresql"

    def __init__(self) -> None:
        super().__init__(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
        self.schema = f"src_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.url, self.events, self.signups = PG_URL, f"{self.schema}.events", f"{self.schema}.signups"
        self.run(f"CREATE SCHEMA {self.schema}",
                 f"CREATE TABLE {self.events} (user_id TEXT, occurred_at TIMESTAMPTZ)",
                 f"CREATE TABLE {self.signups} (user_id TEXT, signed_up_at TIMESTAMPTZ, channel TEXT)")

    def generate(self, n_events: int, n_users: int) -> None:
        self.run(f"INSERT INTO {self.events} SELECT 'u' || (i % {n_users}), TIMESTAMPTZ '2026-01-01 00:00:00+00' "
                 f"+ ((i::bigint * 7919) % {SPAN}) * INTERVAL '1 second' FROM generate_series(0, {n_events - 1}) g(i)",
                 f"INSERT INTO {self.signups} SELECT 'u' || u, TIMESTAMPTZ '2025-12-25 00:00:00+00' + "
                 f"((u::bigint * 104729) % {SPAN}) * INTERVAL '1 second', (ARRAY{list(CHANNELS)})[u % 4 + 1] "
                 f"FROM generate_series(0, {n_users - 1}) g(u) WHERE u % 5 <> 0",
                 f"CREATE INDEX ON {self.events} (occurred_at)", f"ANALYZE {self.events}")

    def add_events(self, n_events: int, n_users: int, start: str, days: int) -> None:
        self.run(f"INSERT INTO {self.events} SELECT 'u' || (i % {n_users}), TIMESTAMPTZ '{start} 00:00:00+00' + "
                 f"((i::bigint * 7919) % {days * 86400}) * INTERVAL '1 second' FROM generate_series(0, {n_events - 1}) g(i)")

    def close(self) -> None:
        self.run(f"DROP SCHEMA {self.schema} CASCADE")
        super().close()


def ensure_mariadb_database(url: str) -> None:
    """Create the MariaDB database the URL names if it is missing (each engineer's tests use their own)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    server = create_engine(parsed._replace(database=None), poolclass=NullPool)
    try:
        with server.begin() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}`")
    finally:
        server.dispose()


class MariaSource(_SqlAlchemySource):
    dialect = "mysql"

    def __init__(self) -> None:
        super().__init__(MARIA_URL)
        tag = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.url, self.events, self.signups = MARIA_URL, f"ev_{tag}", f"su_{tag}"
        self.run(f"CREATE TABLE {self.events} (user_id VARCHAR(32), occurred_at DATETIME)",
                 f"CREATE TABLE {self.signups} (user_id VARCHAR(32), signed_up_at DATETIME, channel VARCHAR(20))")

    def generate(self, n_events: int, n_users: int) -> None:
        self.run(f"INSERT INTO {self.events} SELECT CONCAT('u', seq % {n_users}), TIMESTAMP'2026-01-01 00:00:00' + "
                 f"INTERVAL ((seq * 7919) % {SPAN}) SECOND FROM seq_0_to_{n_events - 1}",
                 f"INSERT INTO {self.signups} SELECT CONCAT('u', seq), TIMESTAMP'2025-12-25 00:00:00' + "
                 f"INTERVAL ((seq * 104729) % {SPAN}) SECOND, ELT(seq % 4 + 1, {', '.join(repr(c) for c in CHANNELS)}) "
                 f"FROM seq_0_to_{n_users - 1} WHERE seq % 5 <> 0",
                 f"CREATE INDEX ix_{self.events} ON {self.events} (occurred_at)")

    def add_events(self, n_events: int, n_users: int, start: str, days: int) -> None:
        self.run(f"INSERT INTO {self.events} SELECT CONCAT('u', seq % {n_users}), TIMESTAMP'{start} 00:00:00' + "
                 f"INTERVAL ((seq * 7919) % {days * 86400}) SECOND FROM seq_0_to_{n_events - 1}")

    def close(self) -> None:
        self.run(f"DROP TABLE IF EXISTS {self.events}", f"DROP TABLE IF EXISTS {self.signups}")
        super().close()


class DuckSource(Source):
    """A DuckDB file. The test's own connections are opened per call and closed at once: the
    sync opens the file read-only, which DuckDB refuses while this process holds it writable."""

    dialect = "duckdb"

    def __init__(self, path: Path) -> None:
        import duckdb

        self._duckdb, self.path = duckdb, path
        self.url, self.events, self.signups = f"duckdb:///{path}", "events", "signups"
        self.run("CREATE TABLE events (user_id VARCHAR, occurred_at TIMESTAMP)",
                 "CREATE TABLE signups (user_id VARCHAR, signed_up_at TIMESTAMP, channel VARCHAR)")

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        conn = self._duckdb.connect(str(self.path))
        try:
            yield conn
        finally:
            conn.close()

    def run(self, *statements: str, params: Sequence[dict[str, Any]] | None = None) -> None:
        with self._conn() as conn:
            for s in statements:
                conn.execute(s)

    def frame(self, sql: str) -> pd.DataFrame:
        with self._conn() as conn:
            return conn.sql(sql).df()

    def insert_events(self, rows: Sequence[tuple[str, str]]) -> None:
        with self._conn() as conn:
            conn.executemany("INSERT INTO events VALUES (?, CAST(? AS TIMESTAMP))", list(rows))

    def generate(self, n_events: int, n_users: int) -> None:
        self.run(f"INSERT INTO events SELECT 'u' || (i % {n_users}), TIMESTAMP '2026-01-01 00:00:00' + "
                 f"to_seconds((i * 7919) % {SPAN}) FROM range({n_events}) t(i)",
                 f"INSERT INTO signups SELECT 'u' || u, TIMESTAMP '2025-12-25 00:00:00' + "
                 f"to_seconds((u * 104729) % {SPAN}), {list(CHANNELS)}[u % 4 + 1] FROM range({n_users}) t(u) "
                 "WHERE u % 5 <> 0")

    def add_events(self, n_events: int, n_users: int, start: str, days: int) -> None:
        self.run(f"INSERT INTO events SELECT 'u' || (i % {n_users}), TIMESTAMP '{start} 00:00:00' + "
                 f"to_seconds((i * 7919) % {days * 86400}) FROM range({n_events}) t(i)")


class SqliteSource(Source):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url, self.events, self.signups = f"sqlite:///{path}", "events", "signups"
        self.run("CREATE TABLE events (user_id TEXT, occurred_at TEXT)",
                 "CREATE TABLE signups (user_id TEXT, signed_up_at TEXT, channel TEXT)")

    def run(self, *statements: str, params: Sequence[dict[str, Any]] | None = None) -> None:
        with sqlite3.connect(self.path) as conn:
            for s in statements:
                conn.execute(s)
        conn.close()

    def frame(self, sql: str) -> pd.DataFrame:
        conn = sqlite3.connect(self.path)
        try:
            return pd.read_sql(sql, conn)
        finally:
            conn.close()

    def insert_events(self, rows: Sequence[tuple[str, str]]) -> None:
        with sqlite3.connect(self.path) as conn:
            conn.executemany("INSERT INTO events VALUES (?, ?)", rows)
        conn.close()


def _reachable(url: str) -> bool:
    try:
        eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool,
                            connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def make_source(dialect: str, tmp_path: Path) -> Source:
    if dialect == "postgresql":
        if not _reachable(PG_URL):
            pytest.skip(f"no PostgreSQL source server at {PG_URL}")
        return PgSource()
    if dialect == "mysql":
        with suppress(Exception):
            ensure_mariadb_database(MARIA_URL)
        if not _reachable(MARIA_URL):
            pytest.skip(f"no MariaDB source server at {MARIA_URL}")
        return MariaSource()
    if dialect == "duckdb":
        return DuckSource(tmp_path / "source.duckdb")
    return SqliteSource(tmp_path / "source.sqlite")


# ---------------------------------------------------------------------------- the reference
def weeks_of(ts: pd.Series, tz: str = "UTC") -> pd.Series:
    """Week index (weeks since Monday 1970-01-05) of each timestamp; naive ones are UTC."""
    t = pd.to_datetime(ts, utc=True).dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    return (t - pd.Timestamp("1970-01-05")).dt.days // 7


def reference_cohorts(events: pd.DataFrame, signups: pd.DataFrame, last: int, tz: str = "UTC",
                      ) -> tuple[dict[int, int], Counter[tuple[int, int]]]:
    """SPEC §5 in pandas: cohort = signup week, else first active week; a signup is activity."""
    ev = pd.DataFrame({"user_id": events.user_id.astype(str), "week": weeks_of(events.occurred_at, tz)})
    su = pd.DataFrame({"user_id": signups.user_id.astype(str), "week": weeks_of(signups.signed_up_at, tz)})
    active = pd.concat([ev, su]).drop_duplicates()
    cohort = active.groupby("user_id").week.min()
    cohort.update(su.set_index("user_id").week)
    sizes = cohort[cohort <= last].value_counts()
    joined = active.join(cohort.rename("cohort"), on="user_id")
    joined = joined[(joined.cohort <= last) & (joined.week >= joined.cohort) & (joined.week <= last)]
    counts = joined.groupby(["cohort", joined.week - joined.cohort]).size()
    return ({int(k): int(v) for k, v in sizes.items()},
            Counter({(int(c), int(k)): int(n) for (c, k), n in counts.items()}))


class StatementLog:
    """Every statement sent through any SQLAlchemy engine while active, with its parameters:
    the source's own view of what a sync asked it."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, Any]] = []

    def _record(self, conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        self.entries.append((conn.dialect.name, statement, parameters))

    def __enter__(self) -> StatementLog:
        event.listen(Engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(Engine, "before_cursor_execute", self._record)

    def grouped(self) -> list[tuple[str, Any]]:
        """The grouped (user, week) queries sent to a source."""
        return [(s, p) for _d, s, p in self.entries if "GROUP BY w.user_id, w.week_start" in s]
