"""Every action_id / callback_id / block_id the app uses, namespaced ``pmf.<feature>.<name>``.

The render layer builds the blocks that carry these ids (``bot.render.blocks.ACTION_*``); the
listeners match on the names here, so both sides share one spelling. Features append theirs.
"""

from __future__ import annotations

import re

from bot.render import blocks, survey_blocks

# App Home buttons (value = product slug).
HOME_CHECK = blocks.ACTION_HOME_CHECK  # "pmf.home.check": report + chart to the user's DM
HOME_SURVEY = blocks.ACTION_HOME_SURVEY  # "pmf.home.survey"
HOME_DIGEST = blocks.ACTION_HOME_DIGEST  # "pmf.home.digest"

# Weekly digest buttons (value = product slug).
DIGEST_SURVEY = blocks.ACTION_DIGEST_SURVEY  # "pmf.digest.survey"
DIGEST_DETAILS = blocks.ACTION_DIGEST_DETAILS  # "pmf.digest.details"

# Surveys (bot.render.survey_blocks): the four answer buttons share a prefix (value = survey
# id), "Tell us more" (value = survey id) and its modal (private_metadata = survey id only).
SURVEY_ANSWER = re.compile("^" + re.escape(survey_blocks.ACTION_ANSWER_PREFIX) + "(very|somewhat|not|na)$")
SURVEY_FOLLOWUP = survey_blocks.ACTION_FOLLOWUP  # "pmf.survey.followup"
SURVEY_FOLLOWUP_MODAL = survey_blocks.CALLBACK_FOLLOWUP  # "pmf.survey.followup_modal"
SURVEY_START_MODAL = survey_blocks.CALLBACK_START  # "pmf.survey.start_modal" (App Home "Start survey")
