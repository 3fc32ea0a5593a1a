"""Socket Mode for ``pmfbot socket``: slack_sdk's Socket Mode protocol (envelopes, acks, the
``disconnect`` message) over the ``websockets`` library's threaded client, one reader thread per
connection.

Why not slack_sdk's built-in client: measured with ``bench/socket_mode.py``, it acked the first
command after Slack's routine ``refresh_requested`` in 3.1 s (its one receive thread sits in a
3 s ``recv`` on the retired connection, holding the lock the close needs, before it reads the
new one), took ~10 s to notice a close frame and ~60 s to notice a dropped TCP connection,
spinning on empty reads meanwhile. Here a new connection is read from the moment it opens, the
old one is closed in the background, and a connection that ends in any way (close frame, EOF,
keepalive ping unanswered) is replaced at once, with backoff while Slack cannot be reached
(``bot.slack.retry.RECONNECT_DELAYS``).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain, repeat
from queue import Queue
from time import time
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk import WebClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.interval_runner import IntervalRunner
from slack_sdk.socket_mode.request import SocketModeRequest
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from bot.slack import retry

log = logging.getLogger(__name__)

ACK_GRACE = 3.0  # Slack waits 3 s for an ack; an ack whose connection ended waits as long for the next


class SocketModeClient(BaseSocketModeClient):
    """Everything but the transport (issuing the URL, the message queue, ``disconnect`` handling,
    turning envelopes into requests, sending acks) is slack_sdk's ``BaseSocketModeClient``."""

    def __init__(self, app_token: str, web_client: WebClient, *, concurrency: int = 10,
                 ping_interval: float = 10.0, ping_timeout: float = 10.0, close_timeout: float = 2.0,
                 retry_delays: tuple[float, ...] | None = None) -> None:
        self.app_token = app_token
        self.logger = log
        self.web_client = web_client
        self.wss_uri: str | None = None  # type: ignore[assignment]
        self.message_queue: Queue[str] = Queue()
        self.message_listeners = []
        self.socket_mode_request_listeners = []
        self.closed = False
        self.connect_operation_lock = threading.Lock()
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self.retry_delays = retry.RECONNECT_DELAYS if retry_delays is None else retry_delays
        self._current: ClientConnection | None = None
        self._changed = threading.Condition()
        self._stopped = threading.Event()
        self.message_workers = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="socket-mode")
        self.message_processor = IntervalRunner(self.process_messages, 0.001).start()

    def is_connected(self) -> bool:
        conn = self._current
        return conn is not None and conn.state is State.OPEN

    def connect(self) -> None:
        """Open a new connection and start reading it; only then retire the previous one.
        Raises what opening it raised (Slack's refusal, an unreachable host, a failed handshake)."""
        url, self.wss_uri = self.wss_uri or self.issue_new_wss_url(), None  # each URL is used once
        opened: Future[ClientConnection | None] = Future()
        threading.Thread(target=self._run, args=(url, opened), name="socket-mode-reader", daemon=True).start()
        old = opened.result()  # the new connection is current now, and being read
        if old is not None:
            threading.Thread(target=old.close, name="socket-mode-retire", daemon=True).start()
        log.info("Socket Mode connection open%s", " (replacing the previous one)" if old is not None else "")

    def disconnect(self) -> None:
        conn = self._current
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self.closed = True
        self._stopped.set()
        self.disconnect()
        self.message_queue.put(None)  # type: ignore[arg-type]  # wakes the processor's get(); it skips None
        self.message_processor.shutdown()
        self.message_workers.shutdown(wait=False)

    def send_message(self, message: str) -> None:
        conn = self._current
        if conn is None:
            raise ConnectionError("Socket Mode is not connected")
        try:
            conn.send(message)
        except ConnectionClosed:
            # The connection ended between the envelope and its ack: send the ack on its
            # replacement (being opened right now), as long as Slack still waits for it.
            with self._changed:
                if not self._changed.wait_for(lambda: self._current is not conn or self.closed, ACK_GRACE):
                    raise
                current = self._current
            if current is None or current is conn:
                raise
            current.send(message)

    # --------------------------------------------------------------- the reader
    def _run(self, url: str, opened: Future[ClientConnection | None]) -> None:
        """One connection's life, on its own thread: open it, read it until it ends, and then,
        unless it was retired on purpose, replace it."""
        try:
            session = ws_connect(url, ssl=self.web_client.ssl if url.startswith("wss:") else None,
                                 open_timeout=10, ping_interval=self.ping_interval, ping_timeout=self.ping_timeout,
                                 close_timeout=self.close_timeout, max_size=2**24, compression=None,
                                 logger=_WEBSOCKETS_LOG)
        except BaseException as err:  # noqa: BLE001 - handed to connect(), which raises it
            opened.set_exception(err)
            return
        with session as conn:
            with self._changed:  # current before its first message is read: acks go out on it
                old, self._current = self._current, conn
                self._changed.notify_all()
            opened.set_result(old)
            try:
                for message in conn:
                    self.enqueue_message(message if isinstance(message, str) else message.decode())
            except ConnectionClosed:
                pass
        if self.closed or conn is not self._current:
            return
        log.info("Socket Mode connection ended (%s): reconnecting", _why(conn))
        self._replace(conn)

    def _replace(self, dead: ClientConnection) -> None:
        for delay in chain([0.0], self.retry_delays, repeat(self.retry_delays[-1])):
            if delay and self._stopped.wait(delay):
                return
            with self.connect_operation_lock:
                if self.closed or self._current is not dead:
                    return  # closed, or a refresh already replaced it
                try:
                    self.connect()
                    return
                except Exception as err:  # noqa: BLE001 - keep trying; the liveness check gives up
                    log.warning("Socket Mode reconnect failed (%s: %s): trying again", type(err).__name__, err)


class _QuietKeepalive(logging.Filter):
    """websockets logs a traceback at ERROR when a keepalive ping goes unanswered; the reader's
    one line ("connection ended (... keepalive ping timeout ...): reconnecting") says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (record.getMessage() == "keepalive ping failed" and isinstance(exc, ConnectionClosed))


_WEBSOCKETS_LOG = logging.getLogger("websockets.client")
_WEBSOCKETS_LOG.addFilter(_QuietKeepalive())


def _why(conn: ClientConnection) -> str:
    rcvd = conn.protocol.close_rcvd
    if rcvd is not None:
        return f"close frame {rcvd.code}{': ' + rcvd.reason if rcvd.reason else ''}"
    return "connection lost" if conn.protocol.close_exc is None else str(conn.protocol.close_exc)


class SocketModeHandler(BaseSocketModeHandler):
    """Bolt's Socket Mode adapter over :class:`SocketModeClient`: each envelope runs through the
    Bolt app and its ack goes back over the websocket."""

    def __init__(self, app: App, app_token: str, **client_options: Any) -> None:
        self.app = app
        self.client = SocketModeClient(app_token, app.client, **client_options)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        start = time()
        send_response(client, req, run_bolt_app(self.app, req), start)
