"""What every Slack listener and job needs, built once by the composition root (``bot.app``).

Listeners get an ``AppContext`` through ``register(app, ctx)`` closures instead of globals, so
tests build the real app against a test database and a fake Slack Web API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    factory: sessionmaker[Session]
    # The bot's WebClient for a team (single-workspace: the bot token; OAuth: the installation
    # store's bot). Always built by bot.slack_client.make_client, so SLACK_API_URL is honoured.
    client_for_team: Callable[[str], WebClient]
    secret_key: str
    now: Callable[[], datetime] = field(default=_utcnow)

    @property
    def single_workspace(self) -> bool:
        return not self.settings.oauth_mode
