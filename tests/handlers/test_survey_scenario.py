"""A survey end to end over signed HTTP against the real app and the fake Web API: started by
command, answered by 60 people through buttons and thread replies (with changed answers, a
redelivered click and a retried event), follow-ups through the modal, closed; the results in
the thread equal the domain's computation and ``pmfbot check --json`` shows the same survey
signal. In anonymous mode no respondent's Slack id is stored anywhere."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.domain import survey as domain
from storage.models import Survey, SurveyComment, SurveyResponse
from storage.repositories.reports import survey_responses
from tests.fakes.fixtures import NOW
from tests.fakes.harness import Harness
from tests.fakes.slack_api import PNG_MAGIC, FakeSlack
from tests.handlers.survey_helpers import (
    CHANNEL,
    click,
    ephemerals,
    modal_values,
    results_post,
    slack_ts,
    submit_modal,
    survey_post,
    survey_ts,
    tell_us_more,
    text_of,
    thread_reply,
)
from tests.surveys.helpers import scan_for

ANSWERS = ["very", "somewhat", "not", "na"]
WORDS = {"very": ["1", "Very", "very disappointed"], "somewhat": ["2", "somewhat"], "not": ["3", "NOT"],
         "na": ["4", "n/a"]}
ROLES = ["Engineer / developer", "Founder / executive", "Product manager"]


@pytest.fixture(autouse=True)
def no_throttle(harness: Harness) -> None:
    # The harness clock stands still: with no interval every answer may refresh the count.
    harness.ctx.tuning = replace(harness.ctx.tuning, count_update_interval=timedelta(0))


def final_answer(i: int) -> str:
    # A mix that is clearly above 40% among 60 people: 27 very, 17 somewhat, 11 not, 5 N/A.
    return "very" if i < 27 else "somewhat" if i < 44 else "not" if i < 55 else "na"


def run_survey(harness: Harness, fake_slack: FakeSlack, session_factory: sessionmaker[Session], *,
               anonymous: bool, people: int = 60) -> tuple[int, str, list[str]]:
    reply = harness.pmf("survey start" + (" anonymous" if anonymous else "") + " days 7").reply()
    assert "Survey posted" in text_of(reply)
    ts = survey_ts(fake_slack)
    with session_factory() as s:
        survey_id = s.scalars(select(Survey.id)).one()
    users = [f"U{7000 + i}" for i in range(people)]
    for i, user in enumerate(users):
        final = final_answer(i)
        at = 60.0 + i
        if i % 3 == 2:  # a third answer in the thread
            if i % 2:  # ... changing their mind once
                thread_reply(harness, ts, user, WORDS[ANSWERS[(ANSWERS.index(final) + 1) % 4]][0], slack_ts(at))
            r = thread_reply(harness, ts, user, WORDS[final][i % len(WORDS[final])], slack_ts(at + 0.5),
                             event_id=f"EvAns{i}")
            assert r.status == 200
            if i == 5:  # Slack retries a delivery it thinks failed: same event id
                thread_reply(harness, ts, user, WORDS[final][0], slack_ts(at + 0.5), event_id=f"EvAns{i}", retry_num=1)
        else:
            if i % 4 == 0:  # changed answers by button
                click(harness, ts, user, "not" if final != "not" else "very", slack_ts(at), survey_id=survey_id)
            r = click(harness, ts, user, final, slack_ts(at + 0.5), survey_id=survey_id)
            assert r.status == 200
            if i == 0:  # the same click delivered twice
                click(harness, ts, user, final, slack_ts(at + 0.5), survey_id=survey_id)
    # Everyone got the thank-you with "Tell us more"; a comment and follow-ups from some.
    harness.wait(lambda: all(ephemerals(fake_slack, u) for u in users), what="ephemeral thanks for everyone")
    thread_reply(harness, ts, users[1], "The weekly export saves my Mondays", slack_ts(500))
    harness.wait(lambda: _comments(session_factory), what="the comment stored")
    assert tell_us_more(harness, users[0], survey_id).status == 200
    opened = fake_slack.wait_calls("views.open")[0].json_param("view")
    assert json.loads(opened["private_metadata"]) == {"survey_id": survey_id}
    for i, user in enumerate(users[:45]):
        benefit = ["saves time on reporting", "saves time", "clear cohort charts"][i % 3]
        r = submit_modal(harness, user, survey_id, modal_values("startup founders", benefit, "more exports",
                                                                ROLES[i % 3]))
        assert r.status == 200 and not r.body
    return survey_id, ts, users


def _comments(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as s:
        return list(s.scalars(select(SurveyComment.text)))


def expected_signal(session_factory: sessionmaker[Session], survey_id: int, product_id: int):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        responses = survey_responses(s, product_id, survey_id=survey_id)
    from bot.domain.settings import SurveySettings
    from bot.domain.types import SurveyAudience

    # No signup carries an email here, so no answer is matched: all count unweighted, and the
    # channel (fewer members in the fake than respondents) is no base for a response rate.
    return responses, domain.survey_signal(responses, NOW.date(), SurveySettings(), audience=SurveyAudience())


def test_a_named_survey_from_start_to_results(harness: Harness, fake_slack: FakeSlack, seed_product,  # type: ignore[no-untyped-def]
                                              session_factory: sessionmaker[Session], db_url: str) -> None:
    product = seed_product("T1", "acme", "Acme")
    survey_id, ts, users = run_survey(harness, fake_slack, session_factory, anonymous=False)

    # The parent message: the exact labels, how to answer, named, closing date, a live count.
    parent = survey_post(fake_slack)
    labels = [b["text"]["text"] for blk in parent.json_param("blocks") if blk["type"] == "actions" for b in blk["elements"]]
    assert labels == ["Very disappointed", "Somewhat disappointed", "Not disappointed", "N/A — I no longer use Acme"]
    assert "How would you feel if you could no longer use Acme?" in text_of(parent.params)
    assert "reply in this thread" in text_of(parent.params) and "Not anonymous" in text_of(parent.params)
    harness.wait(lambda: any("60 responses" in text_of(c.params) for c in fake_slack.calls_to("chat.update", ts=ts)),
                 what="the live count reaching 60")
    for c in fake_slack.calls_to("chat.update", ts=ts):  # never the distribution while open
        assert "Very disappointed: " not in text_of(c.params) and "%" not in text_of(c.params)

    with session_factory() as s:
        rows = s.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == survey_id)).all()
        assert len(rows) == 60
        assert {r.respondent_key: r.answer for r in rows} == {u: final_answer(i) for i, u in enumerate(users)}
        assert s.scalars(select(SurveyComment.text)).all() == ["The weekly export saves my Mondays"]

    closing = harness.pmf("survey close").reply()
    assert "60 responses" in text_of(closing)
    post = results_post(fake_slack, ts)
    payload = post.json_param("metadata")["event_payload"]
    responses, expected = expected_signal(session_factory, survey_id, product.id)
    assert payload["counts"] == {"very": 27, "somewhat": 17, "not": 11, "na": 5}
    assert payload["survey"] == expected.to_json()
    text = text_of(post.params)
    assert f"{expected.score * 100:.1f}%" in text and "n=55" in text and "5 N/A" in text
    assert "Score by role" in text and "saves time" in text
    for seg in domain.segment_scores(domain.latest_per_respondent(responses, NOW.date(), 90)):
        if seg.score is not None:
            assert f"{seg.segment}: *{seg.score * 100:.1f}%*" in text
    # The chart in the thread, and the parent now says closed.
    fake_slack.wait_for(lambda: fake_slack.uploaded_png(CHANNEL), what="the chart")
    assert next(iter(fake_slack.files.values()))["thread_ts"] == ts
    assert fake_slack.uploaded_png(CHANNEL)[0].startswith(PNG_MAGIC)
    last = fake_slack.calls_to("chat.update", ts=ts)[-1]
    assert "Closed" in text_of(last.params) and "pmf.survey.answer" not in json.dumps(last.params.get("blocks"))

    # The gate: pmfbot check --json shows the same survey signal as the results post.
    out = CliRunner().invoke(main, ["check", "--product", "acme", "--workspace", "T1", "--json",
                                    "--as-of", NOW.date().isoformat()], env={"DATABASE_URL": db_url})
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["signals"]["survey"] == payload["gate_survey"]
    assert payload["gate_survey"]["responses"] > 55  # Slack and imported answers together

    # Late answers get a polite note and change nothing.
    click(harness, ts, "U9999", "very", slack_ts(900), survey_id=survey_id)
    harness.wait(lambda: ephemerals(fake_slack, "U9999"), what="the closed note")
    assert "closed" in ephemerals(fake_slack, "U9999")[0]["text"]
    with session_factory() as s:
        assert len(s.scalars(select(SurveyResponse.id).where(SurveyResponse.survey_id == survey_id)).all()) == 60


def test_an_anonymous_survey_stores_no_respondent_slack_id(harness: Harness, fake_slack: FakeSlack, seed_product,  # type: ignore[no-untyped-def]
                                                           session_factory: sessionmaker[Session]) -> None:
    seed_product("T1", "acme", "Acme", data=False)
    survey_id, ts, users = run_survey(harness, fake_slack, session_factory, anonymous=True, people=24)
    assert ":lock: *Anonymous.*" in text_of(survey_post(fake_slack).params)
    harness.pmf("survey close").reply()
    post = results_post(fake_slack, ts)
    with session_factory() as s:
        keys = s.scalars(select(SurveyResponse.respondent_key)).all()
    assert len(keys) == 24 and all(k.startswith("anon:") for k in keys)
    for user in users:
        assert scan_for(session_factory, user) == [], user
        assert user not in json.dumps(post.params)
    # The chart and the results exist, and small groups are not broken down.
    assert "Score by role" in text_of(post.params)
