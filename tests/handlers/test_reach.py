"""Reach (issue 21, item 11): `/pmf-check status PRODUCT`, `/pmf-check lessons [PRODUCT]`, Beacon's
next steps name no server command, the App Home's manager-only buttons only for managers, and
`/pmf-check` in a DM explains where it works. Real Bolt app, signed requests, fake Slack API."""

from __future__ import annotations

import time

from bot.products import managers
from bot.reports import service as reports
from tests.fakes.fixtures import AS_OF
from tests.fakes.slack_api import text_of

MEMBER = "UMEMBER"


def _two_products(seed_product):  # type: ignore[no-untyped-def]
    seed_product("T1", "acme", "Acme")
    return seed_product("T1", "beacon", "Beacon")


def test_status_and_lessons_take_a_product_by_name(harness, seed_product, session_factory):  # type: ignore[no-untyped-def]
    _two_products(seed_product)
    harness.pmf("product use acme").reply()
    beacon = text_of(harness.pmf("status beacon").reply())
    assert "Beacon" in beacon and "Unexpected" not in beacon
    expected = reports.gate_report(session_factory, product_slug="beacon", team_id="T1", as_of=AS_OF)
    assert expected.survey.summary.split(";")[0] in beacon  # the named product's own figures
    lessons = text_of(harness.pmf("lessons beacon").reply())
    assert "Beacon · the survey's lessons" in lessons and "What the very disappointed love" in lessons
    here = text_of(harness.pmf("lessons").reply())
    assert "Acme · the survey's lessons" in here  # the channel's product without a name
    wrong = text_of(harness.pmf("status nope").reply())
    assert "No product `nope`" in wrong


def test_next_steps_never_send_a_slack_user_to_the_server(harness, seed_product):  # type: ignore[no-untyped-def]
    from bot.domain.gate import SCALE_STEPS

    seed_product("T1", "beacon", "Beacon")
    assert not any("pmfbot" in step for step in SCALE_STEPS)
    assert any("/pmf-check lessons" in step for step in SCALE_STEPS)
    reply = text_of(harness.pmf("status").reply())
    assert "pmfbot survey" not in reply


def _home(harness, fake_slack, user: str) -> str:  # type: ignore[no-untyped-def]
    seen = len(fake_slack.calls_to("views.publish"))
    harness.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                   "event_ts": str(time.time())})
    calls = [c for c in fake_slack.wait_calls("views.publish", seen + 1) if c.params.get("user_id") == user]
    view = calls[-1].json_param("view")
    return str(view)


def test_app_home_shows_manager_buttons_only_to_managers(harness, fake_slack, seed_product, session_factory):  # type: ignore[no-untyped-def]
    fake_slack.add_user(MEMBER)
    fake_slack.add_user("UMGR")
    acme = seed_product("T1", "acme", "Acme", data=False)
    seed_product("T1", "beacon", "Beacon", data=False)
    managers.add_manager(session_factory, product=acme, user_id="UMGR", actor="cli")
    member = _home(harness, fake_slack, MEMBER)
    assert "pmf.home.check" in member and "pmf.home.survey" not in member and "pmf.home.digest" not in member
    manager = _home(harness, fake_slack, "UMGR")
    assert manager.count("pmf.home.survey") == 1 and manager.count("pmf.home.digest") == 1  # acme's, not beacon's
    admin = _home(harness, fake_slack, "U1")  # the harness's U1 is a workspace admin
    assert admin.count("pmf.home.survey") == 2


def test_pmf_check_in_a_dm_explains_where_it_works(harness, seed_product):  # type: ignore[no-untyped-def]
    _two_products(seed_product)
    r = harness.pmf("survey start", channel="DU1")
    assert "works in a channel" in r.ack()["text"] and "/pmf-check status PRODUCT" in r.ack()["text"]
    reply = text_of(harness.pmf("status", channel="DU1").reply())
    assert "in a direct message, name one" in reply and "`/pmf-check status acme`" in reply
    named = text_of(harness.pmf("status beacon", channel="DU1").reply())
    assert "Beacon" in named


def test_each_subcommand_declares_whether_it_works_in_a_dm(harness, seed_product):  # type: ignore[no-untyped-def]
    # The DM rule is declared where the subcommand is registered (router.add(..., in_dm=True)),
    # not in a second list: channel-bound ones explain, DM-capable ones run.
    _two_products(seed_product)
    for sub in ("share", "config survey.threshold 0.4", "product list", "token list"):
        assert "works in a channel" in harness.pmf(sub, channel="DU1").ack()["text"], sub
    for sub in ("help", "lessons acme", "history acme", "status acme"):
        ack = harness.pmf(sub, channel="DU1").ack()
        assert "works in a channel" not in str(ack), sub
