"""Issue 19: the ingest API and the Segment-compatible API answer every bad item with a 400 JSON
that names it, on SQLite and PostgreSQL alike, and nothing is written: nesting, lone surrogates
and NULs anywhere (keys too), non-standard JSON (NaN, Infinity, 1e400), times before 2000 or
more than a day in the future. A sender's retry can never fix these, so none is a 503."""

from __future__ import annotations

import json
from typing import Any

import pytest
from segment_helpers import Factory, Tracked, stored

from tests.fakes.harness import Harness, HttpResponse

JSON = {"Content-Type": "application/json"}
OK_TRACK = '{"type": "track", "userId": "u1", "event": "x", "messageId": "m1", "timestamp": "2026-11-20T10:00:00Z"}'


def _segment(harness: Harness, tracked: Tracked, raw: str | bytes, path: str = "/v1/batch") -> HttpResponse:
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return harness.request("POST", path, data, {**JSON, **tracked.basic()})


def _ingest(harness: Harness, tracked: Tracked, raw: str | bytes) -> HttpResponse:
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return harness.request("POST", "/api/v1/ingest", data, {**JSON, "Authorization": f"Bearer {tracked.write_key}"})


def _refused(r: HttpResponse) -> dict[str, Any]:
    assert r.status == 400, (r.status, r.text[:300])
    assert r.headers["Content-Type"].startswith("application/json")
    assert "Traceback" not in r.text
    return r.json()  # type: ignore[no-any-return]


def _batch(*items: str) -> str:
    return '{"batch": [' + ", ".join(items) + "]}"


def _track(**fields: str) -> str:
    """A valid track message as JSON text with some fields replaced by raw JSON text."""
    base = json.loads(OK_TRACK)
    text = json.dumps(base)[:-1]
    for key, raw in fields.items():
        text = text.replace(f'"{key}": {json.dumps(base[key])}', f'"{key}": {raw}') if key in base \
            else text + f', "{key}": {raw}'
    return text + "}"


SEGMENT_CASES: list[tuple[str, str, str, str]] = [
    # (case, body, path named in the reply, words in the message)
    ("150k nested [", "[" * 150_000, "", "nests deeper"),
    ("deep properties", _batch(_track(properties='{"a":' * 40 + "1" + "}" * 40)), "batch[0].properties", "nests deeper"),
    ("surrogate userId", _batch(_track(userId='"\\ud800x"')), "batch[0].userId", "lone surrogate"),
    ("surrogate campaign", _batch(_track(context='{"campaign": {"source": "g\\udfff"}}')),
     "batch[0].context.campaign.source", "lone surrogate"),
    ("NUL userId", _batch(_track(userId='"u\\u0000"')), "batch[0].userId", "NUL"),
    ("NUL messageId", _batch(_track(messageId='"m\\u0000"')), "batch[0].messageId", "NUL"),
    ("NUL campaign", _batch(_track(context='{"campaign": {"source": "go\\u0000ogle"}}')),
     "batch[0].context.campaign.source", "NUL"),
    ("NUL in a key", _batch(_track(properties='{"k\\u0000": 1}')), "batch[0].properties.k\\u0000", "NUL"),
    ("NaN userId", _batch(_track(userId="NaN")), "", "NaN"),
    ("Infinity", _batch(_track(properties='{"n": Infinity}')), "", "Infinity"),
    ("-Infinity", _batch(_track(properties='{"n": -Infinity}')), "", "Infinity"),
    ("1e400", _batch(_track(properties='{"n": 1e400}')), "", "too large"),
    ("year 2999", _batch(_track(timestamp='"2999-01-01T00:00:00Z"')), "batch[0].timestamp", "future"),
    ("year 1970", _batch(_track(timestamp='"1970-01-01T00:00:00Z"')), "batch[0].timestamp", "before 2000"),
    ("two days ahead", _batch(_track(timestamp='"2026-11-25T12:00:01Z"')), "batch[0].timestamp", "future"),
    ("created_at 1970", _batch('{"type": "identify", "userId": "u9", "traits": {"createdAt": 1000}}'),
     "batch[0].traits.createdAt", "before 2000"),
    ("created_at huge", _batch('{"type": "identify", "userId": "u9", "traits": {"createdAt": 1' + "0" * 400 + "}}"),
     "batch[0].traits.createdAt", "not a Unix time"),
    ("not UTF-8", '{"batch": []}'.replace("[]", '["\xff"]').encode("latin-1").decode("latin-1"), "", "UTF-8"),
]


