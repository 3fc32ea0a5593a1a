"""``/pmf-check`` over real HTTP with signed requests: every subcommand this module owns and
every malformed one. The ack must be fast and immediate; the report follows on response_url."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from bot.render.limits import validate_message
from storage.models import ChannelBinding, IngestToken, Product
from tests.fakes.slack_api import PNG_MAGIC, text_of


# ----------------------------------------------------------------------------- status
@pytest.mark.parametrize("text", ["", "status", "  STATUS  "])
def test_status_acks_at_once_then_the_report_replaces_the_placeholder_with_a_private_chart(
        harness, fake_slack, seed_product, text):
    seed_product("T1", "acme", "Acme")
    r = harness.pmf(text)
    assert r.status == 200
    assert r.status == 200
    assert r.ack()["response_type"] == "ephemeral"
    assert "Working on" in r.ack()["text"]

    reply = r.reply()
    assert reply["replace_original"] is True
    assert reply["response_type"] == "ephemeral"
    # The 12-week sample: its only 6-cohort retention tail is weeks 1-6, still falling.
    assert "Acme" in reply["text"] and "Not ready to scale" in text_of(reply)
    assert "only you can see it" in text_of(reply)
    # The chart went to the invoker's DM with the app, never to the channel.
    pngs = fake_slack.uploaded_png("DU1")
    assert len(pngs) == 1 and pngs[0].startswith(PNG_MAGIC)
    assert fake_slack.uploaded_png("C1") == []
    assert fake_slack.calls_to("chat.postMessage") == []
    assert fake_slack.calls_to("conversations.open")[0].params["users"] == "U1"
    validate_message(reply)


def test_the_same_chart_is_not_sent_to_a_dm_twice(harness, fake_slack, seed_product):
    seed_product("T1", "acme")
    first = harness.pmf("").reply()
    second = harness.pmf("").reply()
    assert len(fake_slack.uploaded_png("DU1")) == 1
    link = re.search(r"<(https://[^|>]+)\|in your DM", text_of(first)).group(1)
    assert link in text_of(second)
    harness.pmf("", user="U2").reply()  # another person gets their own copy
    assert len(fake_slack.uploaded_png("DU2")) == 1


def test_status_uses_the_bot_token_for_every_web_api_call(harness, fake_slack, seed_product):
    seed_product("T1", "acme")
    harness.pmf("status").reply()
    api_calls = [c for c in fake_slack.calls if c.method not in ("upload", "response")]
    assert api_calls and {c.token for c in api_calls} == {"xoxb-test-token"}


def test_status_without_any_product_says_how_to_create_one(harness, fake_slack):
    reply = harness.pmf("").reply()
    text = text_of(reply)
    assert "No product is tracked" in text and "/pmf-check product create SLUG" in text
    assert fake_slack.calls_to("files.completeUploadExternal") == []


def test_status_with_several_products_and_none_bound_lists_them(harness, seed_product):
    seed_product("T1", "acme", data=False)
    seed_product("T1", "beta", data=False)
    text = text_of(harness.pmf("").reply())
    assert "`acme`" in text and "`beta`" in text and "product use SLUG" in text


def test_status_follows_the_channels_bound_product(harness, seed_product):
    seed_product("T1", "acme", "Acme")
    seed_product("T1", "beta", "Beta", data=False)
    harness.pmf("product use beta").reply()
    assert "Beta" in harness.pmf("").reply()["text"]
    # Another channel is bound to nothing and the workspace has two products: it must choose.
    assert "several products" in text_of(harness.pmf("", channel="C9").reply())


def test_twenty_parallel_checks_compute_the_report_once(harness, fake_slack, seed_product, monkeypatch):
    from bot.reports import service as services

    seed_product("T1", "acme")
    calls = []
    real = services.compute_report
    monkeypatch.setattr(services, "compute_report", lambda *a, **k: calls.append(1) or real(*a, **k))
    results = [harness.pmf("", user=f"U{i}") for i in range(20)]
    # Every request is acked (the ack's latency is measured by bench/slack_ack.py, not asserted here).
    assert all(r.status == 200 for r in results)
    for r in results:
        assert "Acme" in r.reply(timeout=30)["text"]
    assert len(calls) == 1


def test_a_new_import_is_reflected_in_the_next_report(harness, seed_product, session_factory, demo_data):
    harness.ctx.reports.fingerprint_ttl = 0.0  # no burst to absorb here
    seed_product("T1", "acme", data=False)
    first = harness.pmf("").reply()
    assert "No data for Acme yet" in text_of(first)
    from bot.ingest.csv_import import import_csv

    import_csv(session_factory, kind="signups", path=demo_data.signups, product_slug="acme", team_id="T1",
               progress=False)
    second = harness.pmf("").reply()
    assert text_of(second) != text_of(first)


# ----------------------------------------------------------------------------- share
def test_share_posts_report_and_chart_in_a_channel_the_bot_is_in(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    r = harness.pmf("share")
    assert r.status == 200
    confirmation = r.reply()
    assert "Posted the report" in confirmation["text"] and confirmation["replace_original"] is True
    post = fake_slack.calls_to("chat.postMessage")[0]
    assert post.params["channel"] == "C1"
    assert "Acme" in post.params["text"]
    assert len(fake_slack.uploaded_png("C1")) == 1
    assert fake_slack.calls_to("conversations.join") == []
    validate_message({"text": post.params["text"], "blocks": post.json_param("blocks")})
    assert post.json_param("metadata")["event_type"] == "pmf_gate_report"


def test_share_in_a_public_channel_joins_it_first(harness, fake_slack, seed_product):
    seed_product("T1", "acme")
    harness.pmf("share", channel="C2").reply()
    methods = [c.method for c in fake_slack.calls if c.method in ("conversations.join", "chat.postMessage")]
    assert methods == ["conversations.join", "chat.postMessage"]
    assert len(fake_slack.uploaded_png("C2")) == 1


def test_share_in_a_private_channel_without_the_bot_explains_how_to_invite_it(harness, fake_slack, seed_product):
    seed_product("T1", "acme")
    reply = harness.pmf("share", channel="G1").reply()
    assert "/invite @PMF Gate" in text_of(reply)
    assert reply["response_type"] == "ephemeral"
    assert fake_slack.calls_to("chat.postMessage") == [] and fake_slack.calls_to("conversations.join") == []
    assert fake_slack.uploaded_png("G1") == []


def test_share_in_a_private_channel_with_the_bot_posts(harness, fake_slack, seed_product):
    fake_slack.add_channel("G2", "founders", private=True, member=True)
    seed_product("T1", "acme")
    harness.pmf("share", channel="G2").reply()
    assert fake_slack.calls_to("chat.postMessage", channel="G2")
    assert len(fake_slack.uploaded_png("G2")) == 1


def test_share_in_an_archived_channel_says_so(harness, fake_slack, seed_product):
    fake_slack.add_channel("C3", "old", archived=True)
    seed_product("T1", "acme")
    assert "archived" in text_of(harness.pmf("share", channel="C3").reply())
    assert fake_slack.calls_to("chat.postMessage") == []


# ----------------------------------------------------------------------------- help
def test_help_covers_every_subcommand_of_this_module(harness):
    text = text_of(harness.pmf("help").reply())
    for phrase in ("/pmf-check [status]", "/pmf-check share", "/pmf-check product create SLUG [NAME]",
                   "/pmf-check product use SLUG", "/pmf-check config KEY VALUE", "/pmf-check token",
                   "/pmf-check help"):
        assert phrase in text


def test_help_lists_the_usage_of_subcommands_other_features_register(harness, session_factory, slack_settings):
    from slack_bolt import App

    from bot.app import build_context
    from handlers.registry import register_all

    ctx = build_context(slack_settings, session_factory)
    router = register_all(App(token="xoxb-test", signing_secret="unused", token_verification_enabled=False), ctx)
    helps = [line for sub in router.subcommands.values() for line in sub.usage]
    text = text_of(harness.pmf("help").reply())
    for syntax, _ in helps:
        assert syntax in text


# ----------------------------------------------------------------------------- product
def test_product_lists_products_and_marks_the_bound_one(harness, seed_product):
    seed_product("T1", "acme", "Acme", data=False)
    seed_product("T1", "beta", "Beta", data=False)
    harness.pmf("product use beta").reply()
    text = text_of(harness.pmf("product").reply())
    assert "Acme" in text and "Beta" in text
    assert "bound to this channel" in text


def test_product_with_no_products_says_how_to_start(harness):
    assert "No products yet" in text_of(harness.pmf("product").reply())


def test_product_create_creates_and_binds_an_unbound_channel(harness, session_factory):
    reply = harness.pmf('product create acme "Acme Inc"').reply()
    assert "Acme Inc" in reply["text"] and "bound" in reply["text"]
    with session_factory() as s:
        p = s.scalar(select(Product).where(Product.slug == "acme"))
        assert p is not None and p.name == "Acme Inc"
        assert s.scalar(select(ChannelBinding).where(ChannelBinding.channel_id == "C1")).product_id == p.id


def test_product_create_takes_a_multi_word_name_without_quotes(harness, session_factory):
    harness.pmf("product create acme Acme Analytics Cloud").reply()
    with session_factory() as s:
        assert s.scalar(select(Product.name).where(Product.slug == "acme")) == "Acme Analytics Cloud"


def test_product_create_keeps_an_existing_binding(harness, session_factory):
    harness.pmf("product create acme").reply()
    reply = harness.pmf("product create beta").reply()
    assert "bound" not in reply["text"]
    with session_factory() as s:
        bound = s.scalar(select(Product.slug).join(ChannelBinding, ChannelBinding.product_id == Product.id))
        assert bound == "acme"


def test_product_use_binds_this_channel(harness, session_factory, seed_product):
    seed_product("T1", "acme", data=False)
    seed_product("T1", "beta", data=False)
    reply = harness.pmf("product use beta", channel="C2").reply()
    assert "<#C2>" in reply["text"]
    with session_factory() as s:
        row = s.scalar(select(ChannelBinding).where(ChannelBinding.channel_id == "C2"))
        assert s.get(Product, row.product_id).slug == "beta"


@pytest.mark.parametrize("text, expected", [
    ("product create", "takes `create SLUG [NAME]`"),
    ("product use", "takes `create SLUG [NAME]`"),
    ("product use a b", "takes `create SLUG [NAME]`"),
    ("product frobnicate", "takes `create SLUG [NAME]`"),
    ("product list extra", "takes `create SLUG [NAME]`"),
    ("product create Not_A_Slug!", "not a valid product slug"),
    ("product use nope", "No product `nope`"),
])
def test_malformed_product_commands_change_nothing_and_show_usage(harness, session_factory, text, expected):
    reply = harness.pmf(text).reply()
    body = text_of(reply)
    assert expected in body
    assert reply["response_type"] == "ephemeral"
    if "takes" in expected:
        assert "/pmf-check product create SLUG [NAME]" in body
    with session_factory() as s:
        assert s.scalars(select(Product)).all() == []


def test_product_create_twice_is_refused(harness, session_factory):
    harness.pmf("product create acme").reply()
    assert "already exists" in text_of(harness.pmf("product create acme").reply())
    with session_factory() as s:
        assert len(s.scalars(select(Product)).all()) == 1


# ----------------------------------------------------------------------------- config
def test_config_shows_every_setting(harness, seed_product):
    seed_product("T1", "acme", data=False)
    text = text_of(harness.pmf("config").reply())
    for key in ("timezone", "retention.min_weeks", "organic.min_share", "survey.threshold"):
        assert key in text


def test_config_key_value_changes_the_setting(harness, seed_product, session_factory):
    seed_product("T1", "acme", data=False)
    r = harness.pmf("config survey.threshold 0.35")
    reply = r.reply()
    assert "Changed `survey.threshold`" in reply["text"]
    assert "`survey.threshold` = *0.35* (share of answers; default 0.4) — changed" in text_of(reply)
    validate_message(reply)
    harness.ctx.work.drain()
    assert len(harness.fake.responses(r.response_id)) == 1  # one answer, not a confirmation and a listing
    with session_factory() as s:
        assert s.scalar(select(Product.settings))["survey.threshold"] == 0.35


def test_config_changes_the_channel_map(harness, seed_product, session_factory):
    seed_product("T1", "acme", data=False)
    harness.pmf("config channel.newsletter paid").reply()
    with session_factory() as s:
        assert s.scalar(select(Product.settings))["channel.newsletter"] == "paid"


@pytest.mark.parametrize("text, expected", [
    ("config survey.threshold", "takes nothing (show), `history`, or exactly `KEY VALUE`"),
    ("config a b c", "takes nothing (show), `history`, or exactly `KEY VALUE`"),
    ("config survey.threshold lots", "must be a number"),
    ("config survey.threshold 7", "must be between"),
    ("config nonsense 1", "Unknown setting"),
    ("config survey.treshold 0.3", "Unknown setting `survey.treshold`. Did you mean `survey.threshold`?"),
    ("config timezone Mars/Olympus", "not an IANA time zone"),
])
def test_malformed_config_changes_nothing(harness, seed_product, session_factory, text, expected):
    seed_product("T1", "acme", data=False)
    assert expected in text_of(harness.pmf(text).reply())
    with session_factory() as s:
        assert s.scalar(select(Product.settings)) == {}


def test_config_without_a_product_says_how_to_create_one(harness):
    assert "product create" in text_of(harness.pmf("config").reply())


# ----------------------------------------------------------------------------- token
def test_token_is_shown_once_and_only_its_hash_is_stored(harness, session_factory):
    reply = harness.pmf("token").reply()
    assert reply["response_type"] == "ephemeral"
    token = reply["text"].split("```")[1]
    assert token.startswith("pmfgate_") and len(token) > 40
    with session_factory() as s:
        row = s.scalar(select(IngestToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (row.prefix, row.token_hash) and row.created_by == "U1"


# ----------------------------------------------------------------------------- malformed
@pytest.mark.parametrize("text, expected", [
    ("frobnicate", "Unknown subcommand `frobnicate`"),
    ("status now", "No product `now`"), ("status acme beacon", "takes one product at most"),
    ("share <#C2|growth>", "Unexpected"),
    ("token please", "No product `please`"), ("token revoke", "Say which token"),
    ("help me", "Unexpected `me`"),
])
def test_malformed_commands_get_what_was_wrong_and_the_usage(harness, fake_slack, text, expected):
    r = harness.pmf(text)
    assert r.status == 200
    if text == "frobnicate":  # known at once: answered in the ack itself
        body = text_of(r.ack())
        assert r.ack()["response_type"] == "ephemeral"
    else:
        body = text_of(r.reply())
    assert expected in body
    assert "Usage" in body
    assert fake_slack.calls_to("chat.postMessage") == []


def test_unbalanced_quotes_are_still_parsed(harness, session_factory):
    harness.pmf("product create acme Bob's app").reply()
    with session_factory() as s:
        assert s.scalar(select(Product.name)) == "Bob's app"


# ----------------------------------------------------------------------------- forgiving words
@pytest.mark.parametrize("text, expected", [
    ("stauts", "Unknown subcommand `stauts`. Did you mean `status`?"),
    ("sruvey start", "Did you mean `survey`?"),
    ("confg", "Did you mean `config`?"),
])
def test_a_subcommand_typo_is_answered_in_the_ack_with_a_did_you_mean(harness, text, expected):
    ack = harness.pmf(text).ack()
    assert expected in text_of(ack)
    validate_message(ack)


@pytest.mark.parametrize("text, expected", [
    ("survey stat", "does not understand `stat`. Did you mean `start`?"),
    ("digest weelky", "does not understand `weelky`. Did you mean `weekly`?"),
])
def test_an_action_typo_gets_a_did_you_mean(harness, seed_product, text, expected):
    seed_product("T1", "acme", data=False)
    reply = harness.pmf(text).reply()
    assert expected in text_of(reply)
    validate_message(reply)


def test_an_unrelated_word_gets_no_guess(harness):
    body = text_of(harness.pmf("xylophone").ack())
    assert "Unknown subcommand `xylophone`." in body and "Did you mean" not in body


def test_product_use_of_an_unknown_slug_suggests_the_close_one_and_the_slack_command(harness, seed_product):
    seed_product("T1", "acme", data=False)
    reply = harness.pmf("product use acme2").reply()
    body = text_of(reply)
    assert "No product `acme2` in this workspace. Did you mean `acme`?" in body
    assert "`/pmf-check product create acme2`" in body and "pmfbot" not in body
    validate_message(reply)


def test_product_use_escapes_what_was_typed(harness, seed_product):
    seed_product("T1", "acme", data=False)
    body = text_of(harness.pmf("product use <!channel>").reply())
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body


def test_the_placeholder_names_a_channel_instead_of_showing_its_id(harness, seed_product):
    seed_product("T1", "acme", data=False)
    ack = harness.pmf("digest list <#C2|growth>").ack()
    assert ack["text"] == ":hourglass_flowing_sand: Working on `/pmf-check digest list #growth`…"
    validate_message(ack)
