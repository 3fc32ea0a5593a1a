"""Issue 19: a PostgreSQL server that stops answering (here: a proxy that goes silent mid-stream,
the kernel still acknowledging every byte, so no TCP timeout ever fires) costs the Segment and
ingest APIs and /healthz a bounded wait and a JSON 503, never a hung request; once it answers
again, so does the app. Every request below has a 30 s client timeout: a hang fails the test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from segment_helpers import Factory, Tracked
from sqlalchemy import Engine, make_url

from bot.config import Settings
from storage.db import make_engine, make_session_factory
from tests.fakes.harness import Harness
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tcp_proxy import SilentProxy

BATCH = (b'{"batch": [{"type": "track", "userId": "u1", "event": "x", "messageId": "m1",'
         b' "timestamp": "2026-11-20T10:00:00Z"}]}')


@pytest.fixture
def silent_harness(db_url: str, engine: Engine, tracked: Tracked, slack_settings: Settings,
                   fake_slack: FakeSlack) -> Iterator[tuple[Harness, SilentProxy]]:
    if not db_url.startswith("postgresql"):
        pytest.skip("a silent server is a PostgreSQL matter (SQLite is a file)")
    url = make_url(db_url)
    proxy = SilentProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    proxied = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
                          statement_timeout_s=1.0)
    h = Harness(slack_settings, make_session_factory(proxied), fake_slack)
    yield h, proxy
    proxy.resume()
    h.close()
    proxy.stop()
    proxied.dispose()


def _segment(h: Harness, tracked: Tracked) -> tuple[int, dict[str, object], dict[str, str]]:
    r = h.request("POST", "/v1/batch", BATCH, {"Content-Type": "application/json", **tracked.basic()}, timeout=30)
    return r.status, r.json(), r.headers


def test_a_silent_database_gives_a_bounded_503_then_recovers(
        silent_harness: tuple[Harness, SilentProxy], tracked: Tracked, session_factory: Factory) -> None:
    h, proxy = silent_harness
    assert _segment(h, tracked)[0] == 200  # through the proxy, connections now pooled
    assert h.request("GET", "/healthz", timeout=30).status == 200

    proxy.silence()
    started = time.monotonic()
    status, body, headers = _segment(h, tracked)  # a pooled connection, gone silent mid-request
    print(f"silent: segment 503 after {time.monotonic() - started:.1f} s")
    assert (status, body["success"], body["code"]) == (503, False, "unavailable")
    assert headers["Retry-After"]
    r = h.request("POST", "/api/v1/ingest", b'{"product": "acme", "events": []}',
                  {"Content-Type": "application/json", "Authorization": f"Bearer {tracked.write_key}"}, timeout=30)
    assert r.status == 503 and r.json()["ok"] is False and "Traceback" not in r.text
    health = h.request("GET", "/healthz", timeout=30)
    print(f"silent: ingest {r.elapsed:.1f} s, healthz {health.elapsed:.1f} s")
    assert (health.status, health.json()) == (503, {"ok": False, "error": "database unavailable"})

    proxy.resume()
    status, body, _ = _segment(h, tracked)
    assert status == 200 and body["duplicates"] == 1  # the first batch was stored; nothing half-written since
    assert h.request("GET", "/healthz", timeout=30).status == 200
