"""``bot.ingest.segment``'s pure part: validation, clock-skew correction and the mapping to signups and
user-weeks, worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.domain.settings import ProductSettings
from bot.domain.weeks import week_of_date
from bot.ingest.segment import BatchError, Message, event_time, parse_batch, plan
from storage.repositories.segment import StoredSignup
from storage.staging import SignupRow

RECEIVED = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
W = week_of_date(date(2026, 3, 2))  # the week of Monday 2 March 2026


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_clock_skew_is_corrected_as_segment_does() -> None:
    # A phone whose clock runs 2 h 5 min fast: it stamps an event 10:00 (its time), queues it,
    # sends it at 10:30 (its time); the server receives it at 12:00 true time. The event happened
    # 30 minutes before it was sent, so at 11:30 true time.
    assert event_time(None, _at("2026-03-04T14:05:00+00:00"), _at("2026-03-04T14:35:00+00:00"), RECEIVED) == \
        _at("2026-03-04T11:30:00+00:00")
    # ``timestamp`` wins as given; without sentAt, originalTimestamp is taken as is; with neither, receipt.
    ts = _at("2026-03-01T08:00:00Z")
    assert event_time(ts, _at("2026-03-04T14:05:00Z"), _at("2026-03-04T14:35:00Z"), RECEIVED) == ts
    assert event_time(None, ts, None, RECEIVED) == ts
    assert event_time(None, None, _at("2026-03-04T14:35:00Z"), RECEIVED) == RECEIVED


def test_a_batch_level_sent_at_corrects_every_message_and_a_message_sent_at_overrides_it() -> None:
    body = {"sentAt": "2026-03-04T13:00:00Z", "batch": [
        {"type": "track", "userId": "u1", "originalTimestamp": "2026-03-04T12:59:00Z"},
        {"type": "track", "userId": "u2", "originalTimestamp": "2026-03-04T12:59:00Z",
         "sentAt": "2026-03-04T12:59:30Z"},
    ]}
    batch = parse_batch(body, kind=None, received_at=RECEIVED)
    assert [m.at for m in batch.messages] == [RECEIVED - timedelta(minutes=1), RECEIVED - timedelta(seconds=30)]


def test_anonymous_only_calls_and_alias_group_are_counted_and_ignored() -> None:
    body = {"batch": [
        {"type": "track", "anonymousId": "a1", "timestamp": "2026-03-02T10:00:00Z"},
        {"type": "page", "userId": None, "anonymousId": "a2"},
        {"type": "alias", "previousId": "a1", "userId": "u1"},
        {"type": "group", "userId": "u1", "groupId": "g1"},
        {"type": "track", "userId": 42, "anonymousId": "a3", "timestamp": "2026-03-02T10:00:00Z", "messageId": 7},
    ]}
    batch = parse_batch(body, kind=None, received_at=RECEIVED)
    assert (batch.received, batch.anonymous, batch.ignored) == (5, 2, 2)
    assert [(m.user_id, m.message_id) for m in batch.messages] == [("42", "7")]


def test_every_malformed_message_is_named_by_its_path() -> None:
    body: dict[str, Any] = {"sentAt": "yesterday", "batch": [
        {"type": "track", "userId": "ok", "timestamp": "2026-03-02T10:00:00Z"},
        "not an object",
        {"type": "purchase", "userId": "u"},
        {"type": "track"},
        {"type": "track", "userId": ["x"]},
        {"type": "track", "userId": "u", "timestamp": "03/02/2026"},
        {"type": "identify", "userId": "u", "traits": {"created_at": "soon"}},
        {"type": "identify", "userId": "u", "traits": "vip"},
        {"type": "track", "userId": "u", "properties": {"blob": "x" * 40_000}},
        {"type": "track", "userId": "u", "timestamp": "0202-03-02T10:00:00Z"},
    ]}
    with pytest.raises(BatchError) as err:
        parse_batch(body, kind=None, received_at=RECEIVED)
    assert [e["path"] for e in err.value.errors] == [
        "sentAt", "batch[1]", "batch[2].type", "batch[3]", "batch[4].userId", "batch[5].timestamp",
        "batch[6].traits.created_at", "batch[7].traits", "batch[8]", "batch[9].timestamp"]
    assert "32,768" in err.value.errors[8]["message"]
    with pytest.raises(BatchError):
        parse_batch({"batch": {"type": "track"}}, kind=None, received_at=RECEIVED)
    with pytest.raises(BatchError):
        parse_batch("[]", kind=None, received_at=RECEIVED)
    with pytest.raises(BatchError):
        parse_batch({"sentAt": "2026-03-02T10:00:00Z"}, kind=None, received_at=RECEIVED)


def test_a_batch_endpoint_also_takes_a_webhooks_bare_message_or_array() -> None:
    one = {"type": "page", "userId": "u1", "timestamp": "2026-03-02T10:00:00Z"}
    assert len(parse_batch(one, kind=None, received_at=RECEIVED).messages) == 1
    assert len(parse_batch([one, one], kind=None, received_at=RECEIVED).messages) == 2


def test_single_call_endpoints_take_the_type_from_the_path() -> None:
    batch = parse_batch({"userId": "u1", "event": "Signed In", "timestamp": "2026-03-02T10:00:00Z"},
                        kind="track", received_at=RECEIVED)
    assert [(m.type, m.user_id) for m in batch.messages] == [("track", "u1")]


def test_created_at_may_be_iso_or_unix_seconds_or_milliseconds() -> None:
    t = datetime(2026, 2, 27, 9, 30, tzinfo=UTC)
    for value in ("2026-02-27T09:30:00Z", "2026-02-27T10:30:00+01:00", int(t.timestamp()), int(t.timestamp()) * 1000):
        for key in ("created_at", "createdAt"):
            batch = parse_batch({"userId": "u", "traits": {key: value}}, kind="identify", received_at=RECEIVED)
            assert batch.messages[0].created_at == t, (key, value)


def test_created_at_is_also_read_from_context_traits_where_rudderstack_puts_it() -> None:
    body = {"userId": "u", "context": {"traits": {"created_at": 1772184600}}}  # 2026-02-27T09:30:00Z
    batch = parse_batch(body, kind="identify", received_at=RECEIVED)
    assert batch.messages[0].created_at == datetime(2026, 2, 27, 9, 30, tzinfo=UTC)
    both = {"userId": "u", "traits": {"createdAt": "2026-02-01T00:00:00Z"}, "context": {"traits": {"created_at": 0}}}
    assert parse_batch(both, kind="identify", received_at=RECEIVED).messages[0].created_at == \
        datetime(2026, 2, 1, tzinfo=UTC)  # the message's own traits win


def _m(typ: str, user: str, at: str, *, created: str | None = None,
       campaign: tuple[str, ...] | None = None) -> Message:
    full = (*campaign, "", "")[:3] if campaign else None
    return Message(typ, user, None, _at(at), _at(created) if created else None, full)  # type: ignore[arg-type]


def test_plan_signups_at_created_at_or_first_call_and_activity_per_week() -> None:
    msgs = [
        _m("page", "new", "2026-03-03T09:00:00Z", campaign=("google", "cpc")),
        _m("track", "new", "2026-03-10T09:00:00Z"),
        _m("identify", "crm", "2026-03-10T09:00:00Z", created="2026-02-20T09:00:00Z"),  # signed up weeks ago
        _m("track", "crm", "2026-03-11T09:00:00Z", campaign=("newsletter", "email")),
        _m("identify", "known", "2026-03-04T09:00:00Z"),  # no created_at, user has a signup: nothing
        _m("track", "known", "2026-03-04T10:00:00Z"),
        _m("track", "events-only", "2026-03-04T10:00:00Z"),  # known without signup: stays so
    ]
    existing = {"known": StoredSignup("seo", "organic"), "events-only": StoredSignup()}
    p = plan(msgs, existing=existing, settings=ProductSettings())
    assert sorted(p.signups) == [
        # An ambiguous source (a newsletter that does not say sponsored) waits for a manager.
        SignupRow("crm", W - 2, _at("2026-02-20T09:00:00Z"), "newsletter / email", "unknown", "newsletter"),
        SignupRow("new", W, _at("2026-03-03T09:00:00Z"), "google / cpc", "paid", None),
    ]
    assert p.pairs == {("new", W), ("new", W + 1), ("crm", W + 1), ("known", W), ("events-only", W)}


def test_a_created_at_without_campaign_keeps_the_stored_channel() -> None:
    msgs = [_m("identify", "u", "2026-03-10T09:00:00Z", created="2026-03-02T00:00:00Z")]
    p = plan(msgs, existing={"u": StoredSignup("google / cpc", "paid")}, settings=ProductSettings())
    assert p.signups == [SignupRow("u", W, _at("2026-03-02T00:00:00Z"), "google / cpc", "paid", None)]
    untagged = plan(msgs, existing={}, settings=ProductSettings())
    got = untagged.signups[0]  # direct (untagged) traffic, as the CSV import classes it
    assert (got.channel, got.channel_class, got.channel_key) == (None, "direct", None)


@pytest.mark.parametrize(("tz", "at", "week"), [
    ("UTC", "2026-03-01T23:59:59Z", W - 1),  # Sunday night
    ("UTC", "2026-03-02T00:00:00Z", W),  # Monday morning
    ("America/New_York", "2026-03-02T04:59:59Z", W - 1),  # still Sunday 23:59 in New York
    ("America/New_York", "2026-03-02T05:00:00Z", W),
    ("Asia/Tokyo", "2026-03-01T15:00:00Z", W),  # already Monday 00:00 in Tokyo
])
def test_sunday_night_and_monday_morning_fall_in_the_products_weeks(tz: str, at: str, week: int) -> None:
    p = plan([_m("track", "u", at)], existing={"u": StoredSignup()}, settings=ProductSettings(timezone=tz))
    assert p.pairs == {("u", week)}


def test_a_click_id_in_context_page_makes_the_signup_paid() -> None:
    from bot.ingest.segment import _campaign

    assert _campaign({"page": {"url": "https://x.io/signup?gclid=Cj0", "referrer": ""}}) == ("", "", "gclid")
    assert _campaign({"page": {"search": "?fbclid=Iw"}, "campaign": {"source": "seo"}}) == ("seo", "", "fbclid")
    assert _campaign({"campaign": {"source": "google", "medium": "cpc", "msclkid": "9"}}) == ("google", "cpc", "msclkid")
    assert _campaign({"page": {"referrer": "https://news.ycombinator.com/"}}) is None
    msgs = [_m("page", "u", "2026-03-03T09:00:00Z", campaign=("", "", "gclid"))]
    p = plan(msgs, existing={}, settings=ProductSettings())
    assert p.signups == [SignupRow("u", W, _at("2026-03-03T09:00:00Z"), None, "paid", "click:gclid")]
