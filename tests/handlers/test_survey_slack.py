"""Survey commands, buttons, thread events and the modal over signed HTTP, one behaviour per
test: usage errors, channels the bot cannot post in, the live-count throttle, thread replies
that are not answers (bots, other threads, edits, deletions), reminders, the deadline, a
results post that failed and is retried, and the export re-imported."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.render.limits import validate_message
from bot.slack.retry import POST_TRIES
from bot.surveys.ids import Metadata
from bot.surveys.jobs import close_due_surveys
from storage.models import Survey, SurveyComment, SurveyResponse
from tests.fakes.fixtures import NOW
from tests.fakes.harness import Harness
from tests.fakes.slack_api import FakeSlack
from tests.handlers.survey_helpers import (
    CHANNEL,
    click,
    delete_reply,
    edit_reply,
    ephemerals,
    modal_values,
    moving_clock,
    results_post,
    slack_ts,
    submit_modal,
    survey_ts,
    text_of,
    thread_reply,
)
from tests.surveys.helpers import scan_for


@pytest.fixture
def acme(seed_product):  # type: ignore[no-untyped-def]
    return seed_product("T1", "acme", "Acme", data=False)


@pytest.fixture
def started(harness: Harness, fake_slack: FakeSlack, acme, session_factory: sessionmaker[Session],  # type: ignore[no-untyped-def]
            monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    harness.ctx.tuning = replace(harness.ctx.tuning, count_update_interval=timedelta(0))
    harness.pmf("survey start").reply()
    with session_factory() as s:
        return s.scalars(select(Survey.id)).one(), survey_ts(fake_slack)


def rows(session_factory: sessionmaker[Session]) -> list[SurveyResponse]:
    with session_factory() as s:
        return list(s.scalars(select(SurveyResponse)))


# ----------------------------------------------------------------------------- commands


@pytest.mark.parametrize("text, expected", [
    ("survey", "Say what to do with the survey"),
    ("survey start tomorrow", "does not understand `tomorrow`"),
    ("survey start days", "`days` needs a whole number"),
    ("survey start days 120", "between 1 and 90"),
    ("survey status", "There is no open survey"),
    ("survey close", "There is no open survey"),
    ("survey start #general", "pick it from the autocomplete"),
])
def test_bad_survey_commands_say_what_was_wrong_and_change_nothing(harness: Harness, acme, text: str,  # type: ignore[no-untyped-def]
                                                                   expected: str,
                                                                   session_factory: sessionmaker[Session]) -> None:
    reply = harness.pmf(text).reply()
    assert expected in text_of(reply)
    assert "/pmf-check survey start [#channel] [anonymous] [days N]" in text_of(reply) or "no open" not in expected
    with session_factory() as s:
        assert s.scalars(select(Survey)).all() == []


@pytest.mark.parametrize("word", ["results", "status"])
def test_survey_results_is_what_people_type_for_status(harness: Harness, started: tuple[int, str], word: str) -> None:
    reply = harness.pmf(f"survey {word}").reply()
    assert "There is no open survey" not in text_of(reply) and "does not understand" not in text_of(reply)
    assert text_of(reply) == text_of(harness.pmf("survey status").reply())
    validate_message(reply)


def test_one_open_survey_per_channel(harness: Harness, started: tuple[int, str]) -> None:
    assert "already has an open Acme survey" in text_of(harness.pmf("survey start").reply())


def test_a_survey_for_another_channel_joins_it_and_is_found_from_here(harness: Harness, fake_slack: FakeSlack,
                                                                      acme) -> None:  # type: ignore[no-untyped-def]
    fake_slack.add_channel("C0GROWTH1", "growth")  # public, the bot is not a member
    reply = harness.pmf("survey start <#C0GROWTH1|growth> anonymous days 3").reply()
    assert "Survey posted in <#C0GROWTH1>" in text_of(reply) and "anonymous" in text_of(reply)
    assert fake_slack.calls_to("conversations.join", channel="C0GROWTH1")
    assert survey_ts(fake_slack, "C0GROWTH1")
    assert "<#C0GROWTH1>" in text_of(harness.pmf("survey status").reply())


def test_a_private_channel_without_the_bot_says_to_invite_it(harness: Harness, fake_slack: FakeSlack, acme,  # type: ignore[no-untyped-def]
                                                             session_factory: sessionmaker[Session]) -> None:
    fake_slack.add_channel("G0SECRET1", "secret-plans", private=True)
    reply = harness.pmf("survey start <#G0SECRET1|secret-plans>").reply()
    assert "/invite @PMF Gate" in text_of(reply)
    with session_factory() as s:
        assert s.scalars(select(Survey)).all() == []  # the channel is free again


# ----------------------------------------------------------------------------- live count


def test_the_live_count_is_throttled_and_ends_on_the_final_count(harness: Harness, fake_slack: FakeSlack, acme,  # type: ignore[no-untyped-def]
                                                                 session_factory: sessionmaker[Session],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    interval = 0.4
    harness.ctx.tuning = replace(harness.ctx.tuning, count_update_interval=timedelta(seconds=interval))
    moving_clock(harness)
    harness.pmf("survey start").reply()
    ts = survey_ts(fake_slack)
    with session_factory() as s:
        sid = s.scalars(select(Survey.id)).one()

    def burst(k: int) -> None:
        for i in range(k * 10, k * 10 + 10):
            click(harness, ts, f"U{500 + i}", "very", slack_ts(60 + i), survey_id=sid)

    threads = [threading.Thread(target=burst, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    updates = harness.wait(lambda: (u := fake_slack.calls_to("chat.update", ts=ts))
                           and "40 responses" in text_of(u[-1].params) and u, timeout=10, what="the final count")
    # Throttled (the budget is claimed in the database; when a request reaches the fake server is
    # not the claim time, so its arrival gaps are not asserted: they depend on the machine's load).
    assert len(updates) < 40
    with session_factory() as s:
        survey = s.get(Survey, sid)
        assert survey is not None and (survey.count_shown, survey.response_count) == (40, 40)


def test_a_named_answer_keeps_the_respondents_email_as_its_keyed_hash(
        harness: Harness, fake_slack: FakeSlack, started: tuple[int, str], session_factory: sessionmaker[Session]) -> None:
    from bot.domain.matching import email_hash
    from tests.fakes.harness import SECRET_KEY

    sid, ts = started
    fake_slack.add_user("U7", email="Seven@Example.com")
    with session_factory() as s:
        survey = s.get(Survey, sid)
        assert survey is not None and survey.channel_members is not None  # counted at post time
        expected = email_hash(SECRET_KEY, survey.product_id, "seven@example.com")
    click(harness, ts, "U7", "very", slack_ts(10), survey_id=sid)
    harness.wait(lambda: [r.email_hash for r in rows(session_factory)] == [expected], what="the hash stored")
    click(harness, ts, "U7", "not", slack_ts(11), survey_id=sid)  # answering again: users.info is cached
    harness.wait(lambda: len(ephemerals(fake_slack, "U7")) == 2, what="the second answer confirmed")
    assert [(r.answer, r.email_hash) for r in rows(session_factory)] == [("not", expected)]
    assert len(fake_slack.calls_to("users.info", user="U7")) == 1
    assert not scan_for(session_factory, "xample.com")


def test_ten_rapid_clicks_by_one_person_over_http_keep_the_last(harness: Harness, fake_slack: FakeSlack,
                                                                 started: tuple[int, str],
                                                                 session_factory: sessionmaker[Session]) -> None:
    sid, ts = started
    answers = ["very", "somewhat", "not", "na"]
    clicks = [(answers[i % 4], slack_ts(10 + i * 0.2)) for i in range(10)]
    threads = [threading.Thread(target=click, args=(harness, ts, "U2", a, at), kwargs={"survey_id": sid})
               for a, at in reversed(clicks)]  # the newest click first: the older ones must not win
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    harness.wait(lambda: ephemerals(fake_slack, "U2"), what="a thank-you")
    harness.wait(lambda: [(r.answer, len(rows(session_factory))) for r in rows(session_factory)] == [("somewhat", 1)],
                 what="one response, the last click's answer")


def test_rate_limited_ephemerals_never_hold_the_listener_threads(harness: Harness, fake_slack: FakeSlack,
                                                                 started: tuple[int, str],
                                                                 session_factory: sessionmaker[Session]) -> None:
    sid, ts = started
    # Slack would have us wait 30 s: the thanks go through each click's response_url instead.
    fake_slack.fail("chat.postEphemeral", status=429, retry_after=30, times=100)
    acks = [click(harness, ts, f"U{300 + i}", "very", slack_ts(10 + i), survey_id=sid) for i in range(20)]
    assert all(r.status == 200 for r in acks)
    harness.wait(lambda: len([r for r in fake_slack.responses() if "Thanks!" in r.params.get("text", "")]) == 20,
                 timeout=8, what="20 thank-yous through response_url")
    assert len(rows(session_factory)) == 20


def test_a_rate_limited_count_update_is_retried_later(harness: Harness, fake_slack: FakeSlack,
                                                      started: tuple[int, str]) -> None:
    sid, ts = started
    fake_slack.fail("chat.update", status=429, retry_after=1)
    click(harness, ts, "U2", "very", slack_ts(10), survey_id=sid)
    harness.wait(lambda: [c for c in fake_slack.calls_to("chat.update", ts=ts) if "1 response" in text_of(c.params)],
                 timeout=8, what="the count shown after the back-off")
    assert fake_slack.attempts("chat.update")[0].status == 429


# ----------------------------------------------------------------------------- thread events


def test_replies_that_are_not_answers(harness: Harness, fake_slack: FakeSlack, started: tuple[int, str],
                                      session_factory: sessionmaker[Session]) -> None:
    sid, ts = started
    thread_reply(harness, ts, "UBOT2", "1", slack_ts(10), bot_id="B2")  # another app's bot
    thread_reply(harness, ts, "U2", "1", slack_ts(11), subtype="bot_message")
    thread_reply(harness, "1699999999.000001", "U2", "1", slack_ts(12))  # another thread
    harness.event({"type": "message", "channel": CHANNEL, "user": "U2", "text": "1", "ts": slack_ts(13)})  # top level
    thread_reply(harness, ts, "U2", "looks great", slack_ts(14))  # not an answer, no answer yet
    harness.wait(lambda: ephemerals(fake_slack, "U2"), what="the hint")
    assert "was not read as an answer" in ephemerals(fake_slack, "U2")[0]["text"]
    assert rows(session_factory) == []


def test_edits_and_deletions_in_the_thread(harness: Harness, fake_slack: FakeSlack, started: tuple[int, str],
                                           session_factory: sessionmaker[Session]) -> None:
    sid, ts = started
    thread_reply(harness, ts, "U2", "2", slack_ts(10))
    harness.wait(lambda: rows(session_factory), what="the answer")
    thread_reply(harness, ts, "U2", "we use it daily", slack_ts(20))
    harness.wait(lambda: _comments(session_factory), what="the comment")
    edit_reply(harness, ts, "U2", slack_ts(20), "we use it daily", "we use it every day", slack_ts(30))
    harness.wait(lambda: _comments(session_factory) == ["we use it every day"], what="the edited comment")
    edit_reply(harness, ts, "U2", slack_ts(10), "2", "1", slack_ts(40))  # changed their answer by editing
    harness.wait(lambda: [r.answer for r in rows(session_factory)] == ["very"], what="the edited answer")
    delete_reply(harness, ts, "U2", slack_ts(20), "we use it every day", slack_ts(50))
    harness.wait(lambda: _comments(session_factory) == [], what="the comment deleted")
    delete_reply(harness, ts, "U2", slack_ts(10), "1", slack_ts(60))
    assert [r.answer for r in rows(session_factory)] == ["very"]  # a deleted answer reply stays recorded


def _comments(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as s:
        return list(s.scalars(select(SurveyComment.text)))


# ----------------------------------------------------------------------------- modal


def test_the_modal_refuses_without_an_answer_and_after_the_close(harness: Harness, fake_slack: FakeSlack,
                                                                 started: tuple[int, str]) -> None:
    sid, ts = started
    r = submit_modal(harness, "U2", sid, modal_values(benefit="speed"))
    assert r.json()["response_action"] == "errors" and "Answer the survey question first" in json.dumps(r.json())
    click(harness, ts, "U2", "very", slack_ts(10), survey_id=sid)
    harness.wait(lambda: ephemerals(fake_slack, "U2"), what="the answer recorded")
    assert submit_modal(harness, "U2", sid, modal_values(benefit="speed", role="Other", other="Teacher")).body == b""
    harness.pmf("survey close").reply()
    r = submit_modal(harness, "U2", sid, modal_values(benefit="speed"))
    assert "This survey has closed" in json.dumps(r.json())


# ----------------------------------------------------------------------------- reminders


def test_reminders_in_the_thread_and_by_dm_to_members_who_have_not_answered(
        harness: Harness, fake_slack: FakeSlack, started: tuple[int, str], monkeypatch: pytest.MonkeyPatch) -> None:
    harness.ctx.tuning = replace(harness.ctx.tuning, reminder_dm_pace=0.0)
    sid, ts = started
    fake_slack.add_user("U3")
    fake_slack.users["UAPP"] = {"id": "UAPP", "name": "someapp", "is_bot": True}
    click(harness, ts, "U1", "very", slack_ts(10), survey_id=sid)
    harness.wait(lambda: ephemerals(fake_slack, "U1"), what="the answer recorded")
    reply = harness.pmf("survey remind").reply()
    assert "Reminder posted" in text_of(reply) and "remind dm" in text_of(reply)
    reminder = fake_slack.calls_to("chat.postMessage", thread_ts=ts)[-1]
    assert reminder.params.get("reply_broadcast") in (True, "true", "1") and "1 response so far" in text_of(reminder.params)
    in_thread = len(fake_slack.calls_to("chat.postMessage", thread_ts=ts))
    reply = harness.pmf("survey remind dm").reply()
    assert "direct message to 3 members of" in text_of(reply)  # U2, U3, UAPP; U1 answered
    assert "Reminder posted" not in text_of(reply)
    validate_message(reply)
    harness.wait(lambda: fake_slack.calls_to("chat.postMessage", channel="DU3"), what="the DM to U3")
    harness.wait(lambda: fake_slack.calls_to("chat.postMessage", channel="DU2"), what="the DM to U2")
    assert not fake_slack.calls_to("chat.postMessage", channel="DU1")  # answered already
    assert not fake_slack.calls_to("chat.postMessage", channel="DUAPP")  # a bot
    assert "once a day" in text_of(harness.pmf("survey remind dm").reply())
    # `remind dm` after `remind` only messages people: the thread and channel get one reminder.
    assert len(fake_slack.calls_to("chat.postMessage", thread_ts=ts)) == in_thread
    dm = fake_slack.calls_to("chat.postMessage", channel="DU3")[0].params
    validate_message(dm)
    assert "|the survey> in <#C" in dm["text"] and "|the survey in <#" not in dm["text"]


def test_anonymous_surveys_never_dm_non_respondents(harness: Harness, fake_slack: FakeSlack, acme) -> None:  # type: ignore[no-untyped-def]
    harness.pmf("survey start anonymous").reply()
    assert "anonymous survey" in text_of(harness.pmf("survey remind dm").reply())
    assert not fake_slack.calls_to("conversations.members")


# ----------------------------------------------------------------------------- deadline and retries


def test_the_clock_closes_surveys_at_their_deadline(harness: Harness, fake_slack: FakeSlack, started: tuple[int, str],
                                                    session_factory: sessionmaker[Session]) -> None:
    sid, ts = started
    click(harness, ts, "U2", "somewhat", slack_ts(10), survey_id=sid)
    harness.wait(lambda: ephemerals(fake_slack, "U2"), what="the answer recorded")
    assert close_due_surveys(harness.ctx, NOW + timedelta(days=13)) == 0
    assert close_due_surveys(harness.ctx, NOW + timedelta(days=14, minutes=1)) == 1
    post = results_post(fake_slack, ts)
    assert post.json_param("metadata")["event_payload"]["counts"]["somewhat"] == 1
    assert close_due_surveys(harness.ctx, NOW + timedelta(days=14, minutes=2)) == 0
    with session_factory() as s:
        survey = s.get(Survey, sid)
        assert survey is not None and survey.closed_at == NOW + timedelta(days=14) and survey.results_ts


def test_results_that_failed_to_post_are_posted_by_the_clock(harness: Harness, fake_slack: FakeSlack,
                                                             started: tuple[int, str]) -> None:
    sid, ts = started
    click(harness, ts, "U2", "very", slack_ts(10), survey_id=sid)
    harness.wait(lambda: ephemerals(fake_slack, "U2"), what="the answer recorded")
    fake_slack.fail("chat.postMessage", error="fatal_error", times=POST_TRIES.attempts)
    reply = harness.pmf("survey close").reply()
    assert "fatal_error" in text_of(reply) and "nothing is lost" in text_of(reply)
    assert not [m for m in fake_slack.messages[CHANNEL]
                if (m.get("metadata") or {}).get("event_type") == Metadata.RESULTS]
    assert close_due_surveys(harness.ctx, NOW + timedelta(minutes=5)) == 0
    results_post(fake_slack, ts)
    fake_slack.wait_for(lambda: fake_slack.uploaded_png(CHANNEL), what="the chart")


# ----------------------------------------------------------------------------- export


def test_the_export_reimports_to_the_same_survey_signal(harness: Harness, fake_slack: FakeSlack,
                                                        started: tuple[int, str], db_url: str, tmp_path: Path,
                                                        seed_product) -> None:  # type: ignore[no-untyped-def]
    sid, ts = started
    for i, a in enumerate(["very", "very", "not", "na", "somewhat"]):
        click(harness, ts, f"U{i + 10}", a, slack_ts(10 + i), survey_id=sid)
    harness.wait(lambda: all(ephemerals(fake_slack, f"U{i + 10}") for i in range(5)), what="the answers recorded")
    submit_modal(harness, "U10", sid, modal_values("devs, mostly", "speed", "docs", "Designer"))
    harness.pmf("survey close").reply()
    own = results_post(fake_slack, ts).json_param("metadata")["event_payload"]["survey"]
    run = CliRunner()
    env = {"DATABASE_URL": db_url}
    out = tmp_path / "responses.csv"
    r = run.invoke(main, ["export", "responses", "--product", "acme", "--workspace", "T1", "--survey", str(sid),
                          "--out", str(out)], env=env)
    assert r.exit_code == 0, r.output
    assert out.read_text().splitlines()[0] == "respondent_id,answered_at,answer,segment,who_benefits,main_benefit,improve"
    assert 'U10,' in out.read_text() and '"devs, mostly"' in out.read_text()
    seed_product("T1", "copy", "Acme", data=False)
    r = run.invoke(main, ["import", "responses", str(out), "--product", "copy", "--workspace", "T1"], env=env)
    assert r.exit_code == 0, r.output
    r = run.invoke(main, ["check", "--product", "copy", "--workspace", "T1", "--json", "--as-of",
                          NOW.date().isoformat()], env=env)
    copy = json.loads(r.stdout)["signals"]["survey"]
    # The same answers, scored the same; only the response rate's base (the channel's members)
    # stays with the Slack survey: the imported copy cannot know who could have answered.
    rate_keys = {"response_rate", "response_rate_base", "summary"}
    assert {k: v for k, v in copy.items() if k not in rate_keys} == {k: v for k, v in own.items() if k not in rate_keys}
    assert copy["response_rate"] is None and copy["summary"].endswith("unweighted; response rate unknown.")
    assert "unweighted; response rate" in own["summary"]
    r = run.invoke(main, ["export", "responses", "--product", "nope", "--workspace", "T1"], env=env)
    assert r.exit_code == 2 and "No product 'nope'" in r.stderr


def test_a_results_post_that_slack_took_despite_a_5xx_is_not_doubled(harness: Harness, fake_slack: FakeSlack,
                                                                     started: tuple[int, str]) -> None:
    sid, ts = started
    click(harness, ts, "U2", "very", slack_ts(10), survey_id=sid)
    harness.wait(lambda: ephemerals(fake_slack, "U2"), what="the answer recorded")
    fake_slack.fail("chat.postMessage", status=500, applied=True)
    harness.pmf("survey close").reply()
    fake_slack.wait_for(lambda: fake_slack.uploaded_png(CHANNEL), what="the chart")
    assert close_due_surveys(harness.ctx, NOW + timedelta(minutes=5)) == 0
    posts = [m for m in fake_slack.messages[CHANNEL]
             if (m.get("metadata") or {}).get("event_type") == Metadata.RESULTS]
    assert len(posts) == 1
