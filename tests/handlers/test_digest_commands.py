"""``/pmf-check digest …`` and the digest's buttons over real HTTP with signed requests, against
the fake Slack Web API: subscribe (defaults from the invoker's Slack time zone), list, off, now,
and every malformed form. Acks are immediate; replies follow on the response_url."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.digests.ids import Action as DigestAction
from bot.digests.runner import METADATA_EVENT
from bot.products import managers
from bot.render.limits import validate_message
from storage.db import unit_of_work
from storage.models import DigestSubscription
from tests.fakes.slack_api import PNG_MAGIC, text_of


def _subs(session_factory) -> list[DigestSubscription]:
    with unit_of_work(session_factory) as s:
        return list(s.scalars(select(DigestSubscription).order_by(DigestSubscription.id)))


def test_weekly_defaults_to_this_channel_monday_0900_in_the_invokers_slack_time_zone(
        harness, fake_slack, seed_product, session_factory):
    seed_product("T1", "acme", "Acme", data=False)
    r = harness.pmf("digest weekly")
    assert r.status == 200
    reply = r.reply()
    text = text_of(reply)
    assert "Weekly PMF digest for *Acme* in <#C1>: Mondays at 09:00 (Europe/Berlin)" in text
    assert "Next: Mon 30 Nov 09:00 CET" in text  # NOW is Mon 23 Nov 12:00 UTC
    assert "Time zone from your Slack profile" in text
    assert fake_slack.calls_to("users.info")[0].params["user"] == "U1"
    (sub,) = _subs(session_factory)
    assert (sub.channel_id, sub.weekday, sub.local_time, sub.timezone, sub.created_by, sub.active) == (
        "C1", 0, "09:00", "Europe/Berlin", "U1", True)


def test_weekly_with_every_argument_in_any_order(harness, seed_product, session_factory):
    seed_product("T1", "acme", "Acme", data=False)
    reply = harness.pmf("digest weekly 16:30 America/New_York fri <#C2|growth>", user="U2").reply()
    assert "in <#C2>: Fridays at 16:30 (America/New_York)" in text_of(reply)
    assert "Time zone from your Slack profile" not in text_of(reply)
    (sub,) = _subs(session_factory)
    assert (sub.channel_id, sub.weekday, sub.local_time, sub.timezone) == ("C2", 4, "16:30", "America/New_York")


def test_without_a_slack_time_zone_the_default_is_utc(harness, fake_slack, seed_product, session_factory):
    product = seed_product("T1", "acme", data=False)
    managers.add_manager(session_factory, product=product, user_id="UNOBODY", actor="cli")  # a manager, no profile
    harness.pmf("digest weekly", user="UNOBODY").reply()
    assert _subs(session_factory)[0].timezone == "UTC"


@pytest.mark.parametrize(("text", "says"), [
    ("digest weekly 25:00", "not a time of day"),
    ("digest weekly Mars/Base", "not a time zone I know"),
    ("digest weekly #growth", "could not read the channel"),
    ("digest weekly daily", "did not understand `daily`"),
    ("digest weekly mon tue", "given twice"),
    ("digest", "Say what to do with the digest"),
    ("digest sometimes", "Say what to do with the digest"),
    ("digest list now", "Unexpected `now`"),
    ("digest off <#C1|general> <#C2|growth>", "at most one #channel"),
])
def test_malformed_digest_commands_say_what_was_wrong_and_change_nothing(
        harness, seed_product, session_factory, text, says):
    seed_product("T1", "acme", data=False)
    reply = harness.pmf(text).reply()
    assert says in text_of(reply)
    assert "/pmf-check digest weekly [#channel] [mon…sun] [HH:MM] [Area/City]" in text_of(reply)
    assert _subs(session_factory) == []


def test_list_shows_each_digest_with_its_next_run_in_its_own_zone_then_off_stops_it(
        harness, seed_product, session_factory):
    seed_product("T1", "acme", "Acme", data=False)
    harness.pmf("digest weekly").reply()
    harness.pmf("digest weekly <#C2|growth> wed 07:15 Asia/Tokyo").reply()
    listed = text_of(harness.pmf("digest list").reply())
    assert "*Acme* in <#C1> — Mondays at 09:00 (Europe/Berlin)" in listed and "next: Mon 30 Nov 09:00 CET" in listed
    assert "*Acme* in <#C2> — Wednesdays at 07:15 (Asia/Tokyo)" in listed and "next: Wed 25 Nov 07:15 JST" in listed
    assert "nothing delivered yet" in listed

    off = text_of(harness.pmf("digest off <#C2|growth>").reply())
    assert "turned off" in off and "<#C2>" in off
    listed = text_of(harness.pmf("digest list").reply())
    assert "<#C2>" not in listed and "<#C1>" in listed
    assert [s.active for s in _subs(session_factory)] == [True, False]
    assert "has no weekly digest" in text_of(harness.pmf("digest off <#C2|growth>").reply())


def test_now_posts_the_digest_and_its_chart_in_the_channel(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    reply = harness.pmf("digest now").reply(timeout=30)
    assert "Posted the PMF digest of *Acme* in <#C1>" in text_of(reply)
    (post,) = fake_slack.calls_to("chat.postMessage", channel="C1")
    assert post.json_param("metadata")["event_type"] == METADATA_EVENT
    assert post.params["text"].startswith("Weekly PMF digest — Acme")
    (png,) = fake_slack.uploaded_png("C1")
    assert png.startswith(PNG_MAGIC)
    validate_message({"text": post.params["text"], "blocks": post.json_param("blocks")})


def test_run_a_pmf_survey_asks_before_posting_in_the_channel(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    harness.pmf("digest now").reply(timeout=30)
    (post,) = fake_slack.calls_to("chat.postMessage", channel="C1")
    buttons = {el["action_id"]: el for b in post.json_param("blocks") if b["type"] == "actions" for el in b["elements"]}
    confirm = buttons[DigestAction.SURVEY]["confirm"]
    assert confirm["title"]["text"] == "Post a PMF survey here?"
    assert "in this channel now, for everyone here to answer" in confirm["text"]["text"]
    assert "open for 14 days" in confirm["text"]["text"]
    assert (confirm["confirm"]["text"], confirm["deny"]["text"]) == ("Post survey", "Cancel")
    assert "confirm" not in buttons[DigestAction.DETAILS]


def test_now_in_a_private_channel_without_the_app_says_how_to_invite_it(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme", data=False)
    reply = harness.pmf("digest now <#G1|secret-plans>").reply(timeout=30)
    assert "/invite @PMF Gate" in text_of(reply)
    assert fake_slack.messages.get("G1", []) == []


def test_help_lists_the_digest_commands(harness):
    text = text_of(harness.pmf("help").reply())
    assert "/pmf-check digest weekly [#channel] [mon…sun] [HH:MM] [Area/City]" in text
    assert "/pmf-check digest list" in text


# ----------------------------------------------------------------------------- buttons
def _digest_message(value: str = "acme") -> dict:
    return {"type": "message", "ts": "1700000001.000001", "text": "Weekly PMF digest"}


def test_details_answers_with_the_full_report_only_to_the_clicker(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    url = fake_slack.response_url("details")
    r = harness.block_action(DigestAction.DETAILS, "acme", channel="C1", response_url=url,
                             container={"type": "message", "message_ts": "1700000001.000001", "channel_id": "C1"},
                             message=_digest_message())
    assert r.status == 200
    (resp,) = fake_slack.wait_response("details", timeout=30)
    assert resp.params["response_type"] == "ephemeral" and resp.params["replace_original"] is False
    assert "PMF Gate · Acme" in text_of(resp.params) and "Next steps" in text_of(resp.params)


def test_run_a_pmf_survey_starts_one_in_the_digest_channel(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme", data=False)
    url = fake_slack.response_url("survey")
    harness.block_action(DigestAction.SURVEY, "acme", channel="C1", response_url=url,
                         container={"type": "message", "message_ts": "1700000001.000001", "channel_id": "C1"},
                         message=_digest_message())
    (resp,) = fake_slack.wait_response("survey", timeout=30)
    assert resp.params["replace_original"] is False
    posts = fake_slack.calls_to("chat.postMessage", channel="C1")
    assert posts and "How would you feel if you could no longer use" in json.dumps(posts[0].json_param("blocks"))
    # A second click while it is open says so instead of opening another.
    url2 = fake_slack.response_url("survey2")
    harness.block_action(DigestAction.SURVEY, "acme", channel="C1", response_url=url2,
                         container={"type": "message", "message_ts": "1700000001.000001", "channel_id": "C1"},
                         message=_digest_message())
    (again,) = fake_slack.wait_response("survey2", timeout=30)
    assert "already" in text_of(again.params).lower()


@pytest.mark.parametrize("off_word", ["unsubscribe", "stop", "off"])
def test_subscribe_unsubscribe_and_stop_are_what_people_type(harness, seed_product, session_factory, off_word):
    seed_product("T1", "acme", "Acme", data=False)
    subscribed = harness.pmf("digest subscribe <#C2|growth> wed 07:15 Asia/Tokyo").reply()
    validate_message(subscribed)
    assert "<#C1>" not in text_of(harness.pmf("digest list").reply())
    assert [s.active for s in _subs(session_factory)] == [True]
    off = text_of(harness.pmf(f"digest {off_word} <#C2|growth>").reply())
    assert "turned off" in off and "<#C2>" in off
    assert [s.active for s in _subs(session_factory)] == [False]
