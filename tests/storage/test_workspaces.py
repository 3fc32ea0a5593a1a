"""Workspace lookup under concurrency: two first requests from a new team."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import Factory
from storage.models import Workspace
from storage.repositories import products as repo
from storage.repositories.products import get_or_create_workspace


def test_a_team_created_by_a_concurrent_request_is_taken_not_an_error(session_factory: Factory,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Request B looks for team T1 and finds nothing; request A creates T1 and commits; B's
    insert then hits the unique team id. B must carry on with A's workspace."""
    real = repo.find_workspace
    looked: list[str] = []

    def find_while_a_commits(session: Session, team_id: str) -> Any:
        looked.append(team_id)
        if len(looked) == 1:  # B's first look; then A wins the race
            with session_factory() as a:
                a.add(Workspace(team_id="T1"))
                a.commit()
            return None
        return real(session, team_id)

    monkeypatch.setattr(repo, "find_workspace", find_while_a_commits)
    with session_factory() as b:
        ws = get_or_create_workspace(b, "T1", name="Acme")
        b.commit()
        ws_id = ws.id
    assert looked == ["T1", "T1"]  # before its insert, and again after the insert failed
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Workspace)) == 1
        assert s.scalar(select(Workspace.team_id).where(Workspace.id == ws_id)) == "T1"
