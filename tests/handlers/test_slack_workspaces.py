"""One workspace never reads or changes another's products; multi-workspace installs through
OAuth, tokens encrypted at rest, rotation honoured for requests and for jobs."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from bot.slack.installations import slack_bots, slack_installations
from bot.slack.oauth import ENCRYPTED_PREFIX, TokenCipher
from storage.models import ChannelBinding, Product, Workspace
from tests.fakes.fixtures import install_team
from tests.fakes.harness import SECRET_KEY


def _text(message: dict) -> str:
    parts = [message.get("text") or ""]
    parts += [b["text"]["text"] for b in message.get("blocks") or [] if isinstance(b.get("text"), dict)]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- isolation
@pytest.fixture(params=["single", "oauth"])
def any_harness(request, harness_factory):
    return harness_factory(request.param)


@pytest.fixture
def harness_factory(request):
    def make(kind):
        return request.getfixturevalue("harness" if kind == "single" else "oauth_harness")
    return make


def test_a_workspace_cannot_see_another_workspaces_products(any_harness, seed_product):
    seed_product("T1", "acme", "Acme")
    assert "No product is tracked" in _text(any_harness.pmf("", team="T2").reply())
    assert "No products yet" in _text(any_harness.pmf("product", team="T2").reply())
    assert "No product `acme`" in _text(any_harness.pmf("product use acme", team="T2").reply())
    assert "Acme" in any_harness.pmf("", team="T1").reply()["text"]


def test_a_workspace_cannot_change_another_workspaces_products(any_harness, seed_product, session_factory):
    seed_product("T1", "acme", "Acme", data=False)
    any_harness.pmf("config survey.threshold 0.2", team="T2").reply()
    any_harness.pmf("product use acme", team="T2").reply()
    any_harness.pmf("share", team="T2").reply()
    with session_factory() as s:
        assert s.scalar(select(Product.settings)) == {}
        assert s.scalars(select(ChannelBinding)).all() == []
    # T2 creating its own "acme" is fine and leaves T1's alone.
    any_harness.pmf('product create acme "T2 Acme"', team="T2").reply()
    with session_factory() as s:
        rows = s.execute(select(Workspace.team_id, Product.name).join(Product)).all()
        assert sorted(rows) == [("T1", "Acme"), ("T2", "T2 Acme")]
    assert "T2 Acme" in any_harness.pmf("", team="T2").reply()["text"]


def test_single_workspace_mode_adopts_the_local_workspace(harness, session_factory, demo_data):
    from bot.products import service as product_service

    product_service.create_product(session_factory, slug="acme", name="Acme")  # CLI, before Slack: workspace "local"
    assert "Acme" in harness.pmf("", team="TREAL").reply()["text"]
    with session_factory() as s:
        assert s.scalars(select(Workspace.team_id)).all() == ["TREAL"]


def test_oauth_mode_does_not_adopt_the_local_workspace(oauth_harness, session_factory):
    from bot.products import service as product_service

    product_service.create_product(session_factory, slug="acme", name="Acme")
    assert "No product is tracked" in _text(oauth_harness.pmf("", team="T1").reply())


# ----------------------------------------------------------------------------- tokens per team
def test_each_team_is_served_with_its_own_bot_token(oauth_harness, fake_slack, seed_product):
    seed_product("T1", "acme", data=False)
    seed_product("T2", "beta", data=False)
    oauth_harness.pmf("share", team="T1").reply()
    oauth_harness.pmf("share", team="T2", channel="C2").reply()
    posts = fake_slack.calls_to("chat.postMessage")
    assert {(c.params["channel"], c.token) for c in posts} == {("C1", "xoxb-team-one"), ("C2", "xoxb-team-two")}


def test_a_team_without_an_installation_is_told_to_reinstall(oauth_harness, fake_slack):
    r = oauth_harness.pmf("", team="T9")
    assert r.status == 200
    assert "could not load this workspace's installation" in r.reply()["text"]
    assert [c.method for c in fake_slack.calls] == ["response"]


def test_tokens_are_encrypted_at_rest(oauth_harness, session_factory):
    with session_factory() as s:
        bot_tokens = s.execute(select(slack_bots.c.bot_token)).scalars().all()
        install_tokens = s.execute(select(slack_installations.c.bot_token)).scalars().all()
    assert bot_tokens and install_tokens
    for value in bot_tokens + install_tokens:
        assert value.startswith(ENCRYPTED_PREFIX) and "xoxb" not in value
    assert TokenCipher(SECRET_KEY).decrypt(bot_tokens[0]) in ("xoxb-team-one", "xoxb-team-two")


def test_a_token_written_before_encryption_still_reads(oauth_harness, session_factory):
    with session_factory.begin() as s:
        s.execute(slack_bots.update().where(slack_bots.c.team_id == "T2").values(bot_token="xoxb-plain-old"))
    assert oauth_harness.app.installation_store.find_bot(enterprise_id=None, team_id="T2").bot_token == "xoxb-plain-old"


def test_another_secret_key_cannot_read_the_tokens(oauth_harness, session_factory):
    with session_factory() as s:
        stored = s.execute(select(slack_bots.c.bot_token)).scalars().first()
    assert TokenCipher("a-different-secret-key-123456").decrypt(stored) is None


# ----------------------------------------------------------------------------- rotation
def test_an_expiring_token_is_rotated_for_an_incoming_request(oauth_harness, fake_slack, seed_product,
                                                              session_factory):
    install_team(oauth_harness.app.installation_store, "T3", token="xoxe.xoxb-1-old", refresh_token="xoxe-1-old",
                 expires_at=int(time.time()) + 60)
    seed_product("T3", "acme", data=False)
    oauth_harness.pmf("share", team="T3").reply()
    refresh = fake_slack.calls_to("oauth.v2.access")
    assert len(refresh) == 1 and refresh[0].params["grant_type"] == "refresh_token"
    assert refresh[0].params["refresh_token"] == "xoxe-1-old"
    post = fake_slack.calls_to("chat.postMessage")[0]
    assert post.token.startswith("xoxe.xoxb-1-rotated-")
    bot = oauth_harness.app.installation_store.find_bot(enterprise_id=None, team_id="T3")
    assert bot.bot_token == post.token and bot.bot_token_expires_at > time.time() + 3600
    with session_factory() as s:
        raw = s.execute(select(slack_bots.c.bot_token).where(slack_bots.c.team_id == "T3")
                        .order_by(slack_bots.c.id.desc())).scalars().first()
    assert raw.startswith(ENCRYPTED_PREFIX)


def test_jobs_get_a_rotated_client_for_a_team(oauth_harness, fake_slack):
    install_team(oauth_harness.app.installation_store, "T3", token="xoxe.xoxb-1-old", refresh_token="xoxe-1-old",
                 expires_at=int(time.time()) + 60)
    client = oauth_harness.ctx.client_for_team("T3")
    assert client.token.startswith("xoxe.xoxb-1-rotated-")
    assert client.base_url == fake_slack.api_url
    assert oauth_harness.ctx.client_for_team("T1").token == "xoxb-team-one"
    assert len(fake_slack.calls_to("oauth.v2.access")) == 1


def test_jobs_for_a_team_that_is_not_installed_get_a_clear_error(oauth_harness):
    from bot.errors import NotFound

    with pytest.raises(NotFound, match="not installed"):
        oauth_harness.ctx.client_for_team("T404")


def test_every_client_honours_slack_api_url_and_retries(oauth_harness, harness, fake_slack):
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

    for h in (oauth_harness, harness):
        clients = [h.app.client, h.ctx.client_for_team("T1")]
        if h.app.oauth_flow is not None:
            clients += [h.app.oauth_flow.client, h.app._authorize.token_rotator.client]
        for c in clients:
            assert c.base_url == fake_slack.api_url
            kinds = {type(r) for r in c.retry_handlers}
            assert {RateLimitErrorRetryHandler, ServerErrorRetryHandler} <= kinds


# ----------------------------------------------------------------------------- the OAuth flow
def test_install_and_oauth_redirect_store_an_encrypted_installation(oauth_harness, fake_slack, session_factory):
    r = oauth_harness.request("GET", "/slack/install")
    assert r.status == 200
    headers = {k.lower(): v for k, v in r.headers.items()}
    cookie = headers["set-cookie"].split(";")[0]
    link = re.search(r'<a href="([^"]+)"', r.text).group(1).replace("&amp;", "&")
    query = parse_qs(urlparse(link).query)
    assert set(query["scope"][0].split(",")) >= {"commands", "chat:write", "files:write"}
    state = query["state"][0]
    fake_slack.oauth_installs["code-123"] = {
        "ok": True, "app_id": "A1", "authed_user": {"id": "UADMIN"}, "scope": "commands,chat:write",
        "token_type": "bot", "access_token": "xoxb-new-team", "bot_user_id": "UBOT",
        "team": {"id": "TNEW", "name": "New Team"}, "enterprise": None, "is_enterprise_install": False,
    }
    done = oauth_harness.request("GET", f"/slack/oauth_redirect?code=code-123&state={state}", headers={"Cookie": cookie})
    assert done.status == 200, done.text
    bot = oauth_harness.app.installation_store.find_bot(enterprise_id=None, team_id="TNEW")
    assert bot is not None and bot.bot_token == "xoxb-new-team"
    with session_factory() as s:
        raw = s.execute(select(slack_bots.c.bot_token).where(slack_bots.c.team_id == "TNEW")).scalars().one()
    assert raw.startswith(ENCRYPTED_PREFIX)


def test_oauth_redirect_with_a_forged_state_is_refused(oauth_harness, fake_slack):
    fake_slack.oauth_installs["code-1"] = {"ok": True}
    r = oauth_harness.request("GET", "/slack/oauth_redirect?code=code-1&state=forged")
    assert r.status >= 400
    assert fake_slack.calls_to("oauth.v2.access") == []
