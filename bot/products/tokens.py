"""Ingest tokens for ``POST /api/v1/ingest``: created (shown once; only the SHA-256 is stored) and
looked up by their hash. No Slack imports here."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select

from bot.products.service import cli_product, cli_workspace, slack_workspace
from storage.db import Factory, unit_of_work
from storage.models import (
    IngestToken,
)

TOKEN_PREFIX = "pmfgate_"
# ----------------------------------------------------------------------------- ingest tokens
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_ingest_token(factory: Factory, *, team_id: str, user_id: str, single_workspace: bool) -> str:
    """A new bearer token for ``POST /api/v1/ingest``; only its SHA-256 is stored, so this is
    the one time it can be shown."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(factory) as s:
        ws = slack_workspace(s, team_id, single_workspace=single_workspace)
        s.add(IngestToken(workspace_id=ws.id, token_hash=_token_hash(token), prefix=token[:16], created_by=user_id))
    return token


def workspace_for_token(factory: Factory, token: str) -> int | None:
    """The workspace an ingest token belongs to, or None for an unknown or revoked token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with unit_of_work(factory) as s:
        row = s.scalar(select(IngestToken).where(IngestToken.token_hash == _token_hash(token),
                                                 IngestToken.revoked_at.is_(None)))
        if row is None:
            return None
        row.last_used_at = datetime.now(UTC)
        return row.workspace_id


def create_cli_token(factory: Factory, *, team_id: str | None, product_slug: str | None) -> tuple[str, str]:
    """``pmfbot token create [--product SLUG] [--workspace TEAM]``: a new token for the CLI's
    workspace, scoped to one product when a slug is given (the Segment-compatible API's write
    key). Returns (token, what it is scoped to); only its SHA-256 is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(factory) as s:
        if product_slug:
            product = cli_product(s, product_slug, team_id)
            workspace_id, product_id, scope = product.workspace_id, product.id, f"product {product.slug}"
        else:
            ws = cli_workspace(s, team_id)
            workspace_id, product_id, scope = ws.id, None, f"workspace {ws.team_id}"
        s.add(IngestToken(workspace_id=workspace_id, product_id=product_id, token_hash=_token_hash(token),
                          prefix=token[:16], created_by="cli"))
    return token, scope


def token_scope(factory: Factory, token: str) -> tuple[int, int | None] | None:
    """(workspace id, product id or None for a workspace-wide token) of a live ingest token, or
    None for an unknown or revoked one; records its use."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with unit_of_work(factory) as s:
        row = s.scalar(select(IngestToken).where(IngestToken.token_hash == _token_hash(token),
                                                 IngestToken.revoked_at.is_(None)))
        if row is None:
            return None
        row.last_used_at = datetime.now(UTC)
        return row.workspace_id, row.product_id