@pytest.mark.parametrize(("case", "body", "path", "words"), SEGMENT_CASES, ids=[c[0] for c in SEGMENT_CASES])
def test_the_segment_api_refuses_a_bad_item_by_name(harness: Harness, tracked: Tracked, session_factory: Factory,
                                                    case: str, body: str, path: str, words: str) -> None:
    _segment(harness, tracked, _batch(OK_TRACK))  # something stored, so "unchanged" means something
    before = stored(session_factory)
    raw = body.encode("latin-1") if case == "not UTF-8" else body
    reply = _refused(_segment(harness, tracked, raw))
    assert reply["success"] is False and reply["code"] == "invalid_request"
    assert words.lower() in reply["message"].lower()
    if path:
        assert any(e["path"] == path or e["path"].startswith(path + ".") for e in reply["errors"]), reply
    assert stored(session_factory) == before


def test_the_single_call_endpoints_refuse_the_same(harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    for endpoint in ("/v1/track", "/v1/identify", "/v1/page", "/v1/screen"):
        reply = _refused(_segment(harness, tracked, '{"userId": "u\\u0000", "timestamp": "2026-11-20T10:00:00Z"}',
                                  endpoint))
        assert [e["path"] for e in reply["errors"]] == ["userId"]
    assert stored(session_factory)["users"] == 0


def test_a_timestamp_within_a_day_ahead_is_taken(harness: Harness, tracked: Tracked, session_factory: Factory) -> None:
    """The edge of the window: a client clock up to a day fast is someone's real clock."""
    r = _segment(harness, tracked, _batch(_track(timestamp='"2026-11-24T11:59:00Z"')))
    assert (r.status, r.json()["accepted"]) == (200, 1)


INGEST_CASES: list[tuple[str, str, str, str]] = [
    ("150k nested [", "[" * 150_000, "", "nests deeper"),
    ("NUL user", '{"product": "acme", "events": [{"user_id": "u\\u0000", "occurred_at": "2026-11-20"}]}',
     "events[0].user_id", "NUL"),
    ("NUL in a key", '{"product": "acme", "events": [{"user_id": "u", "occurred_at": "2026-11-20", "x\\u0000": 1}]}',
     "events[0].x\\u0000", "NUL"),
    ("surrogate event", '{"product": "acme", "events": [{"user_id": "u", "occurred_at": "2026-11-20", "event": "\\udc00"}]}',
     "events[0].event", "surrogate"),
    ("NaN user", '{"product": "acme", "events": [{"user_id": NaN, "occurred_at": "2026-11-20"}]}', "", "NaN"),
    ("year 2999", '{"product": "acme", "events": [{"user_id": "u", "occurred_at": "2999-01-01"}]}',
     "events[0].occurred_at", "future"),
    ("year 1999", '{"product": "acme", "signups": [{"user_id": "u", "signed_up_at": "1999-12-31T23:00:00Z"}]}',
     "signups[0].signed_up_at", "before 2000"),
    ("deep", '{"product": "acme", "events": ' + "[" * 50 + "]" * 50 + "}", "events", "nests deeper"),
]


@pytest.mark.parametrize(("case", "body", "path", "words"), INGEST_CASES, ids=[c[0] for c in INGEST_CASES])
def test_the_ingest_api_refuses_a_bad_item_by_name(harness: Harness, tracked: Tracked, session_factory: Factory,
                                                   case: str, body: str, path: str, words: str) -> None:
    before = stored(session_factory)
    reply = _refused(_ingest(harness, tracked, body))
    assert reply["ok"] is False
    assert any(words.lower() in e["message"].lower() for e in reply["errors"]), reply
    if path:
        assert any(e["path"].startswith(path) for e in reply["errors"]), reply
    assert stored(session_factory) == before
