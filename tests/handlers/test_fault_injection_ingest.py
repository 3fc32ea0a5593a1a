"""Fault injection on the ingest API (issue 10), through the real WSGI app: it answers JSON
always (400 with per-item errors, 413, 503 with ``Retry-After``), reads a chunked upload within
its limit, and ten parallel ingests of overlapping users all succeed with every user and
user-week stored once. Marked ``db``: runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.products.tokens import create_ingest_token
from bot.web import MAX_BODY_BYTES
from storage.models import ActivityWeek, ProductUser
from tests.fakes.harness import Harness, HttpResponse


@pytest.fixture
def token(harness: Harness, seed_product: Any) -> str:
    seed_product("T1", "acme", data=False)
    return create_ingest_token(harness.ctx.factory, team_id="T1", user_id="U1", single_workspace=True)


def _ingest(h: Harness, token: str, raw: bytes) -> HttpResponse:
    return h.request("POST", "/api/v1/ingest", raw, {"Content-Type": "application/json",
                                                     "Authorization": f"Bearer {token}"})


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as s:
        users = int(s.scalar(select(func.count()).select_from(ProductUser)) or 0)
        distinct = int(s.scalar(select(func.count(func.distinct(ProductUser.external_id)))) or 0)
        weeks = int(s.scalar(select(func.count()).select_from(ActivityWeek)) or 0)
    return users, distinct, weeks


# ----------------------------------------------------------------------------- 400, JSON always
@pytest.mark.parametrize("raw, where", [
    (json.dumps({"product": "acme", "events": [{"user_id": "u\x001", "occurred_at": "2026-11-10"}]}).encode(),
     "events[0].user_id"),
    (b'{"product": "acme", "events": [{"user_id": "u\\ud8001", "occurred_at": "2026-11-10"}]}', "events[0].user_id"),
    (b'{"product": "ac\\u0000me", "events": []}', "product"),
    (b"[" * 100_000 + b"]" * 100_000, ""),
    (b"[]", ""), (b"42", ""), (b'"text"', ""), (b"null", ""),
    (b"\xff\xfe not utf-8", ""),
], ids=["nul", "lone-surrogate", "nul-in-product", "100k-deep", "list", "number", "string", "null", "not-utf8"])
def test_ingest_of_an_unusable_body_is_a_json_400_with_per_item_errors(harness: Harness, token: str, raw: bytes,
                                                                       where: str,
                                                                       session_factory: sessionmaker[Session]) -> None:
    r = _ingest(harness, token, raw)
    assert r.status == 400 and r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["ok"] is False and any(e["path"] == where for e in body["errors"])
    assert _counts(session_factory) == (0, 0, 0)


# ----------------------------------------------------------------------------- chunked uploads
class _Chunked(io.RawIOBase):
    """A de-chunked request body as gunicorn hands it over: no Content-Length, read until empty."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.read_total = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(min(size if size is not None and size >= 0 else 65536, 65536))
        self.read_total += len(chunk)
        return chunk


def _call(h: Harness, token: str, stream: _Chunked) -> tuple[str, dict[str, str], Any]:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/ingest", "CONTENT_TYPE": "application/json",
               "HTTP_AUTHORIZATION": f"Bearer {token}", "wsgi.input": stream, "wsgi.input_terminated": True}
    seen: list[Any] = []
    body = b"".join(h.web(environ, lambda status, headers, *a: seen.append((status, dict(headers)))))
    return seen[0][0], seen[0][1], json.loads(body)


def test_a_chunked_ingest_within_the_limit_is_read_and_written(harness: Harness, token: str,
                                                                session_factory: sessionmaker[Session]) -> None:
    payload = {"product": "acme", "events": [{"user_id": f"u{i}", "occurred_at": "2026-11-10"} for i in range(50)]}
    status, _, body = _call(harness, token, _Chunked(json.dumps(payload).encode()))
    assert status == "200 OK" and body["events"]["received"] == 50
    assert _counts(session_factory) == (50, 50, 50)


def test_a_chunked_ingest_over_the_limit_is_413_after_reading_at_most_the_limit(harness: Harness, token: str) -> None:
    stream = _Chunked(b" " * (MAX_BODY_BYTES + 10_000))
    status, _, body = _call(harness, token, stream)
    assert status.startswith("413") and body["ok"] is False
    assert stream.read_total <= MAX_BODY_BYTES + 1


# ----------------------------------------------------------------------------- 503
@pytest.fixture
def dead_database(harness: Harness, tmp_path: Any) -> Iterator[None]:
    from storage.db import make_engine, make_session_factory

    alive = harness.ctx.factory
    harness.ctx.factory = make_session_factory(make_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite"))
    yield
    harness.ctx.factory = alive


def test_ingest_while_the_database_is_down_is_a_json_503_with_retry_after(harness: Harness, token: str,
                                                                           dead_database: None) -> None:
    r = _ingest(harness, token, json.dumps({"product": "acme", "events": []}).encode())
    assert r.status == 503 and r.headers["Content-Type"].startswith("application/json")
    assert int(r.headers["Retry-After"]) > 0 and r.json()["ok"] is False


# ----------------------------------------------------------------------------- parallel ingests
@pytest.mark.parametrize("known", [False, True], ids=["new-users", "known-users"])
def test_ten_parallel_ingests_of_overlapping_users_all_succeed_and_store_each_once(
        harness: Harness, token: str, session_factory: sessionmaker[Session], known: bool) -> None:
    users = [f"user{i:04d}" for i in range(1200)]
    if known:  # users first seen from events: the signups below then update rows that exist
        first = {"product": "acme", "events": [{"user_id": u, "occurred_at": "2026-11-10"} for u in users]}
        assert _ingest(harness, token, json.dumps(first).encode()).status == 200

    def payload(n: int) -> bytes:
        # Each request overlaps its neighbours, in its own order.
        mine = users[n * 100: n * 100 + 400]
        random.Random(n).shuffle(mine)
        return json.dumps({
            "product": "acme",
            "signups": [{"user_id": u, "signed_up_at": "2026-11-02", "channel": "referral"} for u in mine],
            "events": [{"user_id": u, "occurred_at": day} for u in mine for day in ("2026-11-03", "2026-11-10")],
        }).encode()

    bodies = [payload(n) for n in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda body: _ingest(harness, token, body), bodies))
    assert [r.status for r in results] == [200] * 10, [r.text[:200] for r in results if r.status != 200]
    assert all(r.headers["Content-Type"].startswith("application/json") for r in results)
    # Every user is in some request. Each user once; each user-week once (the signup week, which
    # the first event shares, and the week after).
    assert _counts(session_factory) == (len(users), len(users), len(users) * 2)


def test_the_tracking_api_while_the_database_is_down_is_a_json_503(harness: Harness, token: str,
                                                                   dead_database: None) -> None:
    import base64

    auth = base64.b64encode(f"{token}:".encode()).decode()
    r = harness.request("POST", "/v1/track", json.dumps({"userId": "u1", "event": "open"}).encode(),
                        {"Content-Type": "application/json", "Authorization": f"Basic {auth}"})
    assert r.status == 503 and r.json()["success"] is False and int(r.headers["Retry-After"]) > 0
