"""Ingest tokens for ``POST /api/v1/ingest`` and the Segment-compatible API (SPEC §8): created
(shown once; only the SHA-256 is stored), scoped to one product or the whole workspace, listed by
prefix, creator and last use, revoked; looked up by their hash. Every creation and revocation is
audited. No Slack imports here."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot.errors import NotFound, UserError
from bot.products.service import cli_product, cli_workspace, slack_workspace
from storage.db import Factory, unit_of_work
from storage.models import IngestToken
from storage.repositories import access
from storage.repositories.products import ProductRef, product_slugs
from storage.writer import single_writer

TOKEN_PREFIX = "pmfgate_"
CLI_ACTOR = "cli"
MIN_REVOKE_PREFIX = 10  # "pmfgate_" + at least two characters of the random part
# "Last used" is kept to the minute: recording every request would make each one a write.
LAST_USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    prefix: str
    scope: str  # "product acme" | "workspace"
    product_id: int | None
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _add(session: Session, *, workspace_id: int, product_id: int | None, scope: str, actor: str) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(IngestToken(workspace_id=workspace_id, product_id=product_id, token_hash=_token_hash(token),
                            prefix=token[:16], created_by=actor))
    access.record(session, workspace_id=workspace_id, product_id=product_id, actor=actor, kind="token",
                  key=token[:16], old=None, new=f"created ({scope})")
    return token


def create_ingest_token(factory: Factory, *, team_id: str, user_id: str, single_workspace: bool,
                        product: ProductRef | None = None) -> str:
    """A new bearer token, scoped to ``product`` or (None) the whole workspace; only its SHA-256
    is stored, so this is the one time it can be shown."""
    with unit_of_work(factory) as s:
        if product is not None:
            return _add(s, workspace_id=product.workspace_id, product_id=product.id, scope=f"product {product.slug}",
                        actor=user_id)
        ws = slack_workspace(s, team_id, single_workspace=single_workspace)
        return _add(s, workspace_id=ws.id, product_id=None, scope="workspace", actor=user_id)


def create_cli_token(factory: Factory, *, team_id: str | None, product_slug: str | None) -> tuple[str, str]:
    """``pmfbot token create [--product SLUG] [--workspace TEAM]``: a new token for the CLI's
    workspace, scoped to one product when a slug is given (the Segment-compatible API's write
    key). Returns (token, what it is scoped to); only its SHA-256 is stored."""
    with unit_of_work(factory) as s:
        if product_slug:
            product = cli_product(s, product_slug, team_id)
            scope = f"product {product.slug}"
            return _add(s, workspace_id=product.workspace_id, product_id=product.id, scope=scope,
                        actor=CLI_ACTOR), scope
        ws = cli_workspace(s, team_id)
        scope = f"workspace {ws.team_id}"
        return _add(s, workspace_id=ws.id, product_id=None, scope=scope, actor=CLI_ACTOR), scope


def _infos(session: Session, workspace_id: int) -> list[TokenInfo]:
    slugs = product_slugs(session, workspace_id)
    return [TokenInfo(t.prefix, f"product {slugs.get(t.product_id, '?')}" if t.product_id else "workspace",
                      t.product_id, t.created_by, t.created_at, t.last_used_at, t.revoked_at)
            for t in access.tokens(session, workspace_id)]


def list_tokens(factory: Factory, *, team_id: str, single_workspace: bool) -> list[TokenInfo]:
    with unit_of_work(factory) as s:
        return _infos(s, slack_workspace(s, team_id, single_workspace=single_workspace).id)


def list_cli_tokens(factory: Factory, *, team_id: str | None) -> list[TokenInfo]:
    with unit_of_work(factory) as s:
        try:
            ws = cli_workspace(s, team_id)
        except NotFound:
            return []
        return _infos(s, ws.id)


def find_for_revoke(factory: Factory, *, team_id: str | None, prefix: str, single_workspace: bool,
                    cli: bool = False) -> TokenInfo:
    """The one live token of the workspace whose prefix starts with ``prefix``."""
    prefix = prefix.strip()
    if len(prefix) < MIN_REVOKE_PREFIX or not prefix.startswith(TOKEN_PREFIX):
        raise UserError(f"Give the token's prefix as `token list` shows it, e.g. `{TOKEN_PREFIX}AbCdEfGh`.",
                        usage="/pmf-check token revoke PREFIX")
    with unit_of_work(factory) as s:
        ws = cli_workspace(s, team_id) if cli else slack_workspace(s, team_id or "", single_workspace=single_workspace)
        rows = [t for t in _infos(s, ws.id) if t.prefix.startswith(prefix[:16]) and t.revoked_at is None]
    if not rows:
        raise NotFound(f"No live token starts with `{prefix}` in this workspace (see `token list`).")
    if len(rows) > 1:
        raise UserError(f"Several tokens start with `{prefix}`: give more of the prefix.")
    return rows[0]


def revoke_token(factory: Factory, *, team_id: str | None, prefix: str, actor: str, single_workspace: bool,
                 cli: bool = False) -> TokenInfo:
    """Revoke the token ``find_for_revoke`` names; from now on it answers 401."""
    info = find_for_revoke(factory, team_id=team_id, prefix=prefix, single_workspace=single_workspace, cli=cli)
    with unit_of_work(factory) as s:
        ws = cli_workspace(s, team_id) if cli else slack_workspace(s, team_id or "", single_workspace=single_workspace)
        (row,) = [t for t in access.tokens_by_prefix(s, ws.id, info.prefix) if t.revoked_at is None]
        row.revoked_at = datetime.now(UTC)
        access.record(s, workspace_id=ws.id, product_id=row.product_id, actor=actor, kind="token", key=row.prefix,
                      old=f"live ({info.scope})", new="revoked")
    return info


def workspace_for_token(factory: Factory, token: str) -> int | None:
    """The workspace an ingest token belongs to, or None for an unknown or revoked token."""
    scope = token_scope(factory, token)
    return None if scope is None else scope[0]


def token_scope(factory: Factory, token: str) -> tuple[int, int | None] | None:
    """(workspace id, product id or None for a workspace-wide token) of a live ingest token, or
    None for an unknown or revoked one; records its use."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with factory() as s:
        row = access.live_token_by_hash(s, _token_hash(token))
        if row is None:
            return None
        scope = row.workspace_id, row.product_id
        now = datetime.now(UTC)
        if row.last_used_at is None or now - _aware(row.last_used_at) >= LAST_USE_RESOLUTION:
            # A write per API request would queue every request behind SQLite's one writer.
            with single_writer(s):
                row.last_used_at = now
                s.commit()
        return scope


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
