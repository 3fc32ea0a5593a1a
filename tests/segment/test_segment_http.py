"""``POST /v1/*`` through the real WSGI app on loopback: auth, limits, gzip, all-or-nothing,
duplicates, anonymous calls, clock skew and week boundaries, as stored."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from segment_helpers import Factory, Tracked, active_weeks, set_timezone, stored, user_rows
from sqlalchemy import update

from bot.domain.weeks import week_of_date
from bot.ingest.segment import MAX_BATCH_BYTES
from bot.products.tokens import create_cli_token
from storage.models import IngestToken
from tests.fakes.harness import Harness, HttpResponse

W = week_of_date(date(2026, 11, 16))  # the week before the harness's NOW (Monday 23 Nov 2026, 12:00 UTC)
JSON = {"Content-Type": "application/json"}


def _post(harness: Harness, tracked: Tracked, body: Any, path: str = "/v1/batch", *,
          headers: dict[str, str] | None = None, raw: bytes | None = None) -> HttpResponse:
    data = raw if raw is not None else json.dumps(body).encode()
    return harness.request("POST", path, data, {**JSON, **tracked.basic(), **(headers or {})})


def _track(user: str | None, at: str, **extra: Any) -> dict[str, Any]:
    msg = {"type": "track", "event": "Report Viewed", "timestamp": at, **extra}
    if user is not None:
        msg["userId"] = user
    return msg


def test_a_batch_is_taken_and_counted(harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    body = {"batch": [
        {"type": "identify", "userId": "u1", "messageId": "m1", "timestamp": "2026-11-17T09:00:00Z",
         "traits": {"createdAt": "2026-11-10T08:00:00Z"}, "context": {"campaign": {"source": "google", "medium": "cpc"}}},
        _track("u1", "2026-11-17T09:01:00Z", messageId="m2"),
        {"type": "page", "userId": "u2", "messageId": "m3", "timestamp": "2026-11-18T10:00:00Z", "name": "Home"},
        {"type": "screen", "userId": "u2", "messageId": "m4", "timestamp": "2026-11-19T10:00:00Z", "name": "Feed"},
        _track(None, "2026-11-18T10:00:00Z", anonymousId="anon-1", messageId="m5"),
    ]}
    r = _post(harness, tracked, body)
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"success": True, "received": 5, "accepted": 4, "duplicates": 0, "anonymous": 1, "ignored": 0,
                        "new_signups": 2, "changed_signups": 0, "new_user_weeks": 3}
    users = user_rows(session_factory)
    assert set(users) == {"u1", "u2"}  # the anonymous call left no trace
    assert (users["u1"]["signup_week"], users["u1"]["channel"], users["u1"]["channel_class"]) == (W - 1, "google / cpc", "paid")
    assert users["u2"]["signed_up_at"] == datetime(2026, 11, 18, 10, tzinfo=UTC)  # its first call
    assert active_weeks(session_factory) == {("u1", W - 1), ("u1", W), ("u2", W)}

    # The client's retry of the same batch: every messageId is reported as a duplicate, nothing changes.
    before = stored(session_factory)
    again = _post(harness, tracked, body).json()
    assert (again["accepted"], again["duplicates"], again["anonymous"], again["new_user_weeks"]) == (0, 4, 1, 0)
    assert stored(session_factory) == before


def test_single_call_endpoints(harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    for path, msg in (("/v1/identify", {"userId": "u1", "traits": {"created_at": "2026-11-16T00:00:00Z"}}),
                      ("/v1/track", {"userId": "u1", "event": "x", "timestamp": "2026-11-17T00:00:00Z"}),
                      ("/v1/page", {"userId": "u2", "name": "p", "timestamp": "2026-11-17T00:00:00Z"}),
                      ("/v1/screen", {"userId": "u3", "name": "s", "timestamp": "2026-11-17T00:00:00Z"})):
        r = _post(harness, tracked, msg, path)
        assert (r.status, r.json()["success"], r.json()["accepted"]) == (200, True, 1), path
    assert active_weeks(session_factory) == {("u1", W), ("u2", W), ("u3", W)}
    assert harness.request("GET", "/v1/track").status == 405


@pytest.mark.parametrize("case", ["no key", "unknown key", "password only", "revoked", "workspace-wide", "bearer"])
def test_a_bad_write_key_is_refused_with_401_and_nothing_is_written(
        harness: Harness, tracked: Tracked, session_factory: Factory, case: str) -> None:
    headers = {"Authorization": ""}
    if case == "unknown key":
        headers = tracked.basic("pmfgate_not-a-key")
    elif case == "password only":
        headers = {"Authorization": "Basic " + __import__("base64").b64encode(f":{tracked.write_key}".encode()).decode()}
    elif case == "revoked":
        with session_factory() as s:
            s.execute(update(IngestToken).values(revoked_at=datetime.now(UTC)))
            s.commit()
        headers = tracked.basic()
    elif case == "workspace-wide":
        wide, _ = create_cli_token(session_factory, team_id=None, product_slug=None)
        headers = tracked.basic(wide)
    elif case == "bearer":
        headers = {"Authorization": f"Bearer {tracked.write_key}"}
    r = _post(harness, tracked, {"batch": [_track("u1", "2026-11-17T09:00:00Z")]}, headers=headers)
    assert r.status == 401 and r.json()["success"] is False
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    if case == "workspace-wide":
        assert "product-scoped write key" in r.json()["message"]
    assert stored(session_factory) == {"users": 0, "weeks": 0, "messages": 0}


def test_the_write_key_may_come_in_the_body_as_segment_libraries_also_send_it(
        harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    body = {"writeKey": tracked.write_key, "batch": [_track("u1", "2026-11-17T09:00:00Z")]}
    r = harness.request("POST", "/v1/batch", json.dumps(body).encode(), JSON)
    assert r.status == 200 and r.json()["accepted"] == 1


def test_a_batch_over_500_kb_is_refused_with_413_and_never_kept(
        harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    msgs = [_track(f"u{i}", "2026-11-17T09:00:00Z", properties={"pad": "x" * 2000}) for i in range(260)]
    data = json.dumps({"batch": msgs}).encode()
    assert len(data) > MAX_BATCH_BYTES
    r = _post(harness, tracked, None, raw=data)
    assert r.status == 413 and r.json()["code"] == "too_large"
    assert stored(session_factory)["users"] == 0
    # Just under the limit is fine.
    ok = json.dumps({"batch": msgs[:200]}).encode()
    assert len(ok) < MAX_BATCH_BYTES and _post(harness, tracked, None, raw=ok).status == 200


def test_gzip_bodies_are_inflated_and_bounded(harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    body = {"batch": [_track(f"u{i}", "2026-11-17T09:00:00Z", messageId=f"g{i}") for i in range(50)]}
    r = _post(harness, tracked, None, raw=gzip.compress(json.dumps(body).encode()),
              headers={"Content-Encoding": "gzip"})
    assert r.status == 200 and r.json()["accepted"] == 50
    # A small body that inflates past the limit (a "zip bomb") is refused without inflating it all.
    bomb = gzip.compress(b'{"batch": [' + b" " * (5 * MAX_BATCH_BYTES) + b"]}")
    assert len(bomb) < 10_000
    r = _post(harness, tracked, None, raw=bomb, headers={"Content-Encoding": "gzip"})
    assert r.status == 413 and "decompressed" in r.json()["message"]
    r = _post(harness, tracked, None, raw=b"not gzip", headers={"Content-Encoding": "gzip"})
    assert r.status == 400 and r.json()["success"] is False
    assert _post(harness, tracked, None, raw=b"{}", headers={"Content-Encoding": "br"}).status == 415
    assert stored(session_factory)["users"] == 50


def test_a_malformed_batch_is_refused_whole_with_every_error(
        harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    body = {"batch": [_track("fine", "2026-11-17T09:00:00Z", messageId="ok1"),
                      _track("u2", "last Tuesday"),
                      {"type": "track", "event": "no user"},
                      {"type": "identify", "userId": "u3", "traits": {"created_at": "once upon a time"}}]}
    r = _post(harness, tracked, body)
    assert r.status == 400
    reply = r.json()
    assert reply["success"] is False and reply["error_count"] == 3
    assert [e["path"] for e in reply["errors"]] == ["batch[1].timestamp", "batch[2]", "batch[3].traits.created_at"]
    assert stored(session_factory) == {"users": 0, "weeks": 0, "messages": 0}
    for raw in (b"{not json", b'"text"', b'{"batch": 3}', b'[{"type": "track"}]'):
        r = _post(harness, tracked, None, raw=raw)
        assert r.status == 400 and r.headers["Content-Type"].startswith("application/json"), raw
    assert stored(session_factory) == {"users": 0, "weeks": 0, "messages": 0}


def test_clock_skew_is_corrected_with_the_servers_receipt_time(
        harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    # The server receives this at NOW, Monday 23 Nov 12:00 UTC. The device's clock is 3 days
    # slow: it stamped the event Thursday 19 Nov 11:00 and sent it Thursday 19 Nov 11:30. So
    # the event happened 30 minutes before receipt, Monday 11:30, in week W + 1, not in week W
    # where the device's clock put it.
    body = {"sentAt": "2026-11-19T11:30:00Z", "batch": [
        {"type": "track", "userId": "skewed", "event": "x", "originalTimestamp": "2026-11-19T11:00:00Z"},
        {"type": "identify", "userId": "skewed", "originalTimestamp": "2026-11-19T10:59:00Z"},
    ]}
    assert _post(harness, tracked, body).status == 200
    assert user_rows(session_factory)["skewed"]["signed_up_at"] == datetime(2026, 11, 23, 11, 29, tzinfo=UTC)
    assert active_weeks(session_factory) == {("skewed", W + 1)}


@pytest.mark.parametrize(("tz", "sunday", "monday"), [
    ("UTC", "2026-11-15T23:59:59Z", "2026-11-16T00:00:00Z"),
    ("America/Los_Angeles", "2026-11-16T07:59:59Z", "2026-11-16T08:00:00Z"),  # PST: UTC-8
])
def test_sunday_night_and_monday_morning_are_different_weeks(
        harness: Harness, tracked: Tracked, session_factory: Factory, tz: str, sunday: str, monday: str) -> None:
    set_timezone(session_factory, "acme", tz)
    body = {"batch": [_track("sun", sunday), _track("mon", monday)]}
    assert _post(harness, tracked, body).status == 200
    assert active_weeks(session_factory) == {("sun", W - 1), ("mon", W)}
    users = user_rows(session_factory)
    assert (users["sun"]["cohort_week"], users["mon"]["cohort_week"]) == (W - 1, W)


def test_a_single_call_over_32_kb_is_refused_with_413(harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    big = {"userId": "u1", "event": "x", "timestamp": "2026-11-17T00:00:00Z", "properties": {"pad": "x" * 33_000}}
    r = _post(harness, tracked, big, "/v1/track")
    assert r.status == 413 and r.json()["success"] is False
    assert stored(session_factory)["users"] == 0


def test_alias_and_group_calls_are_taken_and_ignored(harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    r = _post(harness, tracked, {"userId": "u1", "groupId": "g1"}, "/v1/group")
    assert r.status == 200 and (r.json()["ignored"], r.json()["accepted"]) == (1, 0)
    assert stored(session_factory)["users"] == 0


def test_a_product_scoped_key_writes_only_its_product_through_the_json_ingest_api(
        harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    from bot.products import service as product_service

    product_service.create_product(session_factory, slug="other")
    headers = {**JSON, "Authorization": f"Bearer {tracked.write_key}"}
    event = {"events": [{"user_id": "u1", "occurred_at": "2026-11-17T09:00:00Z"}]}
    r = harness.request("POST", "/api/v1/ingest", json.dumps({"product": "other", **event}).encode(), headers)
    assert r.status == 400 and r.json()["errors"] == [{"path": "product", "message": "this token is scoped to another product"}]
    assert stored(session_factory)["users"] == 0
    r = harness.request("POST", "/api/v1/ingest", json.dumps({"product": "acme", **event}).encode(), headers)
    assert r.status == 200 and stored(session_factory)["users"] == 1


def test_a_large_batch_with_a_bad_key_gets_its_401(harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    msgs = [_track(f"u{i}", "2026-11-17T09:00:00Z", properties={"pad": "x" * 2000}) for i in range(200)]
    r = _post(harness, tracked, {"batch": msgs}, headers=tracked.basic("pmfgate_wrong"))
    assert r.status == 401 and stored(session_factory)["users"] == 0


def test_an_identify_email_is_kept_only_as_its_keyed_hash(harness: Harness, tracked: Tracked,
                                                          session_factory: Factory) -> None:
    from sqlalchemy import select

    from bot.domain.matching import email_hash
    from storage.models import ProductUser
    from tests.fakes.harness import SECRET_KEY

    body = {"batch": [
        {"type": "identify", "userId": "u1", "timestamp": "2026-11-17T09:00:00Z", "traits": {"email": "Ann@Example.com"}},
        {"type": "identify", "userId": "u2", "timestamp": "2026-11-17T09:00:00Z",
         "context": {"traits": {"email": "bo@example.com"}}},  # RudderStack's place for traits
        _track("u3", "2026-11-17T09:01:00Z"),
    ]}
    assert _post(harness, tracked, body).status == 200
    with session_factory() as s:
        rows = dict(s.execute(select(ProductUser.external_id, ProductUser.email_hash)).all())
        pid = s.scalars(select(ProductUser.product_id)).first()
    assert pid is not None
    assert rows == {"u1": email_hash(SECRET_KEY, pid, "ann@example.com"),
                    "u2": email_hash(SECRET_KEY, pid, "bo@example.com"), "u3": None}
