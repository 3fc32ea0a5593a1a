"""Every operation on a SQL source ends (SPEC §9, issue 19): deadlines enforced from outside the driver.

The drivers get their own limits (``bot.ingest.sql_dialects.source_engine``: connect, read and
statement timeouts, TCP keepalives), but a server that accepts a connection and then says nothing,
or a network that goes silent after a query was sent, is only noticed by a client that stops
waiting. So, on top of them:

- ``connect_within``: the connection is opened on a thread of its own; past its deadline the
  caller gets a ``SourceError`` and the thread is left to end by the driver's own timeout (it
  closes whatever it opened);
- ``Watchdog.guard``: every call into the driver (a statement, each fetch of a streamed result)
  runs under a timer that, past its deadline, shuts the connection's socket down (PostgreSQL,
  MySQL/MariaDB) or interrupts it (DuckDB, SQLite), so the blocked call fails at once;
- ``run_within``: the clock runs each sync on a thread with a deadline, so one source that
  somehow still hangs never holds up the next.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from bot.errors import UserError

log = logging.getLogger(__name__)
T = TypeVar("T")

CONNECT_TIMEOUT_S = 10  # connecting, TLS and login included
MARGIN_S = 5  # past the statement timeout, the socket of a silent source is closed


class SourceError(UserError):
    """A source that cannot be read: the message names the cause (never the password)."""


class SourceTimeout(SourceError):
    """The source did not answer in time and its connection was closed."""


def connect_within(engine: Engine, seconds: float, where: str) -> Connection:
    """``engine.connect()``, abandoned after ``seconds``: raises ``SourceTimeout`` then."""
    box: dict[str, Any] = {}
    done = threading.Event()
    abandoned = threading.Event()

    def run() -> None:
        try:
            box["conn"] = engine.connect()
        except BaseException as err:  # noqa: BLE001 - handed to the caller below
            box["err"] = err
        finally:
            done.set()
            if abandoned.is_set() and "conn" in box:
                with contextlib.suppress(Exception):
                    box["conn"].close()

    thread = threading.Thread(target=run, name="pmf-source-connect", daemon=True)
    thread.start()
    if not done.wait(seconds):
        abandoned.set()
        if done.is_set() and "conn" in box:  # it connected just as we gave up
            with contextlib.suppress(Exception):
                box["conn"].close()
        raise SourceTimeout(f"could not connect to {where}: no answer within {seconds:.0f} s (the bot stopped "
                            "waiting; check the host, port and firewall)")
    if "err" in box:
        raise box["err"]
    conn: Connection = box["conn"]
    return conn


class Watchdog:
    """Breaks a connection whose driver call outlives its deadline (see the module docstring)."""

    def __init__(self, conn: Connection) -> None:
        self._raw: Any = conn.connection.driver_connection
        self._backend = conn.dialect.name
        self.fired = False
        self.seconds = 0.0

    def _break(self) -> None:
        self.fired = True
        raw = self._raw
        try:
            if self._backend in ("duckdb", "sqlite"):
                raw.interrupt()
                return
            sock: socket.socket | None = None
            if self._backend == "postgresql":
                sock = socket.socket(fileno=os.dup(raw.pgconn.socket))
            elif self._backend in ("mysql", "mariadb"):
                sock = raw._sock  # noqa: SLF001 - PyMySQL exposes no public handle on its socket
                if sock is not None:
                    sock = socket.socket(fileno=os.dup(sock.fileno()))
            if sock is not None:
                with sock:
                    # Wakes the thread blocked on the socket: its read ends, the driver raises.
                    sock.shutdown(socket.SHUT_RDWR)
        except Exception:  # noqa: BLE001 - the connection may already be gone, which is what we want
            log.debug("breaking a source connection", exc_info=True)

    @contextlib.contextmanager
    def guard(self, seconds: float) -> Iterator[None]:
        """Run the block under a deadline; past it the connection is broken and ``SourceTimeout`` raised."""
        self.seconds = seconds
        timer = threading.Timer(seconds, self._break)
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception as err:
            if self.fired and not isinstance(err, SourceError):
                raise self.timeout_error() from None
            raise
        finally:
            timer.cancel()
        if self.fired:  # the call returned just as the timer broke the connection
            raise self.timeout_error()

    def timeout_error(self) -> SourceTimeout:
        if self._backend in ("duckdb", "sqlite"):
            return SourceTimeout(f"interrupted after {self.seconds:.0f} s (the statement timeout; raise it with "
                                 "`pmfbot source add ... --timeout SECONDS`)")
        return SourceTimeout(f"the source stopped answering: no reply within {self.seconds:.0f} s (the statement "
                             f"timeout plus {MARGIN_S} s), so its connection was closed")


def run_within(fn: Callable[[], T], seconds: float, name: str) -> T:
    """``fn()`` on a thread of its own; past ``seconds`` the caller gets ``SourceTimeout`` and the
    thread is left to end by the deadlines inside ``fn`` (its result is then dropped)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as err:  # noqa: BLE001 - handed to the caller
            box["err"] = err

    thread = threading.Thread(target=run, name=f"pmf-source-sync-{name}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise SourceTimeout(f"the sync of {name} did not finish within {seconds:.0f} s; the clock moved on to the "
                            "next source")
    if "err" in box:
        raise box["err"]
    result: T = box["result"]
    return result
