"""The real Segment and RudderStack Python libraries, pointed at the real WSGI app on loopback.

A few thousand users sign up and come back over ten weeks; half are sent by
``segment-analytics-python`` (its ``host``), half by ``rudder-sdk-python`` (its data plane URL,
gzipped bodies). A middleware loses the reply to some batches after the app has written them, so
the libraries retry the same batch with the same ``messageId``s, as they would after a timeout.
The product's cohort table must then equal one computed here, in plain Python, from what was sent.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from wsgiref.simple_server import make_server

import pytest
from segment_helpers import Factory, Tracked, stored, user_rows

from bot.domain.weeks import week_of_date, week_start
from bot.render.text import cohorts_json
from bot.reports import service as services
from tests.fakes.harness import Harness, QuietHandler, ThreadingServer

AS_OF = date(2026, 11, 23)  # a Monday: every week before it is complete
FIRST_DAY = datetime(2026, 9, 14, tzinfo=UTC)  # a Monday, ten weeks before AS_OF
USERS = 2400
CAMPAIGNS = [("google", "cpc"), ("newsletter", "email"), ("twitter", "social")]


@dataclass
class Call:
    """One library call: (method, kwargs) at ``at``."""

    at: datetime
    method: str
    kwargs: dict[str, Any]


@dataclass
class Sent:
    """What was sent, and what the cohort table must therefore be."""

    calls: dict[str, list[Call]] = field(default_factory=lambda: {"segment": [], "rudder": []})
    signup: dict[str, datetime] = field(default_factory=dict)
    active: dict[str, set[int]] = field(default_factory=dict)
    paid: int = 0


def _generate(seed: int = 13) -> Sent:
    rng = random.Random(seed)
    sent = Sent()
    horizon = datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC) + timedelta(hours=11)  # into the open week
    for i in range(USERS):
        uid = f"user-{i:05d}"
        lib = "segment" if i % 2 == 0 else "rudder"
        first = FIRST_DAY + timedelta(seconds=rng.randrange(70 * 86400))
        campaign = rng.choice(CAMPAIGNS) if rng.random() < 0.5 else None
        context = {"campaign": {"source": campaign[0], "medium": campaign[1], "name": "fall"}} if campaign else {}
        sent.paid += campaign == ("google", "cpc")
        calls: list[Call] = []
        style = rng.random()
        if style < 0.5:
            # Identified with a creation time: their signup, sometimes days before tracking began.
            created = first - timedelta(days=rng.choice([0, 0, 0, 3, 12]))
            traits: dict[str, Any] = ({"createdAt": created.isoformat()} if lib == "segment"
                                      else {"created_at": int(created.timestamp())})
            traits["plan"] = "pro"
            calls.append(Call(first, "identify", {"user_id": uid, "traits": traits, "context": context}))
            signup = created
        elif style < 0.7:
            calls.append(Call(first, "identify", {"user_id": uid, "traits": {"plan": "free"}, "context": context}))
            signup = first
        else:
            calls.append(Call(first, "page", {"user_id": uid, "name": "Landing", "context": context}))
            signup = first
        # Coming back: week k after the first call with a probability that decays to a plateau.
        week0 = week_of_date(first.date())
        active = {week_of_date(signup.date())}
        if style >= 0.7:
            active.add(week0)
        for k in range(0, 11):
            if rng.random() > (0.9 if k == 0 else 0.25 + 0.45 * 0.6 ** k):
                continue
            start = max(first + timedelta(minutes=5), datetime.combine(week_start(week0 + k), datetime.min.time(), tzinfo=UTC))
            at = start + timedelta(seconds=rng.randrange(7 * 86400))
            if at >= horizon or week_of_date(at.date()) != week0 + k:
                continue
            method = rng.choice(["track", "page"])
            kwargs = ({"user_id": uid, "event": "Report Viewed", "properties": {"n": k}} if method == "track"
                      else {"user_id": uid, "name": "Dashboard"})
            calls.append(Call(at, method, kwargs))
            active.add(week0 + k)
        sent.signup[uid] = signup
        sent.active[uid] = active
        sent.calls[lib].extend(calls)
    for n in range(300):  # visitors who never log in: counted and ignored
        lib = "segment" if n % 2 == 0 else "rudder"
        at = FIRST_DAY + timedelta(seconds=rng.randrange(70 * 86400))
        sent.calls[lib].append(Call(at, "track", {"anonymous_id": f"anon-{n}", "event": "Visited"}))
    for calls in sent.calls.values():
        calls.sort(key=lambda c: c.at)  # a live client sends in the order things happen
    return sent


def _expected_cohorts(sent: Sent) -> list[dict[str, Any]]:
    """SPEC §5, independently: cohort = signup week; week 0 counts; only complete weeks."""
    last = week_of_date(AS_OF) - 1
    members: dict[int, list[str]] = {}
    for uid, at in sent.signup.items():
        members.setdefault(week_of_date(at.date()), []).append(uid)
    out = []
    for week in sorted(w for w in members if w <= last):
        users = members[week]
        active = [sum(1 for u in users if week + k in sent.active[u]) for k in range(last - week + 1)]
        out.append({"week": week_start(week).isoformat(), "size": len(users), "active": active})
    return out


class LosesReplies:
    """WSGI middleware: the app handles every request, but the reply to every ``every``-th batch
    is replaced by a 503 — the client retries a batch the server has already written."""

    def __init__(self, app: Callable[..., Iterable[bytes]], every: int) -> None:
        self.app, self.every = app, every
        self.count = itertools.count()
        self.lock = threading.Lock()
        self.replies: list[dict[str, Any]] = []  # the JSON of every reply the client got
        self.lost: list[dict[str, Any]] = []  # the replies it never got
        self.encodings: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        status: list[str] = []

        def capture(s: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            status.append(s)
            status.append(json.dumps(headers))
            return lambda _b: None

        body = b"".join(self.app(environ, capture))
        reply = json.loads(body)
        with self.lock:
            n = next(self.count)
            self.encodings.append(environ.get("HTTP_CONTENT_ENCODING", ""))
            lose = status[0].startswith("200") and n % self.every == self.every - 1
            (self.lost if lose else self.replies).append(reply)
        if lose:
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return iter([b'{"success": false, "code": "unavailable", "message": "reply lost (test)"}'])
        start_response(status[0], [tuple(h) for h in json.loads(status[1])])
        return iter([body])


@pytest.fixture
def flaky_server(harness: Harness) -> Iterator[tuple[str, LosesReplies]]:
    app = LosesReplies(harness.web, every=7)
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingServer, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", app
    finally:
        server.shutdown()
        server.server_close()


def _send(client: Any, calls: list[Call]) -> None:
    for c in calls:
        getattr(client, c.method)(timestamp=c.at, **c.kwargs)


@pytest.mark.slow
def test_segment_and_rudderstack_libraries_feed_a_cohort_table_equal_to_an_independent_one(
        flaky_server: tuple[str, LosesReplies], tracked: Tracked, session_factory: Factory) -> None:
    import rudderstack.analytics as rudder_analytics
    from segment.analytics import Client as SegmentClient

    url, app = flaky_server
    sent = _generate()
    errors: list[Any] = []
    started = time.perf_counter()

    segment = SegmentClient(tracked.write_key, host=url, upload_size=100, max_queue_size=100_000, max_retries=5,
                            on_error=lambda e, batch: errors.append(("segment", e)))
    # RudderStack's documented set-up: module settings, the data plane URL among them.
    rudder_analytics.write_key = tracked.write_key
    rudder_analytics.dataPlaneUrl = url
    rudder_analytics.max_retries = 5
    rudder_analytics.on_error = lambda e, batch: errors.append(("rudder", e))
    try:
        sender = threading.Thread(target=_send, args=(rudder_analytics, sent.calls["rudder"]))
        sender.start()
        _send(segment, sent.calls["segment"])
        sender.join()
        segment.flush()
        rudder_analytics.flush()
    finally:
        segment.join()
        rudder_analytics.shutdown()
        rudder_analytics.default_client = None
        rudder_analytics.dataPlaneUrl = None
    seconds = time.perf_counter() - started
    assert errors == []

    messages = sum(len(c) for c in sent.calls.values())
    identified = messages - 300
    # Every lost reply made its library resend that batch, whose messages then came back as duplicates.
    assert len(app.lost) >= 5
    assert sum(r["duplicates"] for r in app.replies) == sum(r["accepted"] for r in app.lost)
    assert sum(r["accepted"] for r in app.replies + app.lost) == identified
    assert sum(r["anonymous"] for r in app.replies) + sum(r["anonymous"] for r in app.lost) >= 300
    assert "gzip" in app.encodings and "" in app.encodings  # RudderStack gzips, Segment does not

    table, slug, tz = services.cohort_table(session_factory, product_slug="acme", as_of=AS_OF)
    got = cohorts_json(table, slug, tz)["cohorts"]
    assert got == _expected_cohorts(sent)
    users = user_rows(session_factory)
    assert len(users) == USERS and not any(u.startswith("anon") for u in users)
    assert sum(u["channel_class"] == "paid" for u in users.values()) == sent.paid
    print(f"\n{messages:,} messages ({identified:,} identified) for {USERS:,} users in {len(app.replies) + len(app.lost)} "
          f"batches, {len(app.lost)} replies lost and retried: {seconds:.1f} s; stored {stored(session_factory)}")

