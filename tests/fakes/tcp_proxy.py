"""A TCP proxy that can go silent: it forwards bytes both ways until ``silence()``, then keeps
every connection open (the kernel still acknowledges what is sent) and forwards nothing, like a
frozen server or a stuck middlebox. New connections are accepted and never answered. Used to
show that a database that stops answering costs a bounded wait, not a hung request."""

from __future__ import annotations

import select
import socket
import threading
from typing import Any


class SilentProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._silent = threading.Event()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="silent-proxy", daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def start(self) -> SilentProxy:
        self._thread.start()
        return self

    def silence(self) -> None:
        self._silent.set()

    def resume(self) -> None:
        self._silent.clear()

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        for s in list(self._sockets):
            try:
                s.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        while self._silent.is_set() and not self._stop.is_set():
            self._stop.wait(0.05)  # accepted, never answered
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        self._sockets.append(server)
        pair: dict[Any, socket.socket] = {client: server, server: client}
        try:
            while not self._stop.is_set():
                if self._silent.is_set():
                    self._stop.wait(0.05)
                    continue
                ready, _, _ = select.select(list(pair), [], [], 0.05)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    pair[s].sendall(data)
        except OSError:
            return
        finally:
            for s in pair:
                try:
                    s.close()
                except OSError:
                    pass
