"""Every round trip to PostgreSQL ends: a server-side ``statement_timeout`` for a server that
answers, and a client-side deadline for one that stops answering.

``statement_timeout`` is enforced by the server, and TCP keepalives only notice a peer whose
kernel is gone: a connection that still accepts bytes but never answers (a stuck proxy, a
frozen server, a half-dead NAT) leaves libpq waiting forever, and a web request with it. So each
statement, commit, rollback and pool ping is armed with a deadline (``statement_timeout`` plus a
margin) on one watchdog thread per engine; past it, the watchdog shuts the connection's socket
down, the waiting driver call fails at once with an ``OperationalError``, and the pool discards
that connection. The request answers 503 instead of hanging.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)

MARGIN_S = 2.0  # past statement_timeout: the server's own cancel comes first when it can


class Watchdog:
    """Deadlines on one thread: ``arm`` returns a token, ``disarm`` forgets it; an armed
    deadline that passes runs its ``fire``."""

    def __init__(self, name: str) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, Callable[[], None]]] = {}
        self._tokens = itertools.count(1)
        self._name = name
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, fire: Callable[[], None]) -> int:
        with self._cond:
            token = next(self._tokens)
            self._armed[token] = (time.monotonic() + seconds, fire)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()
            return token

    def disarm(self, token: int) -> None:
        with self._cond:
            self._armed.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [t for t, (at, _) in self._armed.items() if at <= now]
                fired = [self._armed.pop(t)[1] for t in due]
                if not fired:
                    nearest = min((at for at, _ in self._armed.values()), default=now + 1.0)
                    self._cond.wait(timeout=max(0.01, min(nearest - now, 1.0)))
                    continue
            for fire in fired:
                try:
                    fire()
                except Exception as err:  # noqa: BLE001 - the watchdog thread must go on
                    log.warning("could not close a silent database connection: %s", type(err).__name__)


def sever(dbapi_connection: Any) -> None:
    """Shut a psycopg connection's socket down (both ways), so a call waiting on it fails now."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    fd = getattr(pgconn, "socket", -1) if pgconn is not None else -1
    if fd is None or fd < 0:
        return
    dup = socket.socket(fileno=os.dup(fd))
    try:
        dup.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        dup.close()
    log.warning("a database connection did not answer within its deadline; closed it")


def guard(engine: Engine, seconds: float) -> None:
    """Arm every statement, commit, rollback and ping of ``engine`` (PostgreSQL) with a
    ``seconds`` deadline."""
    dog = Watchdog(f"db-deadline-{id(engine):x}")
    dialect = engine.dialect

    def guarded(method: Callable[..., Any], connection_of: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            dbapi_connection = connection_of(*args)
            token = dog.arm(seconds, lambda: sever(dbapi_connection))
            try:
                return method(*args, **kwargs)
            finally:
                dog.disarm(token)
        return call

    def of_cursor(cursor: Any, *_: Any) -> Any:
        return cursor.connection

    def of_connection(dbapi_connection: Any, *_: Any) -> Any:
        return dbapi_connection

    for name in ("do_execute", "do_executemany", "do_execute_no_params"):
        setattr(dialect, name, guarded(getattr(dialect, name), of_cursor))
    for name in ("do_commit", "do_rollback", "do_ping"):
        setattr(dialect, name, guarded(getattr(dialect, name), of_connection))
