"""Errors that carry a message meant for a person: what was wrong and what to do instead.

``UserError`` is raised by services and parsers for bad input (unknown product, malformed CSV,
bad date); the CLI turns it into exit code 2 and the Slack layer into an ephemeral reply. Any
other exception is a bug or an outage and is reported as such.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a user; ``str(err)`` says what to fix. ``usage`` is optional help."""

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class NotFound(UserError):
    """A named thing (product, survey, subscription) does not exist in this workspace."""


class SlackUnreachable(Exception):
    """Slack cannot be reached, or refused the connection, at start-up; ``str(err)`` says where and
    what to check. Not a bug (no traceback) and not bad input (exit code 1: retry later)."""
