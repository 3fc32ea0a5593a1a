"""The HTTP surface: request signatures, URL verification, routing, /healthz and the ingest API."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.products.tokens import create_ingest_token
from storage.models import ActivityWeek, IngestToken, ProductUser
from tests.fakes.harness import sign


# ----------------------------------------------------------------------------- signatures
def test_a_forged_signature_gets_401_and_nothing_runs(harness, fake_slack, seed_product):
    seed_product("T1", "acme", data=False)
    r = harness.pmf("share", signature="v0=" + "0" * 64)
    assert r.status == 401
    harness.settle()  # anything the request was going to do is done
    assert fake_slack.calls == []


def test_a_body_signed_with_another_secret_gets_401(harness, fake_slack):
    body = urlencode({"command": "/pmf-check", "text": "", "team_id": "T1", "user_id": "U1", "channel_id": "C1"})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body.encode(), secret="not-ours")}
    assert harness.request("POST", "/slack/events", body.encode(), headers).status == 401


def test_a_stale_timestamp_gets_401(harness, fake_slack):
    r = harness.pmf("", timestamp=int(time.time()) - 6 * 60)
    assert r.status == 401
    assert fake_slack.responses() == []


def test_an_unsigned_request_gets_401(harness):
    assert harness.request("POST", "/slack/events", b"command=%2Fpmf-check",
                           {"Content-Type": "application/x-www-form-urlencoded"}).status == 401


def test_url_verification_echoes_the_challenge(harness):
    r = harness.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert r.status == 200
    assert r.json()["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"


# ----------------------------------------------------------------------------- routing
def test_unknown_paths_are_404(harness):
    assert harness.request("GET", "/nope").status == 404


def test_oauth_paths_are_404_in_single_workspace_mode(harness):
    r = harness.request("GET", "/slack/install")
    assert r.status == 404 and "single-workspace" in r.json()["error"]


def test_healthz_is_200_when_the_database_answers(harness):
    r = harness.request("GET", "/healthz")
    assert r.status == 200 and r.json() == {"ok": True}


def test_healthz_is_503_when_the_database_does_not_answer(harness, monkeypatch):
    from sqlalchemy.orm import sessionmaker

    from storage.db import make_engine

    dead = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    monkeypatch.setattr(harness.ctx, "factory", sessionmaker(bind=dead))
    r = harness.request("GET", "/healthz")
    assert r.status == 503 and r.json()["ok"] is False


# ----------------------------------------------------------------------------- ingest API
def _token(harness, team="T1") -> str:
    return create_ingest_token(harness.ctx.factory, team_id=team, user_id="U1",
                                              single_workspace=True)


def _ingest(harness, payload, token=None, raw: bytes | None = None, headers=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    h = {"Content-Type": "application/json", **(headers or {})}
    if token:
        h["Authorization"] = f"Bearer {token}"
    return harness.request("POST", "/api/v1/ingest", body, h)


GOOD = {"product": "acme",
        "signups": [{"user_id": "u1", "signed_up_at": "2026-11-02", "channel": "referral"},
                    {"user_id": "u2", "signed_up_at": "2026-11-03T10:00:00Z", "channel": "cpc"}],
        "events": [{"user_id": "u1", "occurred_at": "2026-11-10T09:00:00+01:00"},
                   {"user_id": "u2", "occurred_at": "2026-11-11"}]}


def test_ingest_with_a_valid_token_writes_and_counts(harness, seed_product, session_factory):
    seed_product("T1", "acme", data=False)
    r = _ingest(harness, GOOD, _token(harness))
    assert r.status == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["product"] == "acme"
    assert body["signups"]["received"] == 2 and body["events"]["received"] == 2
    with session_factory() as s:
        assert len(s.scalars(select(ProductUser)).all()) == 2
        assert s.scalar(select(IngestToken.last_used_at)) is not None


def test_ingest_with_invalid_items_is_400_with_per_item_errors_and_writes_nothing(harness, seed_product,
                                                                                   session_factory):
    seed_product("T1", "acme", data=False)
    bad = {**GOOD, "events": GOOD["events"] + [{"user_id": "", "occurred_at": "yesterday"}]}
    r = _ingest(harness, bad, _token(harness))
    assert r.status == 400
    errors = r.json()["errors"]
    assert errors and all({"path", "message"} <= set(e) for e in errors)
    assert any(e["path"].startswith("events[2]") for e in errors)
    with session_factory() as s:
        assert s.scalars(select(ProductUser)).all() == [] and s.scalars(select(ActivityWeek)).all() == []


def test_ingest_of_a_body_that_is_not_json_is_400(harness, seed_product):
    seed_product("T1", "acme", data=False)
    assert _ingest(harness, None, _token(harness), raw=b"{not json").status == 400


@pytest.mark.parametrize("auth", [None, "Bearer pmfgate_wrong", "Basic dXNlcjpwYXNz", "Bearer "])
def test_ingest_without_a_valid_token_is_401(harness, seed_product, auth, session_factory):
    seed_product("T1", "acme", data=False)
    r = _ingest(harness, GOOD, headers={"Authorization": auth} if auth else {})
    assert r.status == 401
    assert "Bearer" in r.headers.get("WWW-Authenticate", "")
    with session_factory() as s:
        assert s.scalars(select(ProductUser)).all() == []


def test_ingest_with_another_workspaces_token_cannot_reach_this_product(harness, seed_product, session_factory):
    seed_product("T1", "acme", data=False)
    r = _ingest(harness, GOOD, _token(harness, team="T2"))
    assert r.status == 400 and any(e["path"] == "product" for e in r.json()["errors"])
    with session_factory() as s:
        assert s.scalars(select(ProductUser)).all() == []


def test_ingest_over_10000_items_is_413(harness, seed_product):
    seed_product("T1", "acme", data=False)
    events = [{"user_id": f"u{i}", "occurred_at": "2026-11-10"} for i in range(10_001)]
    r = _ingest(harness, {"product": "acme", "events": events}, _token(harness))
    assert r.status == 413


def test_ingest_of_a_body_over_the_size_limit_is_413_before_it_is_read(harness, seed_product):
    import http.client
    from urllib.parse import urlparse

    from bot.web import MAX_BODY_BYTES

    seed_product("T1", "acme", data=False)
    url = urlparse(harness.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    # Only the headers are sent: the server must refuse on Content-Length alone.
    conn.putrequest("POST", "/api/v1/ingest")
    conn.putheader("Authorization", f"Bearer {_token(harness)}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413
    conn.close()


def test_ingest_only_accepts_post(harness):
    assert harness.request("GET", "/api/v1/ingest").status == 405
