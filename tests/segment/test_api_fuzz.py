"""Issue 19: the ingest and Segment-compatible APIs fuzzed over HTTP (hypothesis, derandomized so
every run sends the same bodies): random nesting, unicode with NULs and lone surrogates, every
JSON type in every field, NaN/Infinity, truncated and over-nested text. Every answer is a 200 or a
4xx in JSON, never a 5xx or a traceback, and after a 4xx nothing was written."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from segment_helpers import Factory, Tracked, stored

from tests.fakes.harness import Harness, HttpResponse

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# Text with what databases refuse mixed in: NUL, lone surrogates, other controls, astral characters.
nasty = st.sampled_from(["\x00", "\ud800", "\udfff", "\x1b", "\n", "\u2028", "😀", "é", "\\"])
text = st.lists(st.one_of(st.characters(), nasty), max_size=12).map("".join)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True), text)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(text, inner, max_size=4)), max_leaves=20)
times = st.one_of(
    st.datetimes().map(lambda d: d.isoformat() + "Z"),  # years 1 to 9999
    st.sampled_from(["2026-11-20T10:00:00Z", "2026-11-20", "1970-01-01T00:00:00Z", "2999-01-01T00:00:00Z",
                     "2026-11-24T11:00:00+00:00", "not a time", ""]),
    values,
)
ids = st.one_of(st.sampled_from(["u1", "u2", "u3"]), text, values)


@st.composite
def segment_message(draw: st.DrawFn) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": draw(st.one_of(st.sampled_from(["track", "identify", "page", "screen", "alias",
                                                                    "group"]), values))}
    for key, strategy in (("userId", ids), ("anonymousId", ids), ("messageId", ids), ("timestamp", times),
                          ("originalTimestamp", times), ("sentAt", times), ("event", values),
                          ("properties", values), ("traits", st.one_of(st.fixed_dictionaries(
                              {"createdAt": st.one_of(times, st.integers(), st.floats())}), values)),
                          ("context", st.one_of(st.fixed_dictionaries({"campaign": st.fixed_dictionaries(
                              {"source": values, "medium": values})}), values))):
        if draw(st.booleans()):
            msg[key] = draw(strategy)
    return msg


def _encode(draw: st.DrawFn, body: Any) -> bytes:
    """JSON text of ``body`` (ASCII: lone surrogates go as \\udXXX escapes, NaN as NaN), sometimes
    mangled: truncated, wrapped in deep nesting, or with a raw NUL or invalid UTF-8 byte."""
    raw = json.dumps(body, allow_nan=True).encode()
    how = draw(st.sampled_from(["as is"] * 6 + ["truncate", "nest", "nul byte", "bad utf-8", "deep array"]))
    if how == "truncate" and raw:
        raw = raw[:draw(st.integers(0, len(raw) - 1))]
    elif how == "nest":
        depth = draw(st.integers(1, 3000))
        raw = b'{"batch": ' + b"[" * depth + raw + b"]" * depth + b"}"
    elif how == "nul byte":
        raw = raw[:len(raw) // 2] + b"\x00" + raw[len(raw) // 2:]
    elif how == "bad utf-8":
        raw = raw.replace(b'"', b'"\xff', 1)
    elif how == "deep array":
        raw = b"[" * draw(st.integers(100, 200_000))
    return raw


@st.composite
def segment_request(draw: st.DrawFn) -> tuple[str, bytes]:
    path = draw(st.sampled_from(["/v1/batch", "/v1/batch", "/v1/track", "/v1/identify", "/v1/page"]))
    if path == "/v1/batch":
        body: Any = {"batch": draw(st.lists(segment_message(), max_size=5))}
        if draw(st.booleans()):
            body["sentAt"] = draw(times)
        body = draw(st.one_of(st.just(body), st.just(body["batch"]), values))
    else:
        body = draw(st.one_of(segment_message(), values))
    return path, _encode(draw, body)


@st.composite
def ingest_request(draw: st.DrawFn) -> bytes:
    event = st.fixed_dictionaries({}, optional={"user_id": ids, "occurred_at": times, "event": values, "x": values})
    signup = st.fixed_dictionaries({}, optional={"user_id": ids, "signed_up_at": times, "channel": values,
                                                 "utm_source": values, "utm_medium": values})
    body: Any = {"product": draw(st.one_of(st.just("acme"), values))}
    for key, items in (("events", event), ("signups", signup)):
        if draw(st.booleans()):
            body[key] = draw(st.one_of(st.lists(items, max_size=5), values))
    return _encode(draw, draw(st.one_of(st.just(body), values)))


def _check(r: HttpResponse, before: dict[str, Any], factory: Factory) -> None:
    assert r.status == 200 or 400 <= r.status < 500, (r.status, r.text[:500])
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    assert isinstance(r.json(), dict) and "Traceback" not in r.text
    if r.status != 200:
        assert stored(factory) == before, r.text[:300]


def test_fuzzed_segment_requests_get_200_or_a_4xx_json(harness: Harness, tracked: Tracked,
                                                       session_factory: Factory) -> None:
    seen: set[int] = set()

    @FUZZ
    @given(segment_request())
    def one(request: tuple[str, bytes]) -> None:
        path, raw = request
        before = stored(session_factory)
        r = harness.request("POST", path, raw, {"Content-Type": "application/json", **tracked.basic()})
        _check(r, before, session_factory)
        seen.add(r.status)

    one()
    assert {200, 400} <= seen  # the generator reaches both sides


def test_fuzzed_ingest_requests_get_200_or_a_4xx_json(harness: Harness, tracked: Tracked,
                                                      session_factory: Factory) -> None:
    seen: set[int] = set()

    @FUZZ
    @given(ingest_request())
    def one(raw: bytes) -> None:
        before = stored(session_factory)
        r = harness.request("POST", "/api/v1/ingest", raw,
                            {"Content-Type": "application/json", "Authorization": f"Bearer {tracked.write_key}"})
        _check(r, before, session_factory)
        seen.add(r.status)

    one()
    assert {200, 400} <= seen
