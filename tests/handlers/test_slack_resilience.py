"""When Slack or the database misbehaves: retries deliver exactly once, ambiguous posts are
reconciled, and the user always gets a reply while the process keeps serving."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.orm import sessionmaker

from storage.db import make_engine
from tests.fakes.slack_api import PNG_MAGIC


def _text(message: dict) -> str:
    parts = [message.get("text") or ""]
    parts += [b["text"]["text"] for b in message.get("blocks") or [] if isinstance(b.get("text"), dict)]
    return "\n".join(parts)


def test_a_429_then_success_posts_the_shared_report_exactly_once(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    fake_slack.fail("chat.postMessage", status=429, retry_after=1)
    r = harness.pmf("share")
    assert r.status == 200
    assert "Posted the report" in r.reply(timeout=15)["text"]
    assert [c.status for c in fake_slack.attempts("chat.postMessage")] == [429, 200]
    assert len(fake_slack.messages["C1"]) == 1
    assert len(fake_slack.uploaded_png("C1")) == 1


@pytest.mark.parametrize("applied", [False, True], ids=["500-before-posting", "500-after-posting"])
def test_a_500_on_the_shared_report_is_reconciled_and_posted_exactly_once(harness, fake_slack, seed_product,
                                                                          applied):
    seed_product("T1", "acme", "Acme")
    fake_slack.fail("chat.postMessage", status=500, applied=applied)
    reply = harness.pmf("share").reply(timeout=20)
    assert "Posted the report" in reply["text"]
    assert len(fake_slack.messages["C1"]) == 1
    assert fake_slack.calls_to("conversations.history")  # looked before posting again
    assert len(fake_slack.attempts("chat.postMessage")) == (1 if applied else 2)
    assert len(fake_slack.uploaded_png("C1")) == 1


def test_a_500_on_an_upload_step_is_retried(harness, fake_slack, seed_product):
    seed_product("T1", "acme")
    fake_slack.fail("files.getUploadURLExternal", status=500)
    harness.pmf("").reply(timeout=15)
    pngs = fake_slack.uploaded_png("DU1")
    assert len(pngs) == 1 and pngs[0].startswith(PNG_MAGIC)


def test_a_rate_limited_response_url_is_retried_and_the_reply_arrives_once(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    fake_slack.fail("response", status=429, retry_after=1)
    r = harness.pmf("")
    replies = r.replies(timeout=15)
    harness.settle()  # anything the request was going to do is done
    assert len(fake_slack.responses(r.response_id)) == 1 and "Acme" in replies[0].params["text"]


def test_a_timed_out_share_that_reached_slack_is_not_posted_twice(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    # The job builds its client from the installation store (SPEC §11): give those a 1 s timeout.
    build = harness.ctx.client_for_team

    def short_timeout(team_id: str):
        client = build(team_id)
        client.timeout = 1
        return client

    harness.ctx.client_for_team = short_timeout
    fake_slack.delay("chat.postMessage", 2.0)
    reply = harness.pmf("share").reply(timeout=20)
    assert "Posted the report" in reply["text"]
    assert len(fake_slack.messages["C1"]) == 1
    history = fake_slack.calls_to("conversations.history")
    assert history and history[0].params["channel"] == "C1"
    assert len(fake_slack.uploaded_png("C1")) == 1


@pytest.mark.parametrize("error, expected", [
    ("channel_not_found", "/invite @PMF Gate"),
    ("not_in_channel", "/invite @PMF Gate"),
    ("is_archived", "archived"),
    ("missing_scope", "reinstall"),
])
def test_slack_refusing_the_share_is_explained(harness, fake_slack, seed_product, error, expected):
    seed_product("T1", "acme")
    fake_slack.fail("chat.postMessage", error=error)
    reply = harness.pmf("share").reply()
    assert expected in _text(reply)
    assert reply["replace_original"] is True and reply["response_type"] == "ephemeral"


def test_an_unexpected_slack_error_still_gets_a_reply_and_the_app_keeps_serving(harness, fake_slack, seed_product,
                                                                                caplog):
    seed_product("T1", "acme", "Acme")
    harness.ctx.queue.retry_pause = 0.01  # type: ignore[union-attr]
    # Slack failing on every attempt of the job (an ambiguous error is retried: SPEC §11).
    fake_slack.fail("conversations.open", error="fatal_error", times=3)
    reply = harness.pmf("").reply()
    assert "did not finish" in _text(reply) and "Slack refused a request" in _text(reply)
    assert "fatal_error" in _text(reply) and "Reference" in _text(reply)
    assert any("failed for good" in rec.message for rec in caplog.records)
    assert "Acme" in harness.pmf("").reply()["text"]


def test_a_slack_error_that_passes_is_retried_and_the_user_gets_the_report(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    harness.ctx.queue.retry_pause = 0.01  # type: ignore[union-attr]
    fake_slack.fail("conversations.open", error="fatal_error", times=1)
    r = harness.pmf("")
    reply = r.reply()
    assert "Acme" in reply["text"] and reply["replace_original"] is True
    harness.settle()
    assert len(fake_slack.responses(r.response_id)) == 1  # one final reply, no error before it


def test_a_database_outage_gets_a_reply_not_silence(harness, fake_slack, seed_product, monkeypatch):
    dead = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    monkeypatch.setattr(harness.ctx, "factory", sessionmaker(bind=dead))
    for text in ("", "share", "product", "config", "token", "product create acme"):
        r = harness.pmf(text)
        assert r.status == 200
        # The job cannot be stored, so the ack says so (SPEC §11) instead of "Working on…".
        assert "could not queue" in r.ack()["text"] and "nothing will happen" in r.ack()["text"]
    assert harness.request("GET", "/healthz").status == 503


def test_the_home_tab_explains_a_failure_instead_of_staying_blank(harness, fake_slack, monkeypatch):
    dead = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    monkeypatch.setattr(harness.ctx, "factory", sessionmaker(bind=dead))
    harness.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    view = fake_slack.wait_calls("views.publish")[0].json_param("view")
    assert "internal problem" in view["blocks"][0]["text"]["text"]


def test_a_listener_that_raises_after_its_ack_still_gets_its_ack_delivered(harness, fake_slack):
    # A listener written without handlers.errors.reported: the app-wide handler must still let
    # Bolt send the ack (Bolt's runner otherwise resets it) and tell the user.
    @harness.app.command("/boom")
    def boom(ack):
        ack(text="on it")
        raise RuntimeError("kaput")

    for _ in range(5):
        r = harness.command("/boom")
        assert r.status == 200
        assert r.text == "on it"  # Bolt sends a text-only ack as text/plain
        assert "internal problem" in _text(r.reply())


def test_the_fake_can_simulate_a_timeout(fake_slack):
    from slack_sdk import WebClient

    fake_slack.add_channel("C9", member=True)
    fake_slack.delay("chat.postMessage", 1.5)
    client = WebClient(token="xoxb-x", base_url=fake_slack.api_url, timeout=0.5)
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C9", text="hi")
    # The effect happened on the server although the client timed out.
    assert len(fake_slack.messages["C9"]) == 1


def test_parallel_checks_never_wait_for_a_connection_they_hold(db_url, fake_slack, session_factory, seed_product):
    # With a one-connection pool, a request that held its connection while waiting for
    # another request's computation (which needs a connection too) would deadlock until
    # the pool timeout. Each waits outside any transaction instead.
    from sqlalchemy.orm import sessionmaker

    from tests.fakes.fixtures import NOW
    from tests.fakes.harness import Harness, make_settings

    seed_product("T1", "acme", "Acme")
    tiny = make_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=20)
    h = Harness(make_settings(db_url, fake_slack), sessionmaker(bind=tiny, expire_on_commit=False), fake_slack,
                now=NOW)
    try:
        started = time.monotonic()
        results = [h.pmf("", user=f"U{i}") for i in range(6)]
        for r in results:
            assert "Acme" in r.reply(timeout=15)["text"]
        assert time.monotonic() - started < 10
    finally:
        h.close()
        tiny.dispose()
