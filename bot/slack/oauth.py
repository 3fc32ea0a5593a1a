"""Installs: slack_sdk's SQLAlchemy installation and state stores, with tokens encrypted at rest.

The stores are built on tables our Alembic migrations own (``bot.slack.installations``), so they are
never asked to ``create_all``. Bot and refresh tokens are encrypted with Fernet under a key
derived (HKDF-SHA256) from ``PMFBOT_SECRET_KEY``: a copy of the database alone does not let anyone
post as the bot. ``bot_client_for_team`` is how code without a Slack request (jobs, the
scheduler) gets a team's WebClient; it rotates an expiring token itself, as Bolt does for
requests.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.rotator import TokenRotator
from sqlalchemy import Engine

from bot.config import Settings
from bot.slack.client import make_client
from bot.slack.installations import BOTS_TABLE, INSTALLATIONS_TABLE, OAUTH_STATES_TABLE

log = logging.getLogger(__name__)

# Every scope the app uses; manifest.json lists the same set (a test keeps them equal).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "files:write",
    "channels:read",
    "groups:read",
    "im:read",
    "im:write",
    "channels:join",
    "channels:history",
    "groups:history",
    "users:read",
    "users:read.email",  # a named survey respondent's email, hashed to match them to a signup
)
ENCRYPTED_PREFIX = "enc1:"
TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
ROTATE_MINUTES_BEFORE_EXPIRY = 120
STATE_EXPIRATION_SECONDS = 600


class TokenCipher:
    """Fernet under a key derived from the app secret. Values carry a prefix so that a row
    written before encryption was turned on (plain ``xoxb-…``) still reads."""

    def __init__(self, secret: str) -> None:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"pmf-gate/slack-tokens", info=b"fernet-v1")
        self._fernet = Fernet(base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8"))))

    def encrypt(self, value: str | None) -> str | None:
        if value is None or value.startswith(ENCRYPTED_PREFIX):
            return value
        return ENCRYPTED_PREFIX + self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, value: str | None) -> str | None:
        if value is None or not value.startswith(ENCRYPTED_PREFIX):
            return value
        try:
            return self._fernet.decrypt(value[len(ENCRYPTED_PREFIX):].encode("ascii")).decode("utf-8")
        except InvalidToken:
            # A changed PMFBOT_SECRET_KEY: the stored token is unusable, the workspace must reinstall.
            log.error("a stored Slack token cannot be decrypted: was PMFBOT_SECRET_KEY changed? reinstall the app")
            return None


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy store, encrypting tokens on save and decrypting rows on read."""

    def __init__(self, *, client_id: str, engine: Engine, cipher: TokenCipher) -> None:
        super().__init__(client_id=client_id, engine=engine, bots_table_name=BOTS_TABLE,
                         installations_table_name=INSTALLATIONS_TABLE, logger=log)
        self.cipher = cipher

    def _encrypted(self, entity: Any) -> Any:
        copy = type(entity)(**entity.to_dict_for_copying())
        for name in TOKEN_FIELDS:
            if hasattr(copy, name):
                setattr(copy, name, self.cipher.encrypt(getattr(copy, name)))
        return copy

    def _decrypt_in_place(self, entity: Any) -> Any:
        for name in TOKEN_FIELDS:
            if hasattr(entity, name):
                setattr(entity, name, self.cipher.decrypt(getattr(entity, name)))
        return entity

    def save(self, installation: Installation) -> None:
        super().save(self._encrypted(installation))

    def save_bot(self, bot: Bot) -> None:
        # super().save() calls save_bot with an already-encrypted copy; encrypt() skips those.
        super().save_bot(self._encrypted(bot))

    # The base class builds entities from rows through these (called on the instance).
    def build_installation_entity(self, row: Any) -> Installation:  # type: ignore[override]
        return self._decrypt_in_place(SQLAlchemyInstallationStore.build_installation_entity(row))

    def build_bot_entity(self, row: Any) -> Bot:  # type: ignore[override]
        return self._decrypt_in_place(SQLAlchemyInstallationStore.build_bot_entity(row))


class OAuthParts:
    """What multi-workspace mode adds to the Bolt app: the stores, the settings and an
    ``authorize`` whose WebClient (auth.test, token rotation) honours SLACK_API_URL."""

    def __init__(self, settings: Settings, engine: Engine, client: WebClient) -> None:
        assert settings.slack_client_id and settings.slack_client_secret
        self.settings = settings
        self.client = client
        self.installation_store = EncryptedInstallationStore(
            client_id=settings.slack_client_id, engine=engine, cipher=TokenCipher(settings.require_secret()))
        self.state_store = SQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine, logger=log, table_name=OAUTH_STATES_TABLE)
        self.oauth_settings = OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            user_scopes=[],
            installation_store=self.installation_store,
            installation_store_bot_only=True,
            state_store=self.state_store,
            state_expiration_seconds=STATE_EXPIRATION_SECONDS,
            token_rotation_expiration_minutes=ROTATE_MINUTES_BEFORE_EXPIRY,
        )
        # Our own instance (not the one OAuthSettings builds) so that auth.test and token
        # rotation go through ``client`` and the auth.test result is cached per token.
        self.authorize = InstallationStoreAuthorize(
            installation_store=self.installation_store,
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            logger=log,
            bot_only=True,
            cache_enabled=True,
            client=client,
            token_rotation_expiration_minutes=ROTATE_MINUTES_BEFORE_EXPIRY,
        )
        self.rotator = TokenRotator(client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
                                    client=client)

    def bot_client_for_team(self, team_id: str) -> WebClient:
        """The team's bot client for work outside a request, rotating the token when due."""
        bot = self.installation_store.find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            from bot.errors import NotFound

            raise NotFound(f"PMF Gate is not installed in workspace {team_id} (install it from /slack/install).")
        if bot.bot_refresh_token and bot.bot_token_expires_at is not None \
                and bot.bot_token_expires_at <= time.time() + ROTATE_MINUTES_BEFORE_EXPIRY * 60:
            refreshed = self.rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=ROTATE_MINUTES_BEFORE_EXPIRY)
            if refreshed is not None:
                self.installation_store.save_bot(refreshed)
                log.info("rotated the bot token of team %s", team_id)
                bot = refreshed
        return make_client(self.settings, bot.bot_token)
