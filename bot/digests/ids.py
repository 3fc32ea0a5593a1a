"""The weekly digest's Slack ids: its buttons (value = product slug) and the metadata event
type that names a digest post (so a retry finds it instead of posting twice)."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    SURVEY = "pmf.digest.survey"  # "Run a PMF survey"
    DETAILS = "pmf.digest.details"


METADATA_EVENT = "pmf_digest"
