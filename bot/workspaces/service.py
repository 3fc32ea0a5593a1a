"""Workspace lifecycle as use cases: Slack event receipts (dedupe on team and event id), forgetting a
workspace's tokens and data on ``app_uninstalled``/``tokens_revoked``, and the database health check
behind ``/healthz``. No Slack imports here."""

from __future__ import annotations

from bot.slack.installations import slack_bots, slack_installations
from storage.db import Factory, unit_of_work
from storage.receipts import claim_event as _claim_event
from storage.repositories import workspaces as workspace_repo


# ----------------------------------------------------------------------------- events and lifecycle
def claim_event(factory: Factory, *, team_id: str, event_id: str) -> bool:
    """True the first time this Events API delivery is seen (for effects outside the database)."""
    with unit_of_work(factory) as s:
        return _claim_event(s, team_id, event_id)


def forget_workspace(factory: Factory, *, team_id: str, event_id: str | None) -> bool:
    """``app_uninstalled`` / bot ``tokens_revoked``: delete the team's tokens (slack_sdk's rows)
    and all of its data (the workspace row cascades to every table), in one transaction with
    the event's receipt. False when this delivery was already processed."""
    with unit_of_work(factory) as s:
        if event_id and not _claim_event(s, team_id, event_id):
            return False
        workspace_repo.delete_team_rows(s, slack_bots, team_id=team_id)
        workspace_repo.delete_team_rows(s, slack_installations, team_id=team_id)
        workspace_repo.delete_workspace(s, team_id=team_id)
        return True


def forget_user_tokens(factory: Factory, *, team_id: str, user_ids: list[str], event_id: str | None) -> bool:
    """``tokens_revoked`` for user tokens only: drop those users' installation rows."""
    with unit_of_work(factory) as s:
        if event_id and not _claim_event(s, team_id, event_id):
            return False
        workspace_repo.delete_team_rows(s, slack_installations, team_id=team_id, user_ids=user_ids)
        return True


def database_ok(factory: Factory) -> bool:
    """``/healthz``: the database answers a trivial query."""
    try:
        with factory() as s:
            workspace_repo.ping(s)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy"; the caller reports it
        return False
