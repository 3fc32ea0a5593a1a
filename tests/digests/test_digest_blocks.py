"""The digest's Block Kit and text, tested by structure (no mocks): every message passes the Block
Kit limits, carries searchable fallback text, and says what a reader needs (late, quiet week,
survey status, the two buttons, times in the subscription's zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from bot.digests import blocks as db
from bot.digests.ids import Action as DigestAction
from bot.domain.weeks import last_complete_week
from bot.render import limits
from tests.render.conftest import make_empty_report, make_previous, make_report

AS_OF = date(2026, 11, 23)
WEEK = last_complete_week(AS_OF)


def _all_text(message: dict) -> str:
    out = [message["text"]]
    for blk in message["blocks"]:
        if isinstance(blk.get("text"), dict):
            out.append(blk["text"]["text"])
        for el in blk.get("elements") or []:
            if isinstance(el.get("text"), str):
                out.append(el["text"])
            elif isinstance(el.get("text"), dict):
                out.append(el["text"]["text"])
    return "\n".join(out)


def test_the_full_digest_has_every_part_and_fits_block_kit() -> None:
    report = make_report(AS_OF)
    surveys = [db.SurveyLine("C9", 23, datetime(2026, 11, 30, 17, tzinfo=UTC), anonymous=True)]
    msg = db.digest_message(report, previous=make_previous(report), week=WEEK, surveys=surveys, tz="Europe/Berlin")
    limits.validate_message(msg)
    text = _all_text(msg)
    assert msg["text"].startswith("Weekly PMF digest — Acme Analytics, as of 2026-11-23")
    assert "since last week" in msg["text"]  # the change is in the searchable text too
    assert "Week of 16–22 Nov 2026" in text
    assert "Survey open in <#C9>, anonymous: 23 responses so far, closes Mon 30 Nov 18:00 CET." in text
    assert "chart with all three signals is posted right below" in text
    actions = [blk for blk in msg["blocks"] if blk["type"] == "actions"]
    assert [[e["action_id"] for e in a["elements"]] for a in actions] == [[DigestAction.SURVEY,
                                                                            DigestAction.DETAILS]]
    assert "This digest is late" not in text


def test_a_late_digest_says_when_it_was_due_in_the_subscription_zone() -> None:
    report = make_report(AS_OF)
    due = datetime(2026, 11, 23, 8, tzinfo=UTC)
    msg = db.digest_message(report, previous=None, week=WEEK, tz="Europe/Berlin", late_due=due)
    assert msg["text"].startswith("This digest is late: it was due Mon 09:00.")
    assert "This digest is late: it was due Mon 09:00." in msg["blocks"][1]["elements"][1]["text"]
    limits.validate_message(msg)


def test_a_quiet_week_is_brief_and_offers_no_chart() -> None:
    report = make_report(AS_OF)
    msg = db.digest_message(report, previous=report, week=WEEK, no_new_data=True, chart_follows=False)
    limits.validate_message(msg)
    text = _all_text(msg)
    assert "No new activity, signups or survey responses in the week of 16–22 Nov 2026" in text
    assert "No new data this week" in msg["text"]
    assert "No survey running" in text and "posted right below" not in text
    assert len(msg["blocks"]) <= 7


def test_week_labels_across_months_and_years() -> None:
    assert db.week_label(last_complete_week(date(2026, 12, 7))) == "30 Nov – 6 Dec 2026"
    assert db.week_label(last_complete_week(date(2027, 1, 4))) == "28 Dec 2026 – 3 Jan 2027"


@dataclass(frozen=True)
class _Schedule:
    weekday: int
    local_time: time
    timezone: str


@dataclass(frozen=True)
class _Delivery:
    due_at: datetime
    status: str
    late: bool
    sent_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class _Sub:
    product_slug: str
    product_name: str
    channel_id: str
    schedule: _Schedule
    active: bool
    paused_reason: str | None
    next_run: datetime | None
    last_delivery: _Delivery | None
    last_error: str | None
    last_error_at: datetime | None


def test_the_list_shows_next_run_last_delivery_and_errors_in_each_zone() -> None:
    due = datetime(2026, 11, 23, 8, tzinfo=UTC)
    subs = [
        _Sub("acme", "Acme <Beta>", "C1", _Schedule(0, time(9), "Europe/Berlin"), True, None,
             datetime(2026, 11, 30, 8, tzinfo=UTC), _Delivery(due, "sent", True, due.replace(hour=10), None), None, None),
        _Sub("acme", "Acme <Beta>", "C404", _Schedule(2, time(7, 15), "Asia/Tokyo"), False,
             "paused after 3 failed weeks: channel_not_found", None,
             _Delivery(due, "failed", False, None, "channel_not_found"), "channel_not_found", due),
    ]
    msg = db.subscriptions_message(subs)
    limits.validate_message(msg)
    text = _all_text(msg)
    assert "*Acme &lt;Beta&gt;* in <#C1> — Mondays at 09:00 (Europe/Berlin)" in text
    assert "next: Mon 30 Nov 09:00 CET; last delivered Mon 23 Nov 11:00 CET (late)" in text
    assert "paused after 3 failed weeks" in text and "resume with `/pmf-check digest weekly <#C404>`" in text
    assert "failed: the channel no longer exists" in text


def test_many_subscriptions_still_fit_one_message() -> None:
    sub = _Sub("p", "P" * 200, "C1", _Schedule(0, time(9), "UTC"), True, None, datetime(2026, 1, 5, 9, tzinfo=UTC),
               None, "x" * 200, datetime(2026, 1, 1, tzinfo=UTC))
    limits.validate_message(db.subscriptions_message([sub] * 400))


def test_the_failure_notice_says_what_to_do() -> None:
    msg = db.failure_notice(product_name="Acme", channel_id="G1", error="not_in_channel", paused=False)
    assert "could not be posted in <#G1>" in msg["text"] and "/invite @PMF Gate" in msg["text"]
    paused = db.failure_notice(product_name="Acme", channel_id="C1", error="is_archived", paused=True)
    assert "paused" in paused["text"] and "/pmf-check digest weekly <#C1>" in paused["text"]


def test_a_product_without_data_gets_the_ways_in_instead_of_a_verdict() -> None:
    report = make_empty_report(AS_OF)
    msg = db.digest_message(report, previous=report, week=WEEK, no_new_data=True, chart_follows=False)
    limits.validate_message(msg)
    text = _all_text(msg)
    assert "No data for" in msg["text"] and "pmfbot import signups FILE --product" in text
    assert "Not sure yet" not in text and "No new activity" not in text and "posted right below" not in text
