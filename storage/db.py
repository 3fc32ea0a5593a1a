"""The engine, the session factory and the database URL rules.

One place decides how a URL becomes an engine: Heroku-style ``postgres://`` is rewritten to the
psycopg 3 driver, SQLite gets foreign keys and a busy timeout (several threads of one process
share it), and PostgreSQL gets a pool with pre-ping so a restarted database does not surface as
an error in a Slack reply. Sessions are opened by services (``unit_of_work``), never by Slack
middleware.
"""

from __future__ import annotations

import functools
import os
import random
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import Engine, MetaData, create_engine, event, make_url, text
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage.deadlines import MARGIN_S, guard

# Named constraints make every later migration able to alter them, on SQLite too (batch mode).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The session factory every use case takes (``unit_of_work(factory)`` opens a session).
Factory = sessionmaker[Session]



class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def normalise_url(url: str) -> str:
    """Accept the URL forms operators paste: ``postgres://`` (Heroku) and a bare
    ``postgresql://`` both mean psycopg 3."""
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def redacted_url(url: str) -> str:
    """The database URL as it may be logged: the password replaced by ``***``."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


PG_CONNECT_TIMEOUT_S = 5
# The processes that answer people (web, socket, clock) bound every statement by this much
# (``bot.app``); the CLI and migrations, run by an operator who sees them, are not bounded.
APP_STATEMENT_TIMEOUT_S = 20.0
# libpq TCP options: a peer that vanished (its kernel gone, a partition) is noticed in about
# idle + interval x count seconds, and unacknowledged writes give up after tcp_user_timeout.
PG_TCP_OPTIONS = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
                  "tcp_user_timeout": 30_000}


def make_engine(url: str, *, statement_timeout_s: float | None = None, **kwargs: Any) -> Engine:
    """The engine for ``url``. ``statement_timeout_s`` (PostgreSQL): the server cancels a
    statement after that long, and ``storage.deadlines`` closes a connection that stays silent
    past it (a frozen server or proxy), so no call waits forever."""
    engine = _make_engine(url, statement_timeout_s=statement_timeout_s, **kwargs)
    if "poolclass" not in kwargs:
        # Made on first use, once (a race may make a second, unused: a NullPool engine holds nothing).
        _SIDE_ENGINES[engine] = functools.cache(functools.partial(
            _make_engine, url, statement_timeout_s=statement_timeout_s, poolclass=NullPool))
    return engine


# Engine -> its side engine (see side_engine), made on first use.
_SIDE_ENGINES: weakref.WeakKeyDictionary[Engine, Callable[[], Engine]] = weakref.WeakKeyDictionary()


def side_engine(engine: Engine) -> Engine | None:
    """An engine on ``engine``'s database, configured alike, whose connections never come from
    ``engine``'s pool: each is opened for its use and closed after (NullPool). For a read that
    runs on a thread beside a connection the caller already holds: from the same pool it could
    wait for ever (one connection left, or every thread holding one and waiting for a second).
    None for an engine ``make_engine`` did not make, or one on an in-memory SQLite database (a
    second connection would be another database)."""
    side = _SIDE_ENGINES.get(engine)
    if side is None or engine.url.database in (None, "", ":memory:") or "mode=memory" in str(engine.url):
        return None
    return side()


def _make_engine(url: str, *, statement_timeout_s: float | None = None, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # WAL lets readers (Slack requests) proceed while an import writes.
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if kwargs.get("poolclass") is not NullPool:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    connect_args = dict(kwargs.pop("connect_args", {}))
    if "connect_timeout" not in url:
        # An unreachable server fails a request (and /healthz) in seconds instead of hanging
        # until the OS gives up on the TCP connection; a URL may set its own.
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
    postgres = url.startswith("postgresql")
    for key, value in PG_TCP_OPTIONS.items() if postgres else ():
        if key not in url:
            connect_args.setdefault(key, value)
    if statement_timeout_s and postgres:
        # Added to the URL's own options (a test schema's search_path), not in place of them.
        options = str(make_url(url).query.get("options") or "")
        connect_args["options"] = f"{options} -c statement_timeout={int(statement_timeout_s * 1000)}".strip()
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    if statement_timeout_s and postgres:
        guard(engine, statement_timeout_s + MARGIN_S)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction: commits when the block ends normally, rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# PostgreSQL: deadlock_detected, serialization_failure. SQLite: another writer held the lock
# past the busy timeout, or a read snapshot went stale before its first write.
CONFLICT_SQLSTATES = ("40P01", "40001")
CONFLICT_ATTEMPTS = 3
T = TypeVar("T")


def is_conflict(error: BaseException) -> bool:
    """A lock conflict that the same unit of work may succeed at when run again."""
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    if getattr(orig, "sqlstate", None) in CONFLICT_SQLSTATES or getattr(orig, "pgcode", None) in CONFLICT_SQLSTATES:
        return True
    return type(orig).__name__ == "OperationalError" and "database is locked" in str(orig)


def retry_on_conflict(work: Callable[[], T], *, attempts: int = CONFLICT_ATTEMPTS,
                         pause: float = 0.05) -> T:
    """Run ``work`` (a whole unit of work: it opens, commits and closes its own session) again
    after a deadlock or serialization failure, up to ``attempts`` times in all, with a short
    jittered pause so the transactions that collided do not collide again. Any other error, and
    the last conflict, is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as err:
            if attempt == attempts or not is_conflict(err):
                raise
            time.sleep(pause * attempt * (0.5 + random.random()))  # noqa: S311 - jitter, not secrecy
    raise AssertionError("unreachable")


def begin_write(session: Session) -> None:
    """SQLite: take the database's write lock now (``BEGIN IMMEDIATE``, which waits up to the busy
    timeout) rather than at the first write. A transaction that read first and then writes cannot
    wait for another writer (SQLite answers "database is locked" at once to avoid a deadlock), so
    parallel imports would fail instead of queueing. PostgreSQL: nothing to do."""
    raw = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "sqlite" and raw is not None and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


def is_postgres(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


def scratch_schema(base_url: str, prefix: str = "t") -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL schema for a test run or a benchmark, and a function that drops it.

    The returned URL sets ``search_path`` to the schema, so concurrent runs against one server
    (a developer's tests, CI, a benchmark) never see each other's tables."""
    base = normalise_url(base_url)
    schema = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", drop


def dialect_insert(session: Session, table: Any) -> PgInsert | SqliteInsert:
    """``INSERT`` for the session's engine, so callers can add ``on_conflict_do_nothing`` /
    ``on_conflict_do_update`` and ``returning`` the same way on PostgreSQL and SQLite (the one
    place the two dialects' upserts are chosen)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)
