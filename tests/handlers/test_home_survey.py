"""The App Home's "Start survey" button: a modal, then a survey of the named product posted in
the chosen channel; problems are shown inside the modal and nothing is started."""

from __future__ import annotations

import json

from sqlalchemy import select

from storage.models import Survey

VALUES = {
    "pmf.survey.s.channel": {"value": {"type": "conversations_select", "selected_conversation": "C9"}},
    "pmf.survey.s.options": {"value": {"type": "checkboxes", "selected_options": [{"value": "anonymous"}]}},
    "pmf.survey.s.days": {"value": {"type": "number_input", "value": "7"}},
}


def test_home_survey_button_opens_the_start_modal(harness, fake_slack, seed_product):
    seed_product("T1", "acme", "Acme", data=False)
    r = harness.block_action("pmf.home.survey", "acme")
    assert r.status == 200
    view = fake_slack.wait_calls("views.open")[0].json_param("view")
    assert view["callback_id"] == "pmf.survey.start_modal"
    assert json.loads(view["private_metadata"]) == {"product": "acme"}
    assert {b.get("block_id") for b in view["blocks"]} >= set(VALUES)


def test_submitting_the_modal_posts_the_survey_for_that_product(harness, fake_slack, seed_product, session_factory):
    seed_product("T1", "acme", "Acme", data=False)
    seed_product("T1", "other", "Other", data=False)  # several products: the button's slug decides
    fake_slack.add_channel("C9", "community")
    r = harness.view_submission("pmf.survey.start_modal", VALUES, private_metadata=json.dumps({"product": "acme"}))
    assert r.status == 200 and r.body in (b"", b"null")
    post = fake_slack.wait_calls("chat.postMessage", channel="C9")[0]
    assert "Acme" in post.params["text"]
    confirmation = fake_slack.wait_calls("chat.postMessage", channel="DU1")[0]
    assert "<#C9>" in confirmation.params["text"]
    with session_factory() as s:
        survey = s.scalars(select(Survey)).one()
        assert (survey.channel_id, survey.anonymous, survey.opened_by) == ("C9", True, None)
        assert (survey.closes_at - survey.opened_at).days == 7


def test_a_second_survey_in_that_channel_is_refused_inside_the_modal(harness, fake_slack, seed_product,
                                                                    session_factory):
    seed_product("T1", "acme", "Acme", data=False)
    fake_slack.add_channel("C9", "community")
    meta = json.dumps({"product": "acme"})
    assert harness.view_submission("pmf.survey.start_modal", VALUES, private_metadata=meta).status == 200
    fake_slack.wait_calls("chat.postMessage", channel="C9")
    r = harness.view_submission("pmf.survey.start_modal", VALUES, private_metadata=meta)
    answer = r.json()
    assert answer["response_action"] == "errors"
    error = answer["errors"]["pmf.survey.s.channel"]
    assert error == ("This channel already has an open Acme survey (0 responses so far). "
                     "Close it first with /pmf-check survey close there.")
    assert len(error) <= 150
    with session_factory() as s:
        assert len(s.scalars(select(Survey)).all()) == 1


def test_an_unknown_product_is_refused_inside_the_modal(harness, seed_product, session_factory):
    seed_product("T2", "secret", "Secret", data=False)
    r = harness.view_submission("pmf.survey.start_modal", VALUES, private_metadata=json.dumps({"product": "secret"}))
    answer = r.json()
    assert answer["response_action"] == "errors"
    error = answer["errors"]["pmf.survey.s.channel"]
    assert error.startswith("No product secret in this workspace.")
    # Plain text in a modal: no mrkdwn, no mentions, and whole sentences within 150 characters.
    assert "`" not in error and "<#" not in error and len(error) <= 150 and error.endswith(".")
    with session_factory() as s:
        assert s.scalars(select(Survey)).all() == []
