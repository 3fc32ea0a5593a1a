"""A product with no data yet, on every surface a report can appear (status, share, digest, its
"Details", the App Home and its "Run check"): "No data for Acme yet" and the two ways in — no
verdict, no "sign up more users", no empty chart. Over real HTTP against the fake Slack Web API;
every message and view passes the Block Kit limit checks."""

from __future__ import annotations

import time
from typing import Any

from bot.digests.ids import Action as DigestAction
from bot.home.ids import Action as HomeAction
from bot.render.limits import validate_message, validate_view
from tests.fakes.slack_api import text_of


def _message(params: dict[str, Any], call: Any = None) -> dict[str, Any]:
    blocks = call.json_param("blocks") if call is not None else params.get("blocks")
    message = {"text": params.get("text") or "", "blocks": blocks or []}
    validate_message(message)
    return message


def _says_no_data(message: dict[str, Any]) -> None:
    text = text_of(message)
    assert "No data for Acme yet" in text
    assert "pmfbot import signups" in text and "--product acme" in text
    assert "/pmf-check token acme" in text and "Segment" in text
    for wrong in ("Not sure yet", "Nothing fails", "sign up more", "Next steps"):
        assert wrong not in text, wrong


def test_status_says_no_data_yet_and_sends_no_chart(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme", data=False)
    reply = harness.pmf("status").reply(timeout=30)
    _says_no_data(_message(reply))
    assert "Chart" not in text_of(reply)
    assert fake_slack.calls_to("files.getUploadURLExternal") == [] and fake_slack.uploaded_png("DU1") == []


def test_share_posts_no_data_yet_without_a_chart(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme", data=False)
    harness.pmf("share").reply(timeout=30)
    (post,) = fake_slack.calls_to("chat.postMessage", channel="C1")
    _says_no_data(_message(post.params, post))
    assert fake_slack.uploaded_png("C1") == []


def test_digest_now_says_no_data_yet_without_a_chart(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme", data=False)
    harness.pmf("digest now").reply(timeout=30)
    (post,) = fake_slack.calls_to("chat.postMessage", channel="C1")
    message = _message(post.params, post)
    _says_no_data(message)
    assert "No new activity" not in text_of(message) and "chart" not in text_of(message).lower()
    assert fake_slack.uploaded_png("C1") == []


def test_details_says_no_data_yet(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme", data=False)
    url = fake_slack.response_url("details")
    harness.block_action(DigestAction.DETAILS, "acme", channel="C1", response_url=url,
                         container={"type": "message", "message_ts": "1700000001.000001", "channel_id": "C1"},
                         message={"type": "message", "ts": "1700000001.000001", "text": "Weekly PMF digest"})
    (resp,) = fake_slack.wait_response("details", timeout=30)
    _says_no_data(_message(resp.params))


def test_app_home_and_its_run_check_say_no_data_yet(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme", data=False)
    harness.event({"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home",
                   "event_ts": str(time.time())})
    view = fake_slack.wait_calls("views.publish")[0].json_param("view")
    validate_view(view)
    _says_no_data({"blocks": view["blocks"]})

    harness.block_action(HomeAction.CHECK, "acme")
    post = fake_slack.wait_calls("chat.postMessage", channel="DU1")[0]
    _says_no_data(_message(post.params, post))
    fake_slack.wait_calls("views.publish", 2)  # the Home is refreshed: the check has ended
    assert fake_slack.uploaded_png("DU1") == []
