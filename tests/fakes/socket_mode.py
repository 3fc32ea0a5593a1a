"""A Socket Mode endpoint for process tests and benches: accepts slack_sdk's WebSocket handshake on
loopback and says ``hello`` as Slack does, answers pings with pongs, delivers envelopes
(``slash_commands``, ``events_api``, ``interactive``) on the newest connection, records the acks
that come back with the time they arrived, and ends connections the three ways Slack's do:
``refresh()`` sends ``{"type": "disconnect", "reason": "refresh_requested"}`` (Slack does this to
every connection every few hours), ``close()`` sends a close frame, ``drop()`` cuts the TCP
connection with no goodbye. Point ``FakeSlack.socket_mode_url`` at ``url`` so
``apps.connections.open`` hands it out."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def _read_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_frame(conn: socket.socket) -> tuple[int, bytes]:
    b0, b1 = _read_exact(conn, 2)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", _read_exact(conn, 2))
    elif n == 127:
        (n,) = struct.unpack("!Q", _read_exact(conn, 8))
    mask = _read_exact(conn, 4) if b1 & 0x80 else b"\0\0\0\0"
    data = _read_exact(conn, n)
    return b0 & 0x0F, bytes(c ^ mask[i % 4] for i, c in enumerate(data))


@dataclass
class Connection:
    number: int
    sock: socket.socket
    hello_at: float  # time.monotonic() when ``hello`` was sent
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    open: bool = True
    frozen: bool = False  # no pongs, nothing delivered: a connection that died without a word
    client_left_at: float | None = None  # when the client's close frame or EOF arrived
    eof_at: float | None = None  # when its TCP connection ended

    def send(self, opcode: int, payload: bytes) -> None:
        with self.send_lock:
            self.sock.sendall(_frame(opcode, payload))


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    connection: int  # which connection carried it
    received_at: float  # time.monotonic()
    payload: dict[str, Any] | None


class FakeSocketMode:
    def __init__(self, *, answer_close: bool = True) -> None:
        # answer_close=False: a client's close frame is recorded but never answered, so the
        # client's side of the close stays pending (Slack's servers may be slow to answer one).
        self.answer_close = answer_close
        self._server = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Condition()
        self._conns: list[Connection] = []
        self._acks: dict[str, Ack] = {}
        self._ids = itertools.count(1)
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, name="fake-socket-mode", daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.getsockname()[1]}/link/?ticket=test"

    @property
    def connections(self) -> int:
        """How many connections have been opened (handshake done, ``hello`` sent)."""
        with self._lock:
            return len(self._conns)

    def stop(self) -> None:
        self._stopped.set()
        self._server.close()
        with self._lock:
            for conn in self._conns:
                _shut(conn.sock)

    # --------------------------------------------------------------- what the tests drive
    def wait_connection(self, number: int, timeout: float = 30.0) -> Connection:
        """The ``number``-th connection (1-based), once its ``hello`` has been sent."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._conns) >= number, timeout):
                raise TimeoutError(f"connection {number} never came (have {len(self._conns)})")
            return self._conns[number - 1]

    def send(self, kind: str, payload: dict[str, Any], *, connection: int | None = None) -> tuple[str, float]:
        """Deliver one envelope on the newest open connection (or the given one); returns its
        envelope id and the time it was sent."""
        envelope_id = f"env-{next(self._ids)}"
        conn = self._connection(connection)
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": ""}
        sent_at = time.monotonic()
        conn.send(0x1, json.dumps(envelope).encode())
        return envelope_id, sent_at

    def wait_ack(self, envelope_id: str, timeout: float = 30.0) -> Ack:
        with self._lock:
            if not self._lock.wait_for(lambda: envelope_id in self._acks, timeout):
                raise TimeoutError(f"no ack for {envelope_id} within {timeout} s")
            return self._acks[envelope_id]

    def wait_left(self, conn: Connection, timeout: float = 30.0) -> float:
        """When the client closed ``conn`` (its close frame or EOF arrived)."""
        with self._lock:
            if not self._lock.wait_for(lambda: conn.client_left_at is not None, timeout):
                raise TimeoutError(f"the client never left connection {conn.number}")
            assert conn.client_left_at is not None
            return conn.client_left_at

    def refresh(self) -> None:
        """What Slack sends before it retires a connection: the client is to open a new one."""
        self._connection(None).send(0x1, json.dumps({"type": "disconnect", "reason": "refresh_requested",
                                                     "debug_info": {"host": "fake"}}).encode())

    def close(self) -> None:
        """A close frame (1001, going away) on the newest connection."""
        conn = self._connection(None)
        conn.send(0x8, struct.pack("!H", 1001) + b"going away")

    def freeze(self) -> None:
        """The newest connection goes silent: open at the TCP level, but pings get no pong."""
        conn = self._connection(None)
        conn.frozen = True
        conn.open = False

    def drop(self) -> None:
        """The newest connection's TCP connection ends without a close frame."""
        conn = self._connection(None)
        conn.open = False
        _shut(conn.sock)

    # --------------------------------------------------------------- the server
    def _connection(self, number: int | None) -> Connection:
        with self._lock:
            if number is not None:
                return self._conns[number - 1]
            live = [c for c in self._conns if c.open]
            if not live:
                raise ConnectionError("no open Socket Mode connection")
            return live[-1]

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                request += chunk
            headers = dict(line.split(": ", 1) for line in request.decode().split("\r\n")[1:] if ": " in line)
            key = headers.get("Sec-WebSocket-Key", "").strip()
            accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
            sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
            with self._lock:
                conn = Connection(len(self._conns) + 1, sock, 0.0)
                conn.send(0x1, json.dumps({"type": "hello", "num_connections": len(self._conns) + 1,
                                           "debug_info": {"host": "fake"}}).encode())
                conn.hello_at = time.monotonic()
                self._conns.append(conn)
                self._lock.notify_all()
            try:
                while True:
                    opcode, payload = _read_frame(sock)
                    if conn.frozen:
                        continue
                    if opcode == 0x9:
                        conn.send(0xA, payload)
                    elif opcode == 0x1:
                        self._record(conn, payload)
                    elif opcode == 0x8:
                        self._left(conn)
                        if not self.answer_close:
                            continue  # read on: the client's EOF is recorded when it comes
                        conn.send(0x8, b"")
                        return
            except (ConnectionError, OSError):
                return
            finally:
                self._left(conn)
                conn.eof_at = time.monotonic()

    def _left(self, conn: Connection) -> None:
        with self._lock:
            conn.open = False
            if conn.client_left_at is None:
                conn.client_left_at = time.monotonic()
            self._lock.notify_all()

    def _record(self, conn: Connection, payload: bytes) -> None:
        arrived = time.monotonic()
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if not isinstance(message, dict) or "envelope_id" not in message:
            return
        with self._lock:
            self._acks.setdefault(message["envelope_id"],
                                  Ack(message["envelope_id"], conn.number, arrived, message.get("payload")))
            self._lock.notify_all()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
