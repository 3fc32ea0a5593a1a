"""Socket Mode's transport (``bot/slack/socket_mode.py``) against a real websocket endpoint on
loopback (``tests/fakes/socket_mode.py``) and the fake Slack Web API handing out its URL: envelopes
are acked on the connection they came on, and every way a connection ends — Slack's routine
``refresh_requested``, a close frame, a dropped TCP connection, a silent one — is followed by a
new connection that is read at once. The real Bolt app answers a slash command through it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.app import build_app
from bot.slack.socket_mode import SocketModeClient, SocketModeHandler
from tests.fakes.harness import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

APP_TOKEN = "xapp-1-test"


def _acking(client: BaseSocketModeClient, req: SocketModeRequest) -> None:
    client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id, payload={"seen": req.type}))


def _client(fake: FakeSlack, **options: Any) -> SocketModeClient:
    client = SocketModeClient(APP_TOKEN, WebClient(base_url=fake.api_url), **options)
    client.socket_mode_request_listeners.append(_acking)  # type: ignore[arg-type]
    return client


@pytest.fixture
def endpoint(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    socket_mode = FakeSocketMode()
    fake_slack.socket_mode_url = socket_mode.url
    yield socket_mode
    socket_mode.stop()


@pytest.fixture
def client(fake_slack: FakeSlack, endpoint: FakeSocketMode) -> Iterator[SocketModeClient]:
    c = _client(fake_slack, ping_interval=0.5, ping_timeout=0.5, close_timeout=0.5, retry_delays=(0.05,))
    c.connect()
    endpoint.wait_connection(1)
    yield c
    c.close()


def _ack_on(endpoint: FakeSocketMode, connection: int) -> None:
    envelope_id, _ = endpoint.send("slash_commands", {"command": "/pmf-check", "text": ""}, connection=connection)
    ack = endpoint.wait_ack(envelope_id, timeout=15)
    assert ack.connection == connection and ack.payload == {"seen": "slash_commands"}


def test_an_envelope_is_acked_on_its_connection(client: SocketModeClient, endpoint: FakeSocketMode) -> None:
    assert client.is_connected()
    _ack_on(endpoint, 1)
    _ack_on(endpoint, 1)
    assert endpoint.connections == 1


def test_after_a_refresh_the_new_connection_is_read_before_the_old_one_has_closed(
        fake_slack: FakeSlack) -> None:
    # The regression: slack_sdk's built-in client read nothing on the new connection until its
    # receive thread had given up on the old one (a 3 s recv) and closed its socket: the first
    # ack after Slack's routine refresh came after the old TCP connection had ended. Here the
    # endpoint never answers the client's close frame, so the old TCP connection stays open
    # until the client's close timeout (10 s); the ack must not wait for it.
    endpoint = FakeSocketMode(answer_close=False)
    fake_slack.socket_mode_url = endpoint.url
    client = _client(fake_slack, close_timeout=10.0)
    try:
        client.connect()
        first = endpoint.wait_connection(1)
        endpoint.refresh()
        endpoint.wait_connection(2)
        envelope_id, _ = endpoint.send("slash_commands", {"command": "/pmf-check", "text": ""}, connection=2)
        ack = endpoint.wait_ack(envelope_id, timeout=15)
        assert ack.connection == 2
        assert first.eof_at is None or ack.received_at < first.eof_at
        assert len(fake_slack.calls_to("apps.connections.open")) == 2  # a new URL for each connection
    finally:
        endpoint.stop()  # first: it answers no close frame, so the client's close would wait 10 s
        client.close()


@pytest.mark.parametrize("how", ["refresh", "close", "drop", "freeze"])
def test_every_way_a_connection_ends_is_followed_by_a_new_one(how: str, client: SocketModeClient,
                                                              endpoint: FakeSocketMode,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    _ack_on(endpoint, 1)
    getattr(endpoint, how)()
    endpoint.wait_connection(2, timeout=15)
    _ack_on(endpoint, 2)
    assert client.is_connected()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a routine event, not an error


def test_while_slack_cannot_hand_out_a_url_it_keeps_trying(fake_slack: FakeSlack, client: SocketModeClient,
                                                           endpoint: FakeSocketMode,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    fake_slack.fail("apps.connections.open", times=2, status=500)
    endpoint.drop()
    endpoint.wait_connection(2, timeout=15)
    _ack_on(endpoint, 2)
    failed = [r for r in caplog.records if r.getMessage().startswith("Socket Mode reconnect failed")]
    assert len(failed) == 2 and all(r.levelname == "WARNING" for r in failed)


def test_an_ack_after_its_connection_was_replaced_goes_on_the_new_one(fake_slack: FakeSlack,
                                                                      endpoint: FakeSocketMode) -> None:
    replaced = threading.Event()

    def slow_ack(c: BaseSocketModeClient, req: SocketModeRequest) -> None:
        endpoint.drop()  # the connection ends while the listener is still working
        endpoint.wait_connection(2, timeout=15)
        replaced.set()
        c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    client = SocketModeClient(APP_TOKEN, WebClient(base_url=fake_slack.api_url), retry_delays=(0.05,))
    client.socket_mode_request_listeners.append(slow_ack)  # type: ignore[arg-type]
    try:
        client.connect()
        endpoint.wait_connection(1)
        envelope_id, _ = endpoint.send("slash_commands", {"command": "/pmf-check"}, connection=1)
        ack = endpoint.wait_ack(envelope_id, timeout=15)
        assert replaced.is_set() and ack.connection == 2
    finally:
        client.close()


def test_closing_the_client_does_not_reconnect(fake_slack: FakeSlack, client: SocketModeClient,
                                                endpoint: FakeSocketMode) -> None:
    client.close()
    conn = endpoint.wait_connection(1)
    endpoint.wait_left(conn, timeout=15)  # the client's close frame arrived
    for reader in [t for t in threading.enumerate() if t.name == "socket-mode-reader"]:
        reader.join(15)  # each reader has seen its connection end and decided what to do
    assert not client.is_connected()
    assert endpoint.connections == 1 and len(fake_slack.calls_to("apps.connections.open")) == 1


def test_the_bolt_app_answers_a_slash_command_over_socket_mode(db_url: str, fake_slack: FakeSlack,
                                                               endpoint: FakeSocketMode,
                                                               session_factory) -> None:  # type: ignore[no-untyped-def]
    settings = replace(make_settings(db_url, fake_slack), slack_signing_secret=None, slack_app_token=APP_TOKEN)
    app, ctx = build_app(settings, session_factory, socket_mode=True, listener_threads=1)
    handler = SocketModeHandler(app, APP_TOKEN, retry_delays=(0.05,))
    try:
        handler.connect()
        endpoint.wait_connection(1)
        endpoint.refresh()
        endpoint.wait_connection(2)
        payload = {"command": "/pmf-check", "text": "help", "user_id": "U1", "channel_id": "C1", "team_id": "T1",
                   "team_domain": "t", "channel_name": "general", "api_app_id": "A1", "trigger_id": "1",
                   "response_url": fake_slack.response_url("sock-help")}
        envelope_id, _ = endpoint.send("slash_commands", payload, connection=2)
        ack = endpoint.wait_ack(envelope_id, timeout=15)
        assert ack.connection == 2
        assert ack.payload is not None and "/pmf-check help" in ack.payload["text"]  # the ack answers at once
        help_text = str(fake_slack.wait_response("sock-help", timeout=15)[0].params)
        assert "/pmf-check share" in help_text and "/pmf-check survey start" in help_text
    finally:
        handler.close()
        ctx.work.drain()
