"""The survey modals: the "Tell us more" follow-up (who benefits, main benefit, how to improve,
role) and the App Home's "Start survey", and reading their submitted state."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.render.blocks import escape
from bot.render.plain import field_error
from bot.surveys.blocks import FOLLOWUP_TEXT_MAX, _context, _plain, _section
from bot.surveys.ids import Action, Block, Callback, survey_id_from
from bot.surveys.values import OTHER_ROLE, ROLES, FollowUp, SurveyInfo

# --------------------------------------------------------------------------- the modal


def _text_input(block_id: str, label: str, initial: str | None, placeholder: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": Action.INPUT, "multiline": True,
                               "max_length": FOLLOWUP_TEXT_MAX, "placeholder": _plain(placeholder, 150)}
    if initial:
        element["initial_value"] = initial[:FOLLOWUP_TEXT_MAX]
    return {"type": "input", "block_id": block_id, "optional": True, "label": _plain(label, 2000),
            "element": element}


def _option(text: str) -> dict[str, Any]:
    return {"text": _plain(text, 75), "value": text[:150]}


def followup_modal(survey: SurveyInfo, current: FollowUp | None = None) -> dict[str, Any]:
    """The "Tell us more" modal: who would most benefit, the main benefit, how to improve, and
    the respondent's role (the segment), pre-filled with what they told us before."""
    cur = current or FollowUp()
    product = survey.product_name
    role_element: dict[str, Any] = {"type": "static_select", "action_id": Action.INPUT,
                                    "placeholder": _plain("Choose your role", 150),
                                    "options": [_option(r) for r in (*ROLES, OTHER_ROLE)]}
    other_initial: str | None = None
    if cur.segment:
        if cur.segment in ROLES or cur.segment == OTHER_ROLE:
            role_element["initial_option"] = _option(cur.segment)
        else:
            role_element["initial_option"] = _option(OTHER_ROLE)
            other_initial = cur.segment
    other: dict[str, Any] = {"type": "plain_text_input", "action_id": Action.INPUT, "max_length": 100,
                             "placeholder": _plain("e.g. Teacher", 150)}
    if other_initial:
        other["initial_value"] = other_initial[:100]
    privacy = ("This survey is anonymous: your details are stored with a keyed hash, never your name."
               if survey.anonymous else "The team running this survey will see these answers with your name.")
    blocks = [
        _context(f"Every question is optional. {privacy}"),
        _text_input(Block.WHO, f"What type of person do you think would most benefit from {product}?",
                    cur.who_benefits, "Describe them in a few words"),
        _text_input(Block.BENEFIT, f"What is the main benefit you receive from {product}?",
                    cur.main_benefit, "The one thing you'd miss most"),
        _text_input(Block.IMPROVE, f"How can we improve {product} for you?", cur.improve, "Anything goes"),
        {"type": "input", "block_id": Block.ROLE, "optional": True, "label": _plain("Your role", 2000),
         "element": role_element},
        {"type": "input", "block_id": Block.ROLE_OTHER, "optional": True,
         "label": _plain("If other, which role?", 2000), "element": other},
    ]
    return {
        "type": "modal",
        "callback_id": Callback.FOLLOWUP,
        # Only the survey id: the submission tells us who submitted it.
        "private_metadata": json.dumps({"survey_id": survey.id}),
        "title": _plain("Tell us more", 24),
        "submit": _plain("Save", 24),
        "close": _plain("Cancel", 24),
        "blocks": blocks,
    }


def followup_survey_id(private_metadata: str) -> int | None:
    try:
        value = json.loads(private_metadata or "{}").get("survey_id")
    except (ValueError, AttributeError):
        return None
    return survey_id_from(value)


def followup_from_state(values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> FollowUp:
    """Read the submitted modal's ``view.state.values`` back into a ``FollowUp``."""

    def text(block: str) -> str | None:
        v = (values.get(block, {}).get(Action.INPUT) or {}).get("value")
        return (v.strip() or None) if isinstance(v, str) else None

    selected = (values.get(Block.ROLE, {}).get(Action.INPUT) or {}).get("selected_option") or {}
    role = selected.get("value") if isinstance(selected, dict) else None
    other = text(Block.ROLE_OTHER)
    segment: str | None
    if role == OTHER_ROLE or (role is None and other):
        segment = other or OTHER_ROLE
    else:
        segment = role if role in ROLES else None
    return FollowUp(who_benefits=text(Block.WHO), main_benefit=text(Block.BENEFIT), improve=text(Block.IMPROVE),
                    segment=segment)


def followup_errors(message: str) -> dict[str, str]:
    """``response_action: errors`` payload for a submission that cannot be saved (plain text
    there: no mrkdwn, whole sentences)."""
    return {Block.WHO: field_error(message)}


def start_survey_errors(message: str) -> dict[str, str]:
    """``response_action: errors`` for the start modal; the field names the chosen channel."""
    return {Block.START_CHANNEL: field_error(message, unnamed_channel="this channel")}


# --------------------------------------------------------------------------- start from the Home tab


def start_survey_modal(product_slug: str, *, default_days: int, max_days: int) -> dict[str, Any]:
    """The App Home's "Start survey" modal: which channel, anonymous or not, for how long."""
    return {
        "type": "modal",
        "callback_id": Callback.START,
        "private_metadata": json.dumps({"product": product_slug}),
        "title": _plain("Start a PMF survey", 24),
        "submit": _plain("Post survey", 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            _section(f"Ask the Sean Ellis question about *{escape(product_slug)}* in a channel. "
                     "People answer with the buttons or in the thread; results are posted there when it closes."),
            {"type": "input", "block_id": Block.START_CHANNEL, "label": _plain("Channel", 2000),
             "element": {"type": "conversations_select", "action_id": Action.INPUT,
                         "filter": {"include": ["public", "private"], "exclude_bot_users": True},
                         "placeholder": _plain("Choose a channel", 150)}},
            {"type": "input", "block_id": Block.START_OPTIONS, "optional": True, "label": _plain("Privacy", 2000),
             "element": {"type": "checkboxes", "action_id": Action.INPUT, "options": [
                 {"text": _plain("Anonymous: store only a keyed hash of each respondent", 75), "value": "anonymous"}]}},
            {"type": "input", "block_id": Block.START_DAYS, "label": _plain("Open for (days)", 2000),
             "element": {"type": "number_input", "action_id": Action.INPUT, "is_decimal_allowed": False,
                         "initial_value": str(default_days), "min_value": "1", "max_value": str(max_days)}},
        ],
    }


def start_survey_from_state(view: Mapping[str, Any]) -> tuple[str | None, str | None, bool, int | None]:
    """(product slug, channel id, anonymous, days) from a submitted start modal."""
    try:
        slug = json.loads(view.get("private_metadata") or "{}").get("product")
    except (ValueError, AttributeError):
        slug = None
    values = (view.get("state") or {}).get("values") or {}
    channel = (values.get(Block.START_CHANNEL) or {}).get(Action.INPUT, {}).get("selected_conversation")
    chosen = (values.get(Block.START_OPTIONS) or {}).get(Action.INPUT, {}).get("selected_options") or []
    raw_days = (values.get(Block.START_DAYS) or {}).get(Action.INPUT, {}).get("value")
    try:
        days = int(raw_days) if raw_days is not None else None
    except ValueError:
        days = None
    return slug, channel, any(o.get("value") == "anonymous" for o in chosen), days
