"""Reusable pytest fixtures for Slack-facing tests (registered in ``tests/conftest.py`` via
``pytest_plugins``, so tests anywhere — ``tests/handlers``, ``tests/jobs`` — can use them).

- ``fake_slack``: a started ``FakeSlack`` (channels ``C1`` public + member, ``C2`` public,
  ``G1`` private without the bot, users ``U1``/``U2``).
- ``slack_settings``: single-workspace ``Settings`` pointing at the fake and the test database.
- ``harness``: the real app over HTTP on the test database (clock fixed at ``NOW``).
- ``oauth_harness``: the same in multi-workspace (OAuth) mode, with teams ``T1`` and ``T2``
  installed in the encrypted installation store.
- ``demo_data`` / ``seed_product``: a small realistic product (bot.demo's generator) imported
  through the real CSV import into a team's workspace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from tests.fakes.harness import Harness, make_settings
from tests.fakes.slack_api import FakeSlack

AS_OF = date(2026, 11, 23)  # a Monday: the week before is complete
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    fake.add_channel("C1", "general", member=True)
    fake.add_channel("C2", "growth")
    fake.add_channel("G1", "secret-plans", private=True)
    # U1 and U2 are workspace admins (they may change anything, SPEC §8); tests of who may
    # change what add ordinary members themselves.
    fake.add_user("U1", tz="Europe/Berlin", admin=True)
    fake.add_user("U2", tz="America/New_York", owner=True)
    yield fake
    fake.stop()


@pytest.fixture
def slack_settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    return make_settings(db_url, fake_slack)



@pytest.fixture
def harness(slack_settings: Settings, session_factory: sessionmaker[Session], fake_slack: FakeSlack) -> Iterator[Harness]:
    h = Harness(slack_settings, session_factory, fake_slack, now=NOW)
    yield h
    h.close()


def install_team(store: Any, team_id: str, *, token: str, refresh_token: str | None = None,
                 expires_at: int | None = None) -> None:
    """Save an installation for ``team_id`` as the OAuth flow would."""
    from slack_sdk.oauth.installation_store.models.installation import Installation

    store.save(Installation(
        app_id="A1", enterprise_id=None, team_id=team_id, team_name=f"Team {team_id}", bot_token=token,
        bot_id=f"B{team_id}", bot_user_id="UBOT", bot_scopes=["commands", "chat:write"], user_id="UINSTALLER",
        bot_refresh_token=refresh_token, bot_token_expires_at=expires_at, installed_at=time.time(),
    ))


@pytest.fixture
def oauth_harness(db_url: str, session_factory: sessionmaker[Session], fake_slack: FakeSlack) -> Iterator[Harness]:
    h = Harness(make_settings(db_url, fake_slack, oauth=True), session_factory, fake_slack, now=NOW)
    install_team(h.app.installation_store, "T1", token="xoxb-team-one")
    install_team(h.app.installation_store, "T2", token="xoxb-team-two")
    yield h
    h.close()


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from bot.demo import generate

    return generate(tmp_path_factory.mktemp("demo") / "data", AS_OF, weeks=12)


@pytest.fixture
def seed_product(session_factory: sessionmaker[Session], demo_data: Any) -> Callable[..., Any]:
    """``seed_product(team_id, slug, name=None, data=True)`` → ProductRef (created and imported)."""
    from bot.ingest.csv_import import import_csv
    from bot.products import service as product_service

    def seed(team_id: str = "T1", slug: str = "acme", name: str | None = None, *, data: bool = True) -> Any:
        product = product_service.create_product(session_factory, slug=slug, name=name or slug.title(), team_id=team_id)
        if data:
            for kind, path in (("signups", demo_data.signups), ("events", demo_data.events),
                               ("responses", demo_data.responses)):
                import_csv(session_factory, kind=kind, path=Path(path), product_slug=slug, team_id=team_id,
                           progress=False)
        return product

    return seed
