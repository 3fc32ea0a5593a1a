"""The survey Block Kit builders, by structure: Slack's limits hold for every message and view,
the exact answer labels, no distribution while open, nothing naming a respondent in payloads,
and the modal's state read back into the follow-up it was pre-filled with."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain import survey as domain
from bot.domain.lessons import survey_lessons
from bot.domain.settings import SurveySettings
from bot.domain.types import SegmentScore, SurveyResponse
from bot.render import limits
from bot.surveys import blocks as ui
from bot.surveys.ids import Action, Block, Metadata, answer_from_action_id
from bot.surveys.modals import followup_from_state, followup_modal, followup_survey_id
from bot.surveys.values import FollowUp, SegmentRow, SurveyInfo, SurveyResults

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SURVEY = SurveyInfo(id=7, team_id="T1", workspace_id=1, product_id=3, product_slug="acme", product_name="Acme",
                    channel_id="C1", message_ts="1700000001.000001", anonymous=False, opened_at=AT,
                    closes_at=AT + timedelta(days=14), closed_at=None, responses=12)


def _all_text(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def _mrkdwn(node: object) -> list[str]:
    """Every mrkdwn text in a block tree (the only text Slack parses for mentions)."""
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for v in node.values() for t in _mrkdwn(v)]
    if isinstance(node, list):
        return [t for v in node for t in _mrkdwn(v)]
    return []


def test_the_open_message_has_the_exact_labels_and_only_a_count() -> None:
    msg = ui.survey_message(SURVEY)
    limits.validate_message(msg)
    [actions] = [b for b in msg["blocks"] if b["type"] == "actions"]
    assert [e["text"]["text"] for e in actions["elements"]] == [
        "Very disappointed", "Somewhat disappointed", "Not disappointed", "N/A — I no longer use Acme"]
    assert [e["action_id"] for e in actions["elements"]] == [ui.answer_action_id(a) for a in ("very", "somewhat", "not", "na")]
    assert {e["value"] for e in actions["elements"]} == {"7"}  # the survey id only
    text = _all_text(msg)
    assert "How would you feel if you could no longer use Acme?" in text
    assert "12 responses" in text and "reply in this thread" in text and "Not anonymous" in text
    assert "%" not in text  # never the distribution while open


def test_the_closed_message_has_no_buttons() -> None:
    msg = ui.survey_message(replace(SURVEY, closed_at=AT + timedelta(days=1), responses=1))
    limits.validate_message(msg)
    assert not [b for b in msg["blocks"] if b["type"] == "actions"]
    assert "Closed" in _all_text(msg) and "1 response." in _all_text(msg).replace("*", "")


def test_long_or_hostile_product_names_stay_within_limits_and_escaped() -> None:
    nasty = replace(SURVEY, product_name="<!channel> & " + "x" * 190, anonymous=True)
    for msg in (ui.survey_message(nasty), ui.thread_intro(nasty), ui.answer_recorded(nasty, "na"),
                ui.survey_status(nasty), ui.survey_reminder(nasty), ui.reminder_dm(nasty, "https://x"),
                ui.survey_started(nasty), ui.survey_closed_note(nasty), ui.not_an_answer_hint(nasty)):
        limits.validate_message(msg)
        assert "<!channel>" not in "".join(_mrkdwn(msg["blocks"]))  # plain_text is never parsed
    limits.validate_view(followup_modal(nasty))


@pytest.mark.parametrize("action_id, answer", [
    ("pmf.survey.answer.very", "very"), ("pmf.survey.answer.na", "na"), ("pmf.survey.answer.maybe", None),
    ("pmf.home.check", None)])
def test_answer_action_ids(action_id: str, answer: str | None) -> None:
    assert answer_from_action_id(action_id) == answer


def _state(view: dict) -> dict:
    """What Slack sends back for a modal submitted as shown (initial values kept)."""
    out: dict = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        el = block["element"]
        if el["type"] == "static_select":
            out[block["block_id"]] = {Action.INPUT: {"type": "static_select",
                                                       "selected_option": el.get("initial_option")}}
        else:
            out[block["block_id"]] = {Action.INPUT: {"type": el["type"], "value": el.get("initial_value")}}
    return out


@pytest.mark.parametrize("followup", [
    FollowUp("founders", "speed", "docs", "Designer"),
    FollowUp(None, "one thing", None, "Teacher"),  # "Other" with its free text
    FollowUp(None, None, None, None),
])
def test_the_modal_round_trips_what_it_was_prefilled_with(followup: FollowUp) -> None:
    view = followup_modal(SURVEY, followup)
    limits.validate_view(view)
    assert json.loads(view["private_metadata"]) == {"survey_id": 7}
    assert followup_survey_id(view["private_metadata"]) == 7
    assert followup_from_state(_state(view)) == followup


def test_the_modal_reads_other_and_blank_answers() -> None:
    values = {Block.ROLE: {Action.INPUT: {"selected_option": {"value": "Other"}}},
              Block.WHO: {Action.INPUT: {"value": "   "}}}
    assert followup_from_state(values) == FollowUp(None, None, None, "Other")
    assert followup_survey_id("not json") is None


def _results(anonymous: bool = False) -> SurveyResults:
    responses = [SurveyResponse(f"r{i}", date(2026, 11, 20), ("very", "somewhat", "not", "na")[i % 4],
                                segment=("Designer" if i % 2 else "Engineer / developer"),
                                main_benefit="saves time") for i in range(48)]
    settings = SurveySettings()
    signal = domain.survey_signal(responses, date(2026, 11, 23), settings)
    seg = [SegmentRow(s, 24) for s in domain.segment_scores(responses)]
    return SurveyResults(survey=replace(SURVEY, closed_at=AT, responses=48, anonymous=anonymous), as_of=AT.date(),
                         counts=signal.counts, signal=signal, gate=signal, settings=settings, segments=tuple(seg),
                         hidden_segments=1 if anonymous else 0, hidden_respondents=3 if anonymous else 0,
                         lessons=survey_lessons(responses, anonymous=anonymous))


def test_results_show_the_numbers_with_their_uncertainty() -> None:
    r = _results()
    msg = ui.results_message(r)
    limits.validate_message(msg)
    text = _all_text(msg)
    s = r.signal
    assert s.score is not None and s.ci is not None
    assert f"{s.score * 100:.1f}%" in text and f"95% CI {s.ci[0] * 100:.1f}–{s.ci[1] * 100:.1f}%" in text
    assert f"n={s.responses}" in text and "12 N/A" in text and "25.0% of 48 answers" in text
    assert "What this does to the gate" in text and "more responses" in text
    assert "Score by role" in text and "*saves time* (12 answers): \u201csaves time\u201d" in text
    assert "Who loves it most:* No segment stands out yet" in text
    assert "What holds the somewhat disappointed back (what would improve it):* Not enough answers yet (n=0)" in text
    # each percentage says what it is a share of: all answers, or the scored ones (N/A left out)
    assert "*12* of 48 answers (25.0%)" in text and "12 of 36 scored answers, N/A left out" in text
    meta = ui.results_metadata(r)
    assert meta["event_type"] == Metadata.RESULTS and meta["event_payload"]["survey"] == s.to_json()
    assert "very 12" in ui.results_chart_alt(r)


def test_anonymous_results_say_what_they_hide() -> None:
    text = _all_text(ui.results_message(_results(anonymous=True)))
    assert "1 more role, with fewer than 5 people (3 people), is not shown" in text
    two = _all_text(ui.results_message(replace(_results(anonymous=True), hidden_segments=2, hidden_respondents=1)))
    assert "2 more roles, each with fewer than 5 people (1 person in all), are not shown" in two
    assert "segment(s)" not in two and "(1 people)" not in two


def test_a_two_answer_survey_does_not_read_as_passing_the_gate() -> None:
    """The gate's survey signal may pass on imported answers; the post must say whose status it
    is and on how many answers it rests, and that this survey alone decides nothing."""
    settings = SurveySettings()
    two = [SurveyResponse(f"r{i}", date(2026, 11, 20), "very") for i in range(2)]
    many = [SurveyResponse(f"i{i}", date(2026, 11, 20), "very" if i % 3 else "somewhat") for i in range(300)]
    own = domain.survey_signal(two, date(2026, 11, 23), settings)
    gate = domain.survey_signal(many + two, date(2026, 11, 23), settings)
    assert own.status == "insufficient_data" and gate.status == "pass"
    r = replace(_results(), signal=own, counts=own.counts, gate=gate, segments=())
    msg = ui.results_message(r)
    limits.validate_message(msg)
    assert "(n=2, 0 N/A), too few answers to decide on their own (40 needed)." in msg["text"]
    assert "Gate survey signal: pass" not in msg["text"]
    assert ("The gate's survey signal for Acme (all answers of the last 90 days, Slack and imported, n=302): "
            in msg["text"])
    assert "too few answers to decide on their own" in _all_text(msg["blocks"])


def test_hidden_segment_scores_show_only_n() -> None:
    r = replace(_results(), segments=(SegmentRow(SegmentScore("Designer", 3, 2, None, None), 3),))
    text = _all_text(ui.results_message(r))
    assert "Designer: n=3 (fewer than 5: score hidden)" in text
