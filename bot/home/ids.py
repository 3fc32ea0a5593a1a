"""The App Home's Slack ids: its buttons (value = product slug)."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    CHECK = "pmf.home.check"  # report + chart to the user's DM
    SURVEY = "pmf.home.survey"  # the "Start survey" modal
    DIGEST = "pmf.home.digest"
