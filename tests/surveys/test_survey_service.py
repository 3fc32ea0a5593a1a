"""The survey service against the real database: one open survey per channel, answers that
replace each other in click order, comments, follow-ups, closing, the live-count throttle,
results equal to the domain's computation, and export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import survey as domain
from bot.domain.lessons import survey_lessons
from bot.errors import UserError
from bot.products import service as product_service
from bot.reports import service as services
from bot.surveys import service as surveys
from bot.surveys.answers import delete_reply, followup_form, record_answer, record_reply, save_followup
from bot.surveys.export import EXPORT_COLUMNS, export_responses
from bot.surveys.results import close_survey
from bot.surveys.values import FollowUp, SurveyInfo
from storage.db import unit_of_work
from storage.models import SurveyComment, SurveyResponse
from storage.repositories.reports import survey_responses
from tests.surveys.helpers import CHANNEL, SECRET, T0, TEAM, click, later, scan_for, ts

Start = Callable[..., SurveyInfo]


def responses(factory: sessionmaker[Session]) -> list[SurveyResponse]:
    with factory() as s:
        return list(s.scalars(select(SurveyResponse).order_by(SurveyResponse.id)))


# ----------------------------------------------------------------------------- start


def test_one_open_survey_per_channel_and_product(factory: sessionmaker[Session], start: Start) -> None:
    first = start()
    with pytest.raises(surveys.SurveyAlreadyOpen) as err:
        start()
    assert err.value.survey.id == first.id
    assert "already has an open" in str(err.value)
    other = start(channel="C0OTHER")
    assert other.id != first.id
    assert close_survey(factory, survey_id=first.id, now=later(5)) is not None
    assert start(now=later(6)).id not in (first.id, other.id)


def test_a_start_without_a_product_says_how_to_create_one(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(UserError, match="product create"):
        surveys.start_survey(session_factory, team_id=TEAM, channel_id=CHANNEL, target_channel_id=None,
                             user_id="U1", anonymous=False, days=14, now=T0, single_workspace=True)


def test_days_out_of_range_are_refused(factory: sessionmaker[Session]) -> None:
    with pytest.raises(UserError, match="between 1 and 90"):
        surveys.start_survey(factory, team_id=TEAM, channel_id=CHANNEL, target_channel_id=None, user_id="U1",
                             anonymous=False, days=0, now=T0, single_workspace=True)


def test_surveys_run_in_channels_not_dms(factory: sessionmaker[Session]) -> None:
    with pytest.raises(UserError, match="Surveys run in a channel"):
        surveys.start_survey(factory, team_id=TEAM, channel_id="D0DIRECT", target_channel_id=None, user_id="U1",
                             anonymous=False, days=14, now=T0, single_workspace=True)


def test_a_discarded_survey_frees_the_channel_and_an_unconfirmed_one_is_kept(factory: sessionmaker[Session]) -> None:
    info = surveys.start_survey(factory, team_id=TEAM, channel_id=CHANNEL, target_channel_id=None, user_id="U1",
                                anonymous=False, days=14, now=T0, single_workspace=True)
    surveys.discard_survey(factory, survey_id=info.id)
    again = surveys.start_survey(factory, team_id=TEAM, channel_id=CHANNEL, target_channel_id=None, user_id="U1",
                                 anonymous=False, days=14, now=T0, single_workspace=True)
    # One whose post Slack never confirmed (it may be in the channel, answered) is never replaced:
    # the start is refused, saying how to close it, and nothing is deleted.
    with pytest.raises(surveys.SurveyAlreadyOpen, match="never confirmed") as err:
        surveys.start_survey(factory, team_id=TEAM, channel_id=CHANNEL, target_channel_id=None, user_id="U1",
                             anonymous=False, days=14, now=later(10), single_workspace=True)
    assert "/pmf-check survey close" in str(err.value) and "Nothing was deleted" in str(err.value)
    with factory() as s:
        rows = s.execute(text("select id, opened_at from surveys")).all()
    assert again.opened_at == T0  # the discarded survey left the channel free for a new one
    assert [r.id for r in rows] == [again.id]  # and the unconfirmed one is still there


def test_status_finds_the_product_survey_started_for_another_channel(factory: sessionmaker[Session]) -> None:
    info = surveys.start_survey(factory, team_id=TEAM, channel_id="C0TEAM", target_channel_id="C0COMMUNITY",
                                user_id="U1", anonymous=False, days=14, now=T0, single_workspace=True)
    assert info.channel_id == "C0COMMUNITY"
    found = surveys.find_open_survey(factory, team_id=TEAM, channel_id="C0TEAM", target_channel_id=None,
                                     single_workspace=True)
    assert found.id == info.id
    with pytest.raises(surveys.NoOpenSurvey):
        surveys.find_open_survey(factory, team_id=TEAM, channel_id="C0TEAM", target_channel_id="C0NONE",
                                 single_workspace=True)


# ----------------------------------------------------------------------------- answers


def test_answering_again_replaces_the_answer(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    assert click(factory, survey, "U1", "very", later(1)).status == "recorded"
    assert click(factory, survey, "U1", "not", later(2)).status == "recorded"
    rows = responses(factory)
    assert [(r.respondent_key, r.answer, r.source, r.dedupe_key) for r in rows] == [
        ("U1", "not", "slack", f"survey:{survey.id}:U1")]
    assert rows[0].answered_at == later(2)


def test_a_duplicate_or_older_click_never_overwrites_a_newer_one(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    assert click(factory, survey, "U1", "somewhat", later(2)).status == "recorded"
    assert click(factory, survey, "U1", "somewhat", later(2)).status == "ignored"  # redelivered
    assert click(factory, survey, "U1", "very", later(1), now=later(3)).status == "ignored"  # arrived late
    assert [(r.answer, r.answered_at) for r in responses(factory)] == [("somewhat", later(2))]


def test_answers_after_the_close_or_the_deadline_are_refused(factory: sessionmaker[Session], start: Start) -> None:
    survey = start(days=1)
    assert click(factory, survey, "U1", "very", T0 + timedelta(days=1, seconds=1)).status == "closed"
    assert responses(factory) == []
    other = start(channel="C0OTHER")
    close_survey(factory, survey_id=other.id, now=later(1))
    assert click(factory, other, "U2", "very", later(2)).status == "closed"


def test_a_click_for_another_channel_is_not_found(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    out = record_answer(factory, survey_id=survey.id, channel_id="C0ELSEWHERE", user_id="U1", answer="very",
                                answered_at=later(1), secret=SECRET, now=later(1))
    assert out.status == "not_found"


def test_slack_timestamps_convert_exactly() -> None:
    at = surveys.slack_ts_to_datetime("1700000000.000001")
    assert at.microsecond == 1 and at.tzinfo is not None
    assert surveys.slack_ts_to_datetime(ts(later(1))) == later(1)
    with pytest.raises(ValueError):
        surveys.slack_ts_to_datetime("abc")


# ----------------------------------------------------------------------------- thread replies


def reply(factory: sessionmaker[Session], survey: SurveyInfo, user: str, text_: str, at_: str, event: str,
          **kw: object) -> surveys.ReplyOutcome:
    return record_reply(factory, team_id=TEAM, event_id=event, channel_id=survey.channel_id,
                                thread_ts=survey.message_ts or "", ts=at_, user_id=user, text=text_, secret=SECRET,
                                now=kw.pop("now", later(30)), **kw)  # type: ignore[arg-type]


def test_thread_replies_answer_comment_or_hint(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    assert reply(factory, survey, "U2", "I like it", ts(later(1)), "Ev0").status == "not_respondent"
    assert reply(factory, survey, "U2", " 2 ", ts(later(2)), "Ev1").status == "answer"
    assert reply(factory, survey, "U2", "2", ts(later(2)), "Ev1").status == "duplicate"  # Slack retried
    assert reply(factory, survey, "U2", "The exports save me hours", ts(later(3)), "Ev2").status == "comment"
    assert reply(factory, survey, "U2", "VERY disappointed!", ts(later(4)), "Ev3").answer == "very"
    [row] = responses(factory)
    assert (row.answer, row.answered_at) == ("very", later(4))
    with factory() as s:
        assert s.scalars(select(SurveyComment.text)).all() == ["The exports save me hours"]


def test_edits_and_deletions_of_comments(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    click(factory, survey, "U3", "very", later(1))
    c_ts = ts(later(2))
    reply(factory, survey, "U3", "first words", c_ts, "Ev1")
    assert reply(factory, survey, "U3", "better words", c_ts, "Ev2").status == "comment"  # an edit
    with factory() as s:
        assert s.scalars(select(SurveyComment.text)).all() == ["better words"]
    # An edit that names an option is an answer, dated at the edit.
    assert reply(factory, survey, "U3", "3", c_ts, "Ev3", answered_at=later(5)).status == "answer"
    assert responses(factory)[0].answer == "not"
    out = delete_reply(factory, team_id=TEAM, event_id="Ev4", channel_id=survey.channel_id,
                               thread_ts=survey.message_ts or "", deleted_ts=c_ts, secret=SECRET)
    assert out.status == "comment"
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(SurveyComment)) == 0
    assert responses(factory)[0].answer == "not"  # deleting a reply does not retract the answer


def test_replies_in_other_threads_are_not_survey_replies(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    out = record_reply(factory, team_id=TEAM, event_id="Ev1", channel_id=survey.channel_id,
                               thread_ts="1111.2222", ts="1111.3333", user_id="U1", text="1", secret=SECRET, now=later(1))
    assert out.status == "not_survey"
    assert responses(factory) == []


def test_a_reply_after_the_close_is_refused(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    close_survey(factory, survey_id=survey.id, now=later(1))
    out = reply(factory, survey, "U1", "1", ts(later(2)), "Ev1", now=later(2))
    assert (out.status, out.answer) == ("closed", "very")


# ----------------------------------------------------------------------------- anonymity


def test_anonymous_surveys_store_only_a_keyed_hash(factory: sessionmaker[Session], start: Start) -> None:
    survey = start(anonymous=True)
    click(factory, survey, "U0SECRET1", "very", later(1))
    reply(factory, survey, "U0SECRET1", "love the dashboards", ts(later(2)), "Ev1")
    save_followup(factory, survey_id=survey.id, user_id="U0SECRET1", secret=SECRET,
                          followup=FollowUp("teams", "speed", "more charts", "Designer"), now=later(3))
    [row] = responses(factory)
    assert row.respondent_key.startswith("anon:") and "U0SECRET1" not in row.respondent_key
    assert row.respondent_key == surveys.respondent_key(SECRET, workspace_id=survey.workspace_id,
                                                        product_id=survey.product_id, user_id="U0SECRET1",
                                                        anonymous=True)
    # Keyed: another key, another hash; another product, another hash.
    assert row.respondent_key != surveys.respondent_key("other-key-0123456789", workspace_id=survey.workspace_id,
                                                        product_id=survey.product_id, user_id="U0SECRET1",
                                                        anonymous=True)
    with factory() as s:
        comment = s.scalars(select(SurveyComment)).one()
        assert comment.message_ts != ts(later(2))  # the reply's ts would identify its author
        opened_by = s.execute(text("select opened_by from surveys")).scalar()
    assert opened_by is None
    assert scan_for(factory, "U0SECRET1") == []


# ----------------------------------------------------------------------------- follow-ups


def test_follow_ups_update_the_response(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    f = FollowUp("  founders  ", "saves time", "faster import", "Founder / executive")
    assert save_followup(factory, survey_id=survey.id, user_id="U1", secret=SECRET, followup=f,
                                 now=later(1))[0] == "no_answer"
    click(factory, survey, "U1", "very", later(1))
    assert save_followup(factory, survey_id=survey.id, user_id="U1", secret=SECRET, followup=f,
                                 now=later(2))[0] == "saved"
    form = followup_form(factory, survey_id=survey.id, user_id="U1", secret=SECRET)
    assert form is not None and form[1] == FollowUp("founders", "saves time", "faster import", "Founder / executive")
    click(factory, survey, "U1", "somewhat", later(3))  # a changed answer keeps the follow-ups
    assert responses(factory)[0].main_benefit == "saves time"
    close_survey(factory, survey_id=survey.id, now=later(4))
    assert save_followup(factory, survey_id=survey.id, user_id="U1", secret=SECRET, followup=f,
                                 now=later(5))[0] == "closed"


# ----------------------------------------------------------------------------- live count


def test_the_count_is_refreshed_at_most_once_per_interval(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    step = timedelta(seconds=5)
    assert surveys.claim_count_update(factory, survey_id=survey.id, now=later(1), interval=step).survey is None  # 0 shown
    click(factory, survey, "U1", "very", later(1))
    first = surveys.claim_count_update(factory, survey_id=survey.id, now=later(1), interval=step)
    assert first.survey is not None and first.survey.responses == 1
    click(factory, survey, "U2", "very", later(1))
    soon = surveys.claim_count_update(factory, survey_id=survey.id, now=later(1) + timedelta(seconds=1), interval=step)
    assert soon.survey is None and soon.retry_at == later(1) + step
    assert surveys.stale_count_surveys(factory, now=later(1) + timedelta(seconds=1), interval=step) == []
    assert surveys.stale_count_surveys(factory, now=later(1) + step, interval=step) == [survey.id]
    trailing = surveys.claim_count_update(factory, survey_id=survey.id, now=later(1) + step, interval=step)
    assert trailing.survey is not None and trailing.survey.responses == 2
    done = surveys.claim_count_update(factory, survey_id=survey.id, now=later(2), interval=step)
    assert done == surveys.CountClaim(None, None)  # nothing new to show
    surveys.count_update_failed(factory, survey_id=survey.id)
    assert surveys.stale_count_surveys(factory, now=later(3), interval=step) == [survey.id]


# ----------------------------------------------------------------------------- results


def seed(factory: sessionmaker[Session], survey: SurveyInfo, n: int) -> None:
    roles = ["Engineer / developer", "Founder / executive", "Designer"]
    answers = ["very", "very", "somewhat", "not", "very", "na", "somewhat"]
    for i in range(n):
        user = f"U{i:04d}"
        click(factory, survey, user, answers[i % len(answers)], later(1 + i / 60))
        benefit = ["saves time on reports", "saves time", "clear dashboards"][i % 3]
        save_followup(factory, survey_id=survey.id, user_id=user, secret=SECRET,
                              followup=FollowUp(None, benefit, None, roles[i % 3] if i < n - 2 else "Teacher"),
                              now=later(2))


def test_results_equal_the_domain_computation(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    seed(factory, survey, 47)
    results = close_survey(factory, survey_id=survey.id, now=later(90))
    assert results is not None
    assert close_survey(factory, survey_id=survey.id, now=later(91)) is None  # closes once
    rows = responses(factory)
    mine = [domain.parse_answer(r.answer) or r.answer for r in rows]
    assert results.counts.very == mine.count("very") and results.counts.na == mine.count("na")
    assert results.respondents == 47 == results.survey.responses
    with factory() as s:
        dom = survey_responses(s, survey.product_id, survey_id=survey.id)
    expected = domain.survey_signal(dom, later(90).date(), results.settings)
    assert (results.signal.score, results.signal.ci, results.signal.status) == (expected.score, expected.ci,
                                                                                  expected.status)
    # The gate signal is exactly what the gate report computes.
    report = services.gate_report(factory, product_slug="acme", team_id=TEAM, as_of=later(90).date())
    assert results.gate == report.survey
    assert [r.score for r in results.segments] == domain.segment_scores(dom, min_n=5)
    counted = domain.latest_per_respondent(dom, later(90).date(), 90)
    assert results.lessons == survey_lessons(counted, anonymous=False)
    assert results.lessons.love.phrases[0].phrase == "saves time"


def test_anonymous_results_hide_groups_under_five(factory: sessionmaker[Session], start: Start) -> None:
    survey = start(anonymous=True)
    seed(factory, survey, 20)
    results = close_survey(factory, survey_id=survey.id, now=later(90))
    assert results is not None
    assert all(r.respondents >= 5 for r in results.segments)
    assert results.hidden_segments == 1 and results.hidden_respondents == 2  # "Teacher"
    # The lessons never quote or claim from fewer than 5 people, and name nobody.
    love = results.lessons.love
    assert love.respondents >= 5 and all(p.count >= 2 for p in love.phrases)


def test_gate_counts_slack_and_imported_answers_once_per_person(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    click(factory, survey, "U1", "very", later(1))
    with unit_of_work(factory) as s:
        product = product_service.cli_product(s, "acme", TEAM)
        # An imported answer by the same respondent id, earlier: the Slack answer is the latest.
        s.add(SurveyResponse(product_id=product.id, dedupe_key="import:U1:x", respondent_key="U1", source="import",
                             answered_at=T0 - timedelta(days=3), answer="not"))
        s.add(SurveyResponse(product_id=product.id, dedupe_key="import:U9:x", respondent_key="U9", source="import",
                             answered_at=T0 - timedelta(days=3), answer="somewhat"))
    results = close_survey(factory, survey_id=survey.id, now=later(2))
    assert results is not None
    assert (results.gate.responses, results.gate.very_disappointed) == (2, 1)
    assert (results.signal.responses, results.signal.very_disappointed) == (1, 1)


# ----------------------------------------------------------------------------- export


def test_export_writes_the_import_format(factory: sessionmaker[Session], start: Start) -> None:
    named = start()
    click(factory, named, "U1", "very", later(1))
    save_followup(factory, survey_id=named.id, user_id="U1", secret=SECRET,
                          followup=FollowUp("devs", "speed, mostly", "docs", "Designer"), now=later(2))
    anon = start(anonymous=True, channel="C0ANON")
    click(factory, anon, "U2", "na", later(3))
    lines = "".join(export_responses(factory, product_slug="acme", team_id=TEAM))
    rows = list(csv.DictReader(io.StringIO(lines)))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert rows[0] == {"respondent_id": "U1", "answered_at": later(1).isoformat(), "answer": "Very disappointed",
                       "segment": "Designer", "who_benefits": "devs", "main_benefit": "speed, mostly",
                       "improve": "docs"}
    assert rows[1]["respondent_id"].startswith("anon:") and rows[1]["answer"] == "N/A — I no longer use Acme"
    one = list(csv.DictReader(io.StringIO("".join(export_responses(factory, product_slug="acme",
                                                                           team_id=TEAM, survey_id=anon.id)))))
    assert len(one) == 1
    with pytest.raises(UserError):
        list(export_responses(factory, product_slug="acme", team_id=TEAM, survey_id=9999))
