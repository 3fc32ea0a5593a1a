"""Events and the App Home: views.publish on app_home_opened, its buttons, exactly-once
processing of redelivered events, and uninstall / token revocation deleting tokens and data."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from bot.render.limits import validate_view
from bot.slack.installations import slack_bots, slack_installations
from storage.models import (
    ActivityEventWeek,
    ChannelBinding,
    EventName,
    IngestToken,
    Product,
    ProductUser,
    SlackEventReceipt,
    Workspace,
)
from tests.fakes.slack_api import PNG_MAGIC, text_of


def _home_opened(user: str = "U1") -> dict:
    return {"type": "app_home_opened", "user": user, "channel": "DU1", "tab": "home", "event_ts": str(time.time())}


def _count(session_factory, model) -> int:
    with session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


# ----------------------------------------------------------------------------- App Home
def test_app_home_opened_publishes_verdict_signals_and_buttons(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    seed_product("T1", "empty", "Empty", data=False)
    assert harness.event(_home_opened()).status == 200
    call = fake_slack.wait_calls("views.publish")[0]
    assert call.params["user_id"] == "U1"
    view = call.json_param("view")
    assert view["type"] == "home"
    text = text_of(view)
    # The 12-week sample: its only 6-cohort retention tail is weeks 1-6, still falling.
    assert "Acme" in text and "Not ready to scale" in text
    assert "Retention" in text and "Organic" in text
    assert "No data for Empty yet" in text and "pmfbot import signups FILE --product empty" in text
    action_ids = {el["action_id"] for b in view["blocks"] if b["type"] == "actions" for el in b["elements"]}
    assert {"pmf.home.check", "pmf.home.survey", "pmf.home.digest"} <= action_ids


def test_the_home_digest_button_says_it_previews_in_your_dm_and_does_just_that(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    harness.event(_home_opened())
    view = fake_slack.wait_calls("views.publish")[0].json_param("view")
    validate_view(view)
    labels = {el["action_id"]: el["text"]["text"] for b in view["blocks"] if b["type"] == "actions"
              for el in b["elements"]}
    assert labels["pmf.home.digest"] == "Preview digest in my DM"
    assert "Send digest now" not in text_of(view)
    harness.block_action("pmf.home.digest", "acme")
    (post,) = fake_slack.wait_calls("chat.postMessage", channel="DU1", timeout=30)
    assert post.params["text"].startswith("Weekly PMF digest — Acme")
    assert fake_slack.calls_to("chat.postMessage", channel="C1") == []


def test_app_home_without_products_shows_getting_started(harness, fake_slack):
    harness.event(_home_opened())
    view = fake_slack.wait_calls("views.publish")[0].json_param("view")
    assert "Getting started" in text_of(view)


def test_app_home_messages_tab_is_ignored(harness, fake_slack):
    harness.event({**_home_opened(), "tab": "messages"}, event_id="EvMSG")
    harness.event(_home_opened(), event_id="EvHOME")
    fake_slack.wait_calls("views.publish")
    assert len(fake_slack.calls_to("views.publish")) == 1


def test_a_redelivered_event_is_processed_once(harness, fake_slack, session_factory):
    first = harness.event(_home_opened(), event_id="Ev0001")
    again = harness.event(_home_opened(), event_id="Ev0001", retry_num=1)
    assert first.status == again.status == 200
    fake_slack.wait_calls("views.publish")
    harness.event(_home_opened(), event_id="Ev0002")  # a new event is processed
    fake_slack.wait_calls("views.publish", 2)
    harness.settle()  # anything the request was going to do is done
    assert len(fake_slack.calls_to("views.publish")) == 2
    with session_factory() as s:
        assert sorted(s.scalars(select(SlackEventReceipt.event_id))) == ["Ev0001", "Ev0002"]


def test_home_check_button_sends_report_and_chart_to_the_users_dm(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    r = harness.block_action("pmf.home.check", "acme")
    assert r.status == 200
    post = fake_slack.wait_calls("chat.postMessage")[0]
    assert post.params["channel"] == "DU1" and "Acme" in post.params["text"]
    fake_slack.wait_for(lambda: fake_slack.uploaded_png("DU1"), what="chart in the DM")
    assert fake_slack.uploaded_png("DU1")[0].startswith(PNG_MAGIC)
    fake_slack.wait_calls("views.publish")  # the Home tab is refreshed


def test_home_check_button_for_another_workspaces_product_reveals_nothing(harness, fake_slack, seed_product):
    seed_product("T2", "secret", "Secret")
    harness.block_action("pmf.home.check", "secret", team="T1")
    dm = fake_slack.wait_calls("chat.postMessage")[0]  # the error, told in the user's DM
    assert dm.params["channel"] == "DU1"  # the DM opened with conversations.open
    assert "No product `secret`" in dm.params["text"]
    assert "Secret" not in dm.params["text"]
    assert fake_slack.uploaded_png("DU1") == []


# ----------------------------------------------------------------------------- lifecycle
def _seed_everything(seed_product, harness, team="T1"):
    seed_product(team, "acme", "Acme")
    harness.pmf("product use acme", team=team).reply()
    harness.pmf("token", team=team).reply()


def test_app_uninstalled_deletes_the_workspaces_data(harness, fake_slack, seed_product, session_factory):
    _seed_everything(seed_product, harness, "T1")
    seed_product("T2", "other", "Other", data=False)
    assert _count(session_factory, ProductUser) > 0
    assert _count(session_factory, ActivityEventWeek) > 0 and _count(session_factory, EventName) > 0
    assert harness.event({"type": "app_uninstalled"}, team="T1", event_id="EvUNINSTALL").status == 200
    harness.wait(lambda: _count(session_factory, Workspace) == 1, what="workspace T1 deleted")
    with session_factory() as s:
        assert s.scalar(select(Workspace.team_id)) == "T2"
        assert s.scalars(select(Product.slug)).all() == ["other"]
    # activity_event_weeks has no foreign key: the workspace's deletion removes its rows itself.
    for model in (ProductUser, ChannelBinding, IngestToken, ActivityEventWeek, EventName):
        assert _count(session_factory, model) == 0


def test_app_uninstalled_in_oauth_mode_deletes_the_teams_tokens_only(oauth_harness, fake_slack, seed_product,
                                                                     session_factory):
    seed_product("T1", "acme", data=False)
    oauth_harness.event({"type": "app_uninstalled"}, team="T1", event_id="EvUN1")

    def teams(table):
        with session_factory() as s:
            return sorted(s.execute(select(table.c.team_id)).scalars())

    oauth_harness.wait(lambda: teams(slack_bots) == ["T2"], what="T1's bot rows deleted")
    assert teams(slack_installations) == ["T2"]
    assert _count(session_factory, Product) == 0
    store = oauth_harness.app.installation_store
    assert store.find_bot(enterprise_id=None, team_id="T1") is None
    assert store.find_bot(enterprise_id=None, team_id="T2").bot_token == "xoxb-team-two"


def test_a_redelivered_uninstall_after_a_reinstall_does_not_delete_again(harness, seed_product, session_factory):
    seed_product("T1", "acme", data=False)
    harness.event({"type": "app_uninstalled"}, team="T1", event_id="EvUN2")
    harness.wait(lambda: _count(session_factory, Product) == 0, what="deleted")
    seed_product("T1", "acme", data=False)  # reinstalled and set up again
    assert harness.event({"type": "app_uninstalled"}, team="T1", event_id="EvUN2", retry_num=1).status == 200
    harness.settle()  # anything the request was going to do is done
    assert _count(session_factory, Product) == 1


def test_bot_tokens_revoked_deletes_tokens_and_data(oauth_harness, seed_product, session_factory):
    seed_product("T1", "acme", data=False)
    oauth_harness.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, team="T1", event_id="EvREV")
    oauth_harness.wait(lambda: _count(session_factory, Product) == 0, what="data deleted")
    assert oauth_harness.app.installation_store.find_bot(enterprise_id=None, team_id="T1") is None


def test_user_tokens_revoked_keeps_the_workspace(oauth_harness, seed_product, session_factory):
    seed_product("T1", "acme", data=False)
    oauth_harness.event({"type": "tokens_revoked", "tokens": {"oauth": ["UINSTALLER"]}}, team="T1",
                        event_id="EvREVU")

    def installer_rows():
        with session_factory() as s:
            return s.scalar(select(func.count()).select_from(slack_installations)
                            .where(slack_installations.c.team_id == "T1"))

    oauth_harness.wait(lambda: installer_rows() == 0, what="the user's installation row deleted")
    assert _count(session_factory, Product) == 1
    assert oauth_harness.app.installation_store.find_bot(enterprise_id=None, team_id="T1") is not None
