"""take passwords out of stored SQL source URLs' query strings

A source URL's query parameters were stored as given, so a ``?password=`` (or ``sslpassword=``,
``token=`` …) sat in clear in ``sql_sources.url`` and was shown by ``source list`` and on the App
Home. Each such value is replaced by ``***`` in the stored URL. With ``PMFBOT_SECRET_KEY`` in the
environment it is encrypted into ``password_enc`` (with the userinfo password already there), as
``pmfbot source add`` now stores them, so the source keeps working; without the key it cannot be
kept, and the source's ``last_error`` says to add it again (and to change that password, which was
visible). Data only: no column changes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:30:00
"""
import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import make_url

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECRET_NAME = re.compile(r"pass|pwd|secret|token|api_?key|auth|credential", re.I)  # as bot/ingest/sql_guard.py
SECRETS_PREFIX = "pmf-secrets-v1:"  # as bot/ingest/sql_source.py
LOST = ("the URL's {names} was stored in clear until this upgrade and has been removed (PMFBOT_SECRET_KEY was not "
        "set to encrypt it): change that password, then add the source again with `pmfbot source add PRODUCT "
        "--url-env NAME ...`")


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, url, password_enc FROM sql_sources")).all()
    key = os.environ.get("PMFBOT_SECRET_KEY") or ""
    for source_id, url_text, password_enc in rows:
        url = make_url(url_text)
        found = {k: v if isinstance(v, str) else ",".join(v) for k, v in url.query.items()
                 if SECRET_NAME.search(k) and v != "***"}
        if not found:
            continue
        masked = url.update_query_dict({k: "***" for k in found}).render_as_string(hide_password=False)
        masked = masked.replace("%2A%2A%2A", "***")
        if len(key) >= 16:
            from bot.slack.oauth import TokenCipher  # the cipher of Slack tokens and source secrets

            cipher = TokenCipher(key)
            secrets: dict[str, object] = {}
            old = cipher.decrypt(password_enc) if password_enc else None
            if old:
                secrets = json.loads(old[len(SECRETS_PREFIX):]) if old.startswith(SECRETS_PREFIX) else {"password": old}
                if secrets.get("password"):  # this row's URL predates the *** placeholder for the userinfo
                    masked = make_url(masked)._replace(password="***").render_as_string(hide_password=False) \
                        .replace("%2A%2A%2A", "***")
            secrets["query"] = {**dict(secrets.get("query") or {}), **found}  # type: ignore[arg-type]
            enc = cipher.encrypt(SECRETS_PREFIX + json.dumps(secrets, sort_keys=True))
            bind.execute(sa.text("UPDATE sql_sources SET url = :u, password_enc = :p WHERE id = :i"),
                         {"u": masked, "p": enc, "i": source_id})
        else:
            bind.execute(sa.text("UPDATE sql_sources SET url = :u, last_error = :e, last_error_at = :t WHERE id = :i"),
                         {"u": masked, "e": LOST.format(names=", ".join(f"?{k}=" for k in sorted(found)))[:500],
                          "t": datetime.now(UTC), "i": source_id})


def downgrade() -> None:
    pass  # the secrets stay encrypted (or removed): nothing to put back in clear
