"""Who may change what (SPEC §8), through the real Bolt app with signed requests against the fake
Slack Web API: ordinary members are refused every managers-only command with nothing changed and
told whom to ask; workspace admins and listed managers may; the creator of the first product
manages it; the admin look-up is cached and never delays an ack."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.products import managers
from storage.db import unit_of_work
from storage.models import AuditEntry, ChannelBinding, DigestSubscription, IngestToken, Product, ProductManager, Survey
from tests.fakes.slack_api import text_of

MEMBER = "UMEMBER"


@pytest.fixture
def members(fake_slack):
    fake_slack.add_user(MEMBER)
    fake_slack.add_user("UMGR")
    fake_slack.add_user("UOTHER")


def _state(session_factory) -> dict[str, object]:
    """Everything a managers-only command could change."""
    with unit_of_work(session_factory) as s:
        return {
            "settings": [p.settings for p in s.scalars(select(Product).order_by(Product.id))],
            "products": s.scalar(select(func.count()).select_from(Product)),
            "bindings": [(b.channel_id, b.product_id) for b in s.scalars(select(ChannelBinding))],
            "managers": [(m.product_id, m.user_id) for m in s.scalars(select(ProductManager))],
            "audit": s.scalar(select(func.count()).select_from(AuditEntry)),
            "tokens": [(t.prefix, t.revoked_at) for t in s.scalars(select(IngestToken))],
            "surveys": [(x.channel_id, x.closed_at) for x in s.scalars(select(Survey))],
            "digests": [(d.channel_id, d.active) for d in s.scalars(select(DigestSubscription))],
        }


@pytest.mark.parametrize("text", [
    "config survey.threshold 0.01",
    "config channel.google_cpc organic",
    "product use beta",
    "product create gamma",
    "product managers",
    "product managers add <@UOTHER|other>",
    "survey start",
    "survey start days 7",
    "survey close",
    "survey remind",
    "digest weekly",
    "digest off",
    "digest now",
    "token",
    "token acme",
    "token list",
    "token revoke pmfgate_abcdefgh",
])
def test_an_ordinary_member_is_refused_every_change_and_nothing_changes(
        harness, fake_slack, seed_product, session_factory, members, text):
    acme = seed_product("T1", "acme", "Acme", data=False)
    seed_product("T1", "beta", "Beta", data=False)
    managers.add_manager(session_factory, product=acme, user_id="UMGR", actor="cli")
    harness.pmf("product use acme").reply()  # U1 is an admin
    harness.pmf("digest weekly").reply()
    harness.pmf("survey start").reply()
    harness.pmf("token").reply()
    before = _state(session_factory)
    posts = len(fake_slack.calls_to("chat.postMessage"))

    reply = text_of(harness.pmf(text, user=MEMBER).reply())

    assert "Only a manager of `" in reply or "Only a workspace admin or product manager may" in reply
    assert "a workspace admin" in reply and "Nothing was changed" in reply
    if "Only a manager of `acme`" in reply:
        assert "ask <@UMGR> or a workspace admin" in reply
    assert _state(session_factory) == before
    assert len(fake_slack.calls_to("chat.postMessage")) == posts


def test_reading_stays_open_to_everyone(harness, seed_product, members):
    seed_product("T1", "acme", "Acme", data=False)
    for text, says in [("product", "Products in this workspace"), ("config", "Settings for `acme`"),
                       ("config history", "Changes to `acme`"), ("digest list", ""), ("help", "/pmf-check")]:
        reply = text_of(harness.pmf(text, user=MEMBER).reply())
        assert "Only" not in reply and says in reply
    usage = text_of(harness.pmf("help", user=MEMBER).reply())
    for line in ("/pmf-check token list", "/pmf-check token revoke PREFIX", "/pmf-check config history",
                 "/pmf-check product managers [add|remove @user]", "/pmf-check token [PRODUCT]"):
        assert line in usage


def test_a_digest_in_the_invokers_own_dm_needs_no_manager(harness, fake_slack, seed_product, session_factory, members):
    seed_product("T1", "acme", "Acme", data=False)
    fake_slack.add_channel("DMEM", im=True, user=MEMBER, member=True)
    reply = text_of(harness.pmf("digest weekly", user=MEMBER, channel="DMEM").reply())
    assert "Only" not in reply
    assert [(d.channel_id, d.active) for d in _state_subs(session_factory)] == [("DMEM", True)]


def _state_subs(session_factory):
    with unit_of_work(session_factory) as s:
        return list(s.scalars(select(DigestSubscription)))


def test_an_admin_and_a_listed_manager_may_change_settings(harness, fake_slack, seed_product, session_factory,
                                                          members):
    fake_slack.add_user("UADMIN", admin=True)
    seed_product("T1", "acme", "Acme", data=False)
    assert "Changed `survey.threshold`" in text_of(harness.pmf("config survey.threshold 0.35", user="UADMIN").reply())
    # The admin lists UMGR; UMGR may then change it too, and UMGR's check asks Slack nothing.
    assert "<@UMGR> now manages `acme`" in text_of(
        harness.pmf("product managers add <@UMGR|mgr>", user="UADMIN").reply())
    assert "Changed `survey.threshold`" in text_of(harness.pmf("config survey.threshold 0.3", user="UMGR").reply())
    assert fake_slack.calls_to("users.info", user="UMGR") == []
    listed = text_of(harness.pmf("product managers", user="UMGR").reply())
    assert "<@UMGR>" in listed and "workspace admin" in listed
    # Removed again: refused.
    harness.pmf("product managers remove <@UMGR|mgr>", user="UADMIN").reply()
    assert "Only a manager of `acme`" in text_of(harness.pmf("config survey.threshold 0.2", user="UMGR").reply())
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(Product.settings)) == {"survey.threshold": 0.3}


def test_the_creator_of_the_first_product_manages_it_and_later_products_need_a_manager(
        harness, seed_product, session_factory, members):
    reply = text_of(harness.pmf("product create acme Acme", user=MEMBER).reply())
    assert "you are its first manager" in reply
    assert "<@UMEMBER>" in text_of(harness.pmf("product managers", user=MEMBER).reply())
    assert "Changed" in text_of(harness.pmf("config survey.min_responses 30", user=MEMBER).reply())
    # Products exist now: another ordinary member may not create one; the manager may.
    assert "Only a workspace admin or product manager may create another product" in text_of(
        harness.pmf("product create beta", user="UOTHER").reply())
    assert "Now tracking" in text_of(harness.pmf("product create beta", user=MEMBER, channel="C2").reply())
    with unit_of_work(session_factory) as s:
        assert sorted(s.scalars(select(Product.slug))) == ["acme", "beta"]


def test_survey_close_by_a_member_is_refused_and_the_survey_stays_open(harness, seed_product, session_factory,
                                                                       members):
    seed_product("T1", "acme", "Acme", data=False)
    harness.pmf("survey start").reply()
    assert "Only a manager" in text_of(harness.pmf("survey close", user=MEMBER).reply())
    assert "Only" not in text_of(harness.pmf("survey status", user=MEMBER).reply())
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(Survey.closed_at)) is None


def test_config_history_shows_who_changed_what_old_to_new(harness, seed_product, members):
    seed_product("T1", "acme", "Acme", data=False)
    harness.pmf("config survey.threshold 0.3").reply()
    harness.pmf("product managers add <@UMGR|mgr>").reply()
    harness.pmf("product use acme", channel="C2").reply()
    history = text_of(harness.pmf("config history", user=MEMBER).reply())
    assert "<@U1> · setting `survey.threshold`: `0.4` → `0.3`" in history
    assert "<@U1> · managers: nobody → <@UMGR>" in history
    assert "<@U1> · channel <#C2>: `(none)` → `acme`" in history
    assert "Custom rules: survey bar 30% (default 40%), set by <@U1> on " in history


# ----------------------------------------------------------------------------- the admin cache
def test_a_second_command_does_not_ask_slack_again_whether_the_user_is_an_admin(harness, fake_slack, seed_product):
    fake_slack.add_user("UADMIN", admin=True)
    seed_product("T1", "acme", data=False)
    harness.pmf("config survey.threshold 0.35", user="UADMIN").reply()
    harness.pmf("config survey.threshold 0.3", user="UADMIN").reply()
    fake_slack.add_user(MEMBER)
    harness.pmf("config survey.threshold 0.2", user=MEMBER).reply()
    harness.pmf("config survey.threshold 0.2", user=MEMBER).reply()
    assert len(fake_slack.calls_to("users.info", user="UADMIN")) == 1
    assert len(fake_slack.calls_to("users.info", user=MEMBER)) == 1


def test_the_ack_arrives_before_a_slow_admin_look_up(harness, fake_slack, seed_product, session_factory):
    fake_slack.add_user("UADMIN", admin=True)
    seed_product("T1", "acme", data=False)
    fake_slack.delay("users.info", 2.0)
    r = harness.pmf("config survey.threshold 0.3", user="UADMIN")
    # The ack came back while the users.info answer was still held: no reply could exist yet,
    # because the change waits for it.
    assert r.status == 200 and "Working on" in text_of(r.ack())
    # Nothing had been learnt from users.info when the ack was back (the cache fills only once it
    # answers), and no reply existed yet.
    assert harness.ctx.admins.get("T1", "UADMIN") is None
    assert fake_slack.responses(r.response_id) == []
    assert "Changed `survey.threshold`" in text_of(r.reply())
    assert len(fake_slack.calls_to("users.info", user="UADMIN")) == 1
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(Product.settings)) == {"survey.threshold": 0.3}


# ----------------------------------------------------------------------------- buttons
MODAL_VALUES = {
    "pmf.survey.s.channel": {"value": {"type": "conversations_select", "selected_conversation": "C9"}},
    "pmf.survey.s.options": {"value": {"type": "checkboxes", "selected_options": []}},
    "pmf.survey.s.days": {"value": {"type": "number_input", "value": "7"}},
}


def test_app_home_buttons_that_change_things_refuse_a_member(harness, fake_slack, seed_product, session_factory,
                                                             members):
    seed_product("T1", "acme", "Acme", data=False)
    fake_slack.add_channel("C9", "community")
    before = _state(session_factory)
    assert harness.block_action("pmf.home.survey", "acme", user=MEMBER).status == 200
    refusal = fake_slack.wait_calls("chat.postMessage", channel="D" + MEMBER)[0]  # the DM opened by conversations.open
    assert "Only a manager of `acme` may start surveys" in refusal.params["text"]
    assert fake_slack.calls_to("views.open") == []
    # A forged or stale modal submission is checked too (after its ack), and starts nothing.
    r = harness.view_submission("pmf.survey.start_modal", MODAL_VALUES, user=MEMBER,
                                private_metadata=json.dumps({"product": "acme"}))
    assert r.status == 200
    harness.block_action("pmf.home.digest", "acme", user=MEMBER)
    fake_slack.wait_for(lambda: len(fake_slack.calls_to("chat.postMessage", channel="D" + MEMBER)) >= 3,
                        what="three refusals")
    texts = [c.params["text"] for c in fake_slack.calls_to("chat.postMessage", channel="D" + MEMBER)]
    assert any("may send the digest of `acme`" in t for t in texts)
    assert fake_slack.calls_to("chat.postMessage", channel="C9") == []
    assert _state(session_factory) == before


def test_the_digests_run_a_survey_button_refuses_a_member(harness, fake_slack, seed_product, session_factory,
                                                          members):
    seed_product("T1", "acme", "Acme", data=False)
    url = fake_slack.response_url("refused")
    harness.block_action("pmf.digest.survey", "acme", user=MEMBER, channel="C1", response_url=url,
                         container={"type": "message", "message_ts": "1700000001.000001", "channel_id": "C1"})
    (resp,) = fake_slack.wait_response("refused")
    assert "Only a manager of `acme` may start surveys" in text_of(resp.params)
    assert _state(session_factory)["surveys"] == []
