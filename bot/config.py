"""One typed Settings object, read once from the environment; fails fast with one clear line.

SPEC §3 is the contract. ``Settings.from_env`` never reads the clock or touches the network;
processes that talk to Slack call ``require_slack()`` / ``require_secret()`` so that ``pmfbot
demo`` and the import commands work with nothing configured.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from storage.db import normalise_url

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable and what to do."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///pmfbot.db"
    slack_bot_token: str | None = field(default=None, repr=False)  # a secret: never in repr or logs
    slack_signing_secret: str | None = field(default=None, repr=False)  # a secret: never in repr or logs
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)  # a secret: never in repr or logs
    slack_app_token: str | None = field(default=None, repr=False)  # a secret: never in repr or logs
    slack_api_url: str = DEFAULT_SLACK_API_URL
    secret_key: str | None = field(default=None, repr=False)  # a secret: never in repr or logs
    port: int = 3000
    log_level: str = "INFO"
    # Where post-ack work and clock jobs run (SPEC §11): "auto" = procrastinate's queue on
    # PostgreSQL, in-process on SQLite; "local" forces in-process (one process only).
    job_queue: str = "auto"

    @property
    def oauth_mode(self) -> bool:
        """Multi-workspace OAuth wins over a bot token (SPEC §3)."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def uses_procrastinate(self) -> bool:
        if self.job_queue == "local":
            return False
        return self.job_queue == "procrastinate" or self.database_url.startswith("postgresql")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        url = get("DATABASE_URL") or cls.database_url
        if "://" not in url:
            raise ConfigError(f"DATABASE_URL is not a database URL: expected e.g. sqlite:///pmfbot.db or postgres://user@host/db, got {url!r}")
        api = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        parsed = urlparse(api)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"SLACK_API_URL must be an http(s) URL such as {DEFAULT_SLACK_API_URL}, got {api!r}")
        if not api.endswith("/"):
            api += "/"
        port_raw = get("PORT") or "3000"
        if not port_raw.isdigit() or not 0 < int(port_raw) < 65536:
            raise ConfigError(f"PORT must be a TCP port number (1-65535), got {port_raw!r}")
        level = (get("LOG_LEVEL") or "INFO").upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}")
        app_token = get("SLACK_APP_TOKEN")
        if app_token and not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp- (Basic Information → App-Level Tokens, scope connections:write)")
        bot_token = get("SLACK_BOT_TOKEN")
        if bot_token and not bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb- (OAuth & Permissions → Bot User OAuth Token)")
        client_id, client_secret = get("SLACK_CLIENT_ID"), get("SLACK_CLIENT_SECRET")
        if bool(client_id) != bool(client_secret):
            missing = "SLACK_CLIENT_SECRET" if client_id else "SLACK_CLIENT_ID"
            raise ConfigError(f"{missing} is missing: multi-workspace mode needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
        queue = (get("JOB_QUEUE") or "auto").lower()
        if queue not in ("auto", "local", "procrastinate"):
            raise ConfigError(f"JOB_QUEUE must be auto, local or procrastinate, got {queue!r}")
        if queue == "procrastinate" and not normalise_url(url).startswith("postgresql"):
            raise ConfigError("JOB_QUEUE=procrastinate needs a PostgreSQL DATABASE_URL")
        return cls(
            job_queue=queue,
            database_url=normalise_url(url),
            slack_bot_token=bot_token,
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_client_id=client_id,
            slack_client_secret=client_secret,
            slack_app_token=app_token,
            slack_api_url=api,
            secret_key=get("PMFBOT_SECRET_KEY"),
            port=int(port_raw),
            log_level=level,
        )

    # ---------------------------------------------------------------- process requirements
    def require_secret(self) -> str:
        if not self.secret_key or len(self.secret_key) < 16:
            raise ConfigError("PMFBOT_SECRET_KEY is missing or shorter than 16 characters: set it to a long random string (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        return self.secret_key

    def require_slack(self, *, socket: bool = False) -> None:
        """The settings a process that talks to Slack cannot start without."""
        self.require_secret()
        if socket and not self.slack_app_token:
            raise ConfigError("SLACK_APP_TOKEN is missing: Socket Mode needs an xapp- token with connections:write")
        if not self.oauth_mode and not self.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is missing: set it (single workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (multi-workspace)")
        if not socket and not self.slack_signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET is missing: copy it from Basic Information → App Credentials")
