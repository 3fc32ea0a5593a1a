"""Row parsing without a database: timestamps to weeks in the product's timezone, and bad values."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.weeks import week_of, week_of_date
from bot.ingest.formats import RowError, event_parser, response_parser, signup_parser, week_parser
from storage.staging import SignupRow

MON = week_of_date(date(2026, 3, 2))  # Monday 2 March 2026
PREV = MON - 1


@pytest.mark.parametrize(
    ("tz", "raw", "week"),
    [
        # UTC product: the date in UTC decides.
        ("UTC", "2026-03-01T23:30:00Z", PREV),
        ("UTC", "2026-03-01T23:30:00", PREV),  # naive = UTC
        ("UTC", "2026-03-01T23:30:00+00:00", PREV),
        ("UTC", "2026-03-02T00:00:00Z", MON),
        ("UTC", "2026-03-02T01:00:00+02:00", PREV),  # = Sunday 23:00 UTC
        ("UTC", "2026-03-01T20:00:00-05:00", MON),  # = Monday 01:00 UTC
        ("UTC", "2026-03-02", MON),
        ("UTC", "2026-03-01", PREV),
        ("UTC", "2026-03-02 08:15:00.123456Z", MON),
        # Sunday 23:30 UTC is already Monday 00:30 in Berlin.
        ("Europe/Berlin", "2026-03-01T23:30:00Z", MON),
        ("Europe/Berlin", "2026-03-01T23:30:00", MON),
        ("Europe/Berlin", "2026-03-01T22:59:59Z", PREV),
        ("Europe/Berlin", "2026-03-02T00:30:00+01:00", MON),
        # A bare date is that calendar day in the product's timezone, not UTC midnight.
        ("Europe/Berlin", "2026-03-01", PREV),
        ("America/New_York", "2026-03-02", MON),
        ("America/New_York", "2026-03-02T03:00:00Z", PREV),  # Sunday 22:00 in New York
        ("Asia/Kolkata", "2026-03-01T18:29:00Z", PREV),  # 23:59 IST
        ("Asia/Kolkata", "2026-03-01T18:30:00Z", MON),  # 00:00 IST (a half-hour offset)
    ],
)
def test_timestamp_lands_in_the_products_week(tz: str, raw: str, week: int) -> None:
    assert week_parser(tz, "occurred_at")(raw) == week


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"])
def test_fast_week_matches_the_domain_definition(tz: str) -> None:
    """Across DST changes and odd offsets, the fast parser agrees with bot.domain.weeks."""
    rng = random.Random(tz)
    zone = ZoneInfo(tz)
    parse = week_parser(tz, "occurred_at")
    offsets = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7, minutes=-30)), None]
    for _ in range(3000):
        instant = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(2 * 365 * 86400))
        off = rng.choice(offsets)
        shown = instant.replace(tzinfo=None) if off is None else instant.astimezone(off)
        assert parse(shown.isoformat()) == week_of(instant, zone), shown.isoformat()


def test_surrounding_spaces_are_tolerated() -> None:
    assert week_parser("UTC", "occurred_at")(" 2026-03-02T10:00:00Z ") == MON


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-01", "2026-02-30T10:00:00Z", "", "   ", "0202-03-02",
                                 "2026-03-02T25:00:00", "03/02/2026", "1700000000"])
@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_bad_timestamps_are_row_errors(raw: str, tz: str) -> None:
    with pytest.raises(RowError) as err:
        week_parser(tz, "occurred_at")(raw)
    assert err.value.column == "occurred_at"
    assert "occurred_at" in str(err.value)


def test_event_parser_rejects_an_empty_user_id() -> None:
    parse = event_parser({"user_id": 0, "occurred_at": 1}, "UTC")
    assert parse([" u1 ", "2026-03-02"]) == ("u1", MON)
    with pytest.raises(RowError, match="user_id is empty"):
        parse(["  ", "2026-03-02"])
    with pytest.raises(RowError, match="longer than 255"):
        parse(["x" * 256, "2026-03-02"])


def test_signup_parser_classifies_channels_and_utm_tags() -> None:
    chan = signup_parser({"user_id": 0, "signed_up_at": 1, "channel": 2}, "UTC", {"seo": "organic"})
    assert chan(["u1", "2026-03-02T10:00:00+01:00", "SEO"]) == SignupRow(
        user_id="u1", signup_week=MON, signed_up_at=datetime(2026, 3, 2, 9, tzinfo=UTC), channel="SEO",
        channel_class="organic", channel_key=None, email_hash=None)

    def ch(row: SignupRow) -> tuple[str | None, str, str | None]:
        return row.channel, row.channel_class, row.channel_key

    assert ch(chan(["u2", "2026-03-02", ""])) == (None, "direct", None)  # no tag at all: direct (untagged)

    utm = signup_parser({"user_id": 0, "signed_up_at": 1, "utm_source": 2, "utm_medium": 3}, "UTC", {})
    assert ch(utm(["u1", "2026-03-02", "google", "cpc"])) == ("google / cpc", "paid", None)
    # An ambiguous source stays unknown under its name until a manager classifies it (issue 18).
    assert ch(utm(["u1", "2026-03-02", "newsletter", "email"])) == ("newsletter / email", "unknown", "newsletter")
    assert ch(utm(["u1", "2026-03-02", "", ""])) == (None, "direct", None)  # no tags: direct (untagged)
    # A paid word anywhere wins over an organic-looking medium (SPEC §5).
    assert ch(utm(["u1", "2026-03-02", "facebook_ads", "social"])) == ("facebook_ads / social", "paid", None)
    both = signup_parser({"user_id": 0, "signed_up_at": 1, "channel": 2, "utm_source": 3, "utm_medium": 4}, "UTC", {})
    assert ch(both(["u1", "2026-03-02", "newsletter", "sponsored_newsletter", "email"])) == ("newsletter", "paid", None)
    # An ad click id in the landing URL or referrer makes it paid whatever the tags say.
    landed = signup_parser({"user_id": 0, "signed_up_at": 1, "channel": 2, "landing_url": 3, "referrer": 4}, "UTC", {})
    assert ch(landed(["u1", "2026-03-02", "", "https://x.io/?gclid=Cj0", ""])) == (None, "paid", "click:gclid")
    assert ch(landed(["u1", "2026-03-02", "seo", "", "https://l.facebook.com/?fbclid=Iw"])) == ("seo", "paid", "click:fbclid")
    assert ch(landed(["u1", "2026-03-02", "seo", "https://x.io/?ref=a", ""])) == ("seo", "organic", None)


def test_bare_date_signup_is_local_midnight() -> None:
    parse = signup_parser({"user_id": 0, "signed_up_at": 1, "channel": 2}, "Europe/Berlin", {})
    row = parse(["u1", "2026-03-02", "seo"])
    assert row.signup_week == MON
    assert row.signed_up_at == datetime(2026, 3, 1, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "answer"),
    [("Very disappointed", "very"), ("somewhat disappointed", "somewhat"), ("NOT DISAPPOINTED", "not"),
     ("N/A \u2014 I no longer use Acme", "na"), ("1", "very"), ("2", "somewhat"), ("3", "not"), ("4", "na"),
     ("very", "very"), ("somewhat", "somewhat"), ("not", "not"), ("n/a", "na")],
)
def test_response_answers(raw: str, answer: str) -> None:
    parse = response_parser({"respondent_id": 0, "answered_at": 1, "answer": 2}, "UTC")
    row = parse(["r1", "2026-03-02T10:00:00+02:00", raw])
    assert row.answer == answer and row.respondent_key == "r1"
    assert row.dedupe_key == "import:r1:2026-03-02T08:00:00+00:00"


@pytest.mark.parametrize("raw", ["", "5", "meh", "very useful"])
def test_bad_answers_are_row_errors(raw: str) -> None:
    parse = response_parser({"respondent_id": 0, "answered_at": 1, "answer": 2}, "UTC")
    with pytest.raises(RowError) as err:
        parse(["r1", "2026-03-02", raw])
    assert err.value.column == "answer"
