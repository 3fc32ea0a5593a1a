"""The surveys feature's Slack ids: action, block and callback ids the blocks carry and the
listeners match, and the metadata event types of its posts. One spelling for both sides."""

from __future__ import annotations

import re
from enum import StrEnum

from bot.domain.types import ANSWERS, Answer


class Action(StrEnum):
    ANSWER_PREFIX = "pmf.survey.answer."  # + very | somewhat | not | na (value = survey id)
    FOLLOWUP = "pmf.survey.followup"  # "Tell us more" (value = survey id)
    INPUT = "value"  # the action_id of every input element in a modal


class Block(StrEnum):
    ANSWERS = "pmf.survey.answers"
    WHO = "pmf.survey.f.who"
    BENEFIT = "pmf.survey.f.benefit"
    IMPROVE = "pmf.survey.f.improve"
    ROLE = "pmf.survey.f.role"
    ROLE_OTHER = "pmf.survey.f.role_other"
    START_CHANNEL = "pmf.survey.s.channel"
    START_OPTIONS = "pmf.survey.s.options"
    START_DAYS = "pmf.survey.s.days"


class Callback(StrEnum):
    FOLLOWUP = "pmf.survey.followup_modal"  # private_metadata = survey id only
    START = "pmf.survey.start_modal"  # the App Home's "Start survey" modal


class Metadata(StrEnum):
    SURVEY = "pmf_survey"  # a survey's parent message
    RESULTS = "pmf_survey_results"  # a results post in the survey's thread
    INTRO = "pmf_survey_intro"  # the "how to answer" reply under a survey
    REMINDER = "pmf_survey_reminder"  # a reminder in the survey's thread (one per request)
    REMINDER_DM = "pmf_survey_reminder_dm"  # a reminder sent to one member (one per survey, member and day)
    STARTED_DM = "pmf_survey_started_dm"  # "your survey is out", to whoever started it from the Home tab


ANSWER_ACTION = re.compile("^" + re.escape(Action.ANSWER_PREFIX) + "(very|somewhat|not|na)$")


def answer_action_id(answer: Answer) -> str:
    return Action.ANSWER_PREFIX + answer


def answer_from_action_id(action_id: str) -> Answer | None:
    """The answer a button's action id stands for, or None when it is not an answer button."""
    if not action_id.startswith(Action.ANSWER_PREFIX):
        return None
    tail = action_id[len(Action.ANSWER_PREFIX):]
    return tail if tail in ANSWERS else None  # type: ignore[return-value]


MAX_SURVEY_ID = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL


def survey_id_from(value: object) -> int | None:
    """The survey id a button value or modal metadata carries, or None when it cannot be one
    (not a whole number, or out of the column's range): such a payload is refused politely."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_SURVEY_ID else None
