"""Workspace lifecycle queries: the SQL behind ``bot.workspaces.service`` (forgetting a team's
tokens and data, the health check). Slack's installation tables are defined with the Slack
code (``bot.slack.installations``), which storage does not import: the use case passes them in.
These take the caller's session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, delete, text
from sqlalchemy.orm import Session

from storage.models import Workspace


def delete_team_rows(session: Session, table: Table, *, team_id: str, user_ids: Sequence[str] | None = None) -> None:
    """Delete the team's rows of a Slack installation table (only ``user_ids``' rows when given)."""
    stmt = delete(table).where(table.c.team_id == team_id)
    if user_ids is not None:
        stmt = stmt.where(table.c.user_id.in_(user_ids))
    session.execute(stmt)


def delete_workspace(session: Session, *, team_id: str) -> None:
    """Delete the team's workspace row (it cascades to every table holding its data)."""
    session.execute(delete(Workspace).where(Workspace.team_id == team_id))


def ping(session: Session) -> None:
    """A trivial query; raises when the database does not answer."""
    session.execute(text("SELECT 1"))
