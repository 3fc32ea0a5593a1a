"""Faulty networks for the SQL source tests: a server that accepts TCP connections and never says a
word, and a proxy to a real server that goes silent once it has forwarded a given query."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections, reads what it is sent, and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def run() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = server.accept()
                held.append(conn)  # kept open and unanswered until the test ends

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


class SilencingProxy:
    """Forwards 127.0.0.1:``port`` to ``target`` both ways until a client packet containing
    ``trigger`` has been forwarded; from then on it forwards nothing in either direction and keeps
    the connections open: the server's answer never arrives, as on a network gone silent."""

    def __init__(self, target: tuple[str, int], trigger: bytes) -> None:
        self.target, self.trigger = target, trigger
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.silenced = threading.Event()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> SilencingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()
        self.server.close()

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peer = {client: upstream, upstream: client}
        while not self._stop.is_set():
            if self.silenced.is_set():
                self._stop.wait(0.2)  # the data stays unread: nothing more crosses
                continue
            ready, _, _ = select.select([client, upstream], [], [], 0.2)
            for s in ready:
                try:
                    data = s.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                peer[s].sendall(data)
                if s is client and self.trigger in data:
                    self.silenced.set()
