"""``/pmf-check history`` through the real app against the fake Slack Web API: the weeks for the
invoker only, the trajectory chart in their DM, bad week counts refused with the usage."""

from __future__ import annotations

from bot.render.limits import validate_message
from tests.fakes.slack_api import PNG_MAGIC, text_of


def test_history_replies_privately_with_the_weeks_and_sends_the_trajectory_to_the_dm(
        harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme")
    r = harness.pmf("history 4")
    assert r.status == 200 and r.ack()["response_type"] == "ephemeral"
    reply = r.reply()
    assert reply["response_type"] == "ephemeral"
    text = text_of(reply)
    assert "Acme · PMF week by week" in text and text.count("week of ") == 4
    assert "PMF trajectory chart" in text and "only you can see it" in text
    (png,) = fake_slack.uploaded_png("DU1")
    assert png.startswith(PNG_MAGIC)
    assert fake_slack.uploaded_png("C1") == [] and fake_slack.calls_to("chat.postMessage") == []
    validate_message(reply)


def test_history_with_a_bad_week_count_shows_the_usage(harness, fake_slack, seed_product):
    seed_product("T1", "acme")
    text = text_of(harness.pmf("history lots").reply())
    assert "not a number of weeks" in text and "/pmf-check history [WEEKS]" in text
    assert fake_slack.uploaded_png("DU1") == []


def test_help_lists_history(harness):
    assert "/pmf-check history [WEEKS]" in text_of(harness.pmf("help").reply())
