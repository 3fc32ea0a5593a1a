"""manifest.json follows Slack's app manifest schema (the fields and limits PMF Gate uses) and
asks for exactly the scopes and events the code needs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bot.slack.oauth import BOT_SCOPES
from handlers.commands.pmf_check import COMMAND

ROOT = Path(__file__).resolve().parents[1]

# Slack's manifest schema: allowed keys per object (the subset an HTTP app like ours can use).
ALLOWED = {
    "": {"_metadata", "display_information", "features", "oauth_config", "settings", "functions", "workflows",
         "datastores", "outgoing_domains", "types"},
    "_metadata": {"major_version", "minor_version"},
    "display_information": {"name", "description", "long_description", "background_color"},
    "features": {"app_home", "bot_user", "shortcuts", "slash_commands", "unfurl_domains", "workflow_steps",
                 "assistant_view"},
    "app_home": {"home_tab_enabled", "messages_tab_enabled", "messages_tab_read_only_enabled"},
    "bot_user": {"display_name", "always_online"},
    "slash_command": {"command", "description", "should_escape", "url", "usage_hint"},
    "oauth_config": {"redirect_urls", "scopes", "token_management_enabled"},
    "scopes": {"bot", "user"},
    "settings": {"allowed_ip_address_ranges", "event_subscriptions", "incoming_webhooks", "interactivity",
                 "org_deploy_enabled", "socket_mode_enabled", "token_rotation_enabled", "is_hosted",
                 "function_runtime", "siws_links"},
    "event_subscriptions": {"request_url", "bot_events", "user_events", "metadata_subscriptions"},
    "interactivity": {"is_enabled", "request_url", "message_menu_options_url"},
}
# Which scope each Events API subscription and each Web API method we call needs.
EVENT_SCOPES = {"message.channels": "channels:history", "message.groups": "groups:history",
                "app_home_opened": None, "app_uninstalled": None, "tokens_revoked": None}
METHOD_SCOPES = {
    "chat.postMessage": {"chat:write"}, "chat.postEphemeral": {"chat:write"}, "chat.update": {"chat:write"},
    "files.getUploadURLExternal": {"files:write"}, "files.completeUploadExternal": {"files:write"},
    "conversations.join": {"channels:join"}, "conversations.open": {"im:write"},
    "conversations.info": {"channels:read", "groups:read", "im:read"},
    "conversations.history": {"channels:history", "groups:history"}, "users.info": {"users:read", "users:read.email"},
    "views.publish": set(), "views.open": set(), "/pmf-check": {"commands"},
}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))


def _keys_ok(obj: dict, kind: str) -> None:
    unknown = set(obj) - ALLOWED[kind]
    assert not unknown, f"{kind or 'top level'} has keys Slack's schema does not define: {unknown}"


def test_structure_follows_the_schema(manifest):
    _keys_ok(manifest, "")
    _keys_ok(manifest["_metadata"], "_metadata")
    assert manifest["_metadata"]["major_version"] in (1, 2)
    di = manifest["display_information"]
    _keys_ok(di, "display_information")
    assert di["name"] == "PMF Gate" and 1 <= len(di["name"]) <= 35
    assert len(di["description"]) <= 140
    assert 174 <= len(di["long_description"]) <= 4000
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", di["background_color"])
    f = manifest["features"]
    _keys_ok(f, "features")
    _keys_ok(f["app_home"], "app_home")
    _keys_ok(f["bot_user"], "bot_user")
    assert f["bot_user"]["display_name"] == "PMF Gate" and len(f["bot_user"]["display_name"]) <= 80
    assert f["app_home"]["home_tab_enabled"] is True
    # Report charts from the Home tab arrive in the app's DM: users must be able to see it.
    assert f["app_home"]["messages_tab_enabled"] is True
    oc = manifest["oauth_config"]
    _keys_ok(oc, "oauth_config")
    _keys_ok(oc["scopes"], "scopes")
    s = manifest["settings"]
    _keys_ok(s, "settings")
    _keys_ok(s["event_subscriptions"], "event_subscriptions")
    _keys_ok(s["interactivity"], "interactivity")
    assert all(isinstance(s[k], bool) for k in ("org_deploy_enabled", "socket_mode_enabled", "token_rotation_enabled"))


def test_the_slash_command(manifest):
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [COMMAND] == ["/pmf-check"]
    cmd = commands[0]
    _keys_ok(cmd, "slash_command")
    assert cmd["should_escape"] is True
    assert re.fullmatch(r"/[a-z0-9_-]{1,31}", cmd["command"])
    assert 1 <= len(cmd["description"]) <= 2000 and len(cmd["usage_hint"]) <= 1000
    assert urlparse(cmd["url"]).path == "/slack/events"


def test_urls_point_at_our_routes(manifest):
    s = manifest["settings"]
    for url in (s["event_subscriptions"]["request_url"], s["interactivity"]["request_url"]):
        assert urlparse(url).scheme == "https" and urlparse(url).path == "/slack/events"
    assert [urlparse(u).path for u in manifest["oauth_config"]["redirect_urls"]] == ["/slack/oauth_redirect"]
    assert s["interactivity"]["is_enabled"] is True


def test_scopes_are_exactly_what_the_code_uses(manifest):
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == set(BOT_SCOPES)
    needed = set().union(*METHOD_SCOPES.values()) | {s for s in EVENT_SCOPES.values() if s}
    assert set(scopes) == needed
    assert "user" not in manifest["oauth_config"]["scopes"]


def test_events(manifest):
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) == set(EVENT_SCOPES)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in events:
        assert EVENT_SCOPES[event] is None or EVENT_SCOPES[event] in scopes


def test_the_procfile():
    # PostgreSQL (Heroku): web and worker, no clock — the clock's jobs are periodic tasks the workers run.
    lines = (ROOT / "Procfile").read_text().splitlines()
    assert lines == ["release: pmfbot db upgrade", "web: pmfbot web", "worker: pmfbot worker"]
