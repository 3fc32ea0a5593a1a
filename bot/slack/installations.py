"""slack_sdk's OAuth installation and state tables, declared on our metadata.

They live here rather than in ``storage`` because storage imports no Slack code; Alembic's
environment imports this module so that our migrations own these tables too, and the OAuth
stores (``bot.slack.oauth``) are created with ``create_all`` turned off.

The token columns are widened from slack_sdk's 200 characters to ``TOKEN_COLUMN_LENGTH``:
tokens are stored Fernet-encrypted (``bot.slack.oauth``), and an encrypted rotating token
(``xoxe.xoxb-…``, ~180 characters in clear) is about 300 characters.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import String

from storage.db import Base

INSTALLATIONS_TABLE = "slack_installations"
BOTS_TABLE = "slack_bots"
OAUTH_STATES_TABLE = "slack_oauth_states"
TOKEN_COLUMN_LENGTH = 1000
ENCRYPTED_TOKEN_COLUMNS = {
    BOTS_TABLE: ("bot_token", "bot_refresh_token"),
    INSTALLATIONS_TABLE: ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
}

slack_installations = SQLAlchemyInstallationStore.build_installations_table(Base.metadata, INSTALLATIONS_TABLE)
slack_bots = SQLAlchemyInstallationStore.build_bots_table(Base.metadata, BOTS_TABLE)
slack_oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, OAUTH_STATES_TABLE)

for _table in (slack_installations, slack_bots):
    for _name in ENCRYPTED_TOKEN_COLUMNS[_table.name]:
        _table.c[_name].type = String(TOKEN_COLUMN_LENGTH)
