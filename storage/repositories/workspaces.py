"""Workspace lifecycle queries: the SQL behind ``bot.workspaces.service`` (forgetting a team's
tokens and data, the health check). Slack's installation tables are defined with the Slack
code (``bot.slack.installations``), which storage does not import: the use case passes them in.
These take the caller's session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, delete, select, text
from sqlalchemy.orm import Session

from storage.models import ActivityEventWeek, Product, Workspace


def delete_team_rows(session: Session, table: Table, *, team_id: str, user_ids: Sequence[str] | None = None) -> None:
    """Delete the team's rows of a Slack installation table (only ``user_ids``' rows when given)."""
    stmt = delete(table).where(table.c.team_id == team_id)
    if user_ids is not None:
        stmt = stmt.where(table.c.user_id.in_(user_ids))
    session.execute(stmt)


def delete_workspace(session: Session, *, team_id: str) -> None:
    """Delete the team's workspace row (it cascades to every table holding its data, but for
    ``activity_event_weeks``, which has no foreign key: deleted here first)."""
    products = select(Product.id).join(Workspace, Workspace.id == Product.workspace_id).where(Workspace.team_id == team_id)
    session.execute(delete(ActivityEventWeek).where(ActivityEventWeek.product_id.in_(products)))
    session.execute(delete(Workspace).where(Workspace.team_id == team_id))


def ping(session: Session) -> None:
    """A trivial query; raises when the database does not answer."""
    session.execute(text("SELECT 1"))
