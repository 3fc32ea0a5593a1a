"""One writer at a time on SQLite, in line instead of in a scrum.

SQLite takes one write transaction at a time. Left to itself, every other writer polls the lock
in its busy handler, sleeping longer after each miss, so under 20 concurrent API clients the
unlucky ones wait seconds while the file sits idle between holders (p99 4.9 s, max 15.7 s
measured). ``single_writer`` queues writers instead: a process-wide lock per database (threads of
one process), then an exclusive ``flock`` on a lock file next to the database (the processes of
``pmfbot web``), then ``BEGIN IMMEDIATE``. Writers of a process go in arrival order; one that
waits longer than ``WAIT_S`` gets ``sqlalchemy.exc.TimeoutError`` (the APIs answer 503, retry later). PostgreSQL: nothing to do,
its row locks are finer.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

WAIT_S = 30.0  # as long as SQLite's own busy timeout (storage.db)


class _FifoLock:
    """A lock handed to its waiters in the order they came (``threading.Lock`` is not: under a
    steady stream of writers one unlucky thread can wait many turns)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._next = 0  # the ticket to hand out next
        self._serving = 0  # the ticket that may hold the lock
        self._abandoned: set[int] = set()

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            ticket = self._next
            self._next += 1
            while self._serving != ticket:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._abandoned.add(ticket)
                    return False
                self._cond.wait(left)
            return True

    def release(self) -> None:
        with self._cond:
            self._serving += 1
            while self._serving in self._abandoned:  # waiters that gave up pass their turn on
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()


# Engine-scoped state, dropped with its engine: the lock of each SQLite database in this process.
_locks: weakref.WeakKeyDictionary[Engine, _FifoLock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def _lock_of(engine: Engine) -> _FifoLock:
    with _locks_guard:
        lock = _locks.get(engine)
        if lock is None:
            lock = _locks[engine] = _FifoLock()
        return lock


def _lock_file(engine: Engine) -> str | None:
    path = engine.url.database
    return f"{path}-writer.lock" if path and path != ":memory:" and not path.startswith("file:") else None


@contextmanager
def _file_lock(path: str | None) -> Iterator[None]:
    """An exclusive ``flock`` between processes. Blocking (the kernel wakes the one waiter of
    each process as soon as it is free, where polling would lose the race to the holder's
    process again and again); only one thread per process waits here, and a holder is a short
    SQLite transaction, released by the kernel if its process dies."""
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


@contextmanager
def single_writer(session: Session) -> Iterator[None]:
    """Hold this database's write lock (SQLite) for the block, which must end the session's
    transaction (commit or rollback) before it exits."""
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        yield
        return
    lock = _lock_of(bind)
    if not lock.acquire(timeout=WAIT_S):
        raise PoolTimeout("another request held the database's write lock too long")
    try:
        with _file_lock(_lock_file(bind)):
            raw = session.connection().connection.driver_connection
            if raw is not None and not raw.in_transaction:
                raw.execute("BEGIN IMMEDIATE")
            yield
    finally:
        lock.release()
