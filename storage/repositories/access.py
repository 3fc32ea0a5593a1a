"""Who manages a product, the audit of changes, and the ingest tokens as rows (SPEC §8). Plain
queries; they never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import AuditEntry, IngestToken, Product, ProductManager


# ----------------------------------------------------------------------------- managers
def managers(session: Session, product_id: int) -> list[str]:
    return list(session.scalars(select(ProductManager.user_id).where(ProductManager.product_id == product_id)
                                .order_by(ProductManager.added_at, ProductManager.user_id)))


def managed_product_ids(session: Session, workspace_id: int, user_id: str) -> set[int]:
    return set(session.scalars(
        select(ProductManager.product_id).join(Product, Product.id == ProductManager.product_id)
        .where(Product.workspace_id == workspace_id, ProductManager.user_id == user_id)))


def add_manager(session: Session, product_id: int, user_id: str, added_by: str) -> bool:
    """False when the user was on the list already."""
    if session.get(ProductManager, (product_id, user_id)) is not None:
        return False
    session.add(ProductManager(product_id=product_id, user_id=user_id, added_by=added_by))
    session.flush()
    return True


def remove_manager(session: Session, product_id: int, user_id: str) -> bool:
    result = session.execute(delete(ProductManager).where(ProductManager.product_id == product_id,
                                                          ProductManager.user_id == user_id))
    return bool(getattr(result, "rowcount", 0))


# ----------------------------------------------------------------------------- audit
def record(session: Session, *, workspace_id: int, product_id: int | None, actor: str, kind: str, key: str,
           old: str | None, new: str | None, at: datetime | None = None) -> None:
    entry = AuditEntry(workspace_id=workspace_id, product_id=product_id, actor=actor[:32], kind=kind, key=key[:200],
                       old_value=old, new_value=new)
    if at is not None:
        entry.at = at
    session.add(entry)
    session.flush()


def history(session: Session, workspace_id: int, product_id: int, limit: int = 50) -> Sequence[AuditEntry]:
    """The product's changes and the workspace-wide ones, newest first."""
    return session.scalars(
        select(AuditEntry).where(AuditEntry.workspace_id == workspace_id,
                                 (AuditEntry.product_id == product_id) | AuditEntry.product_id.is_(None))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)).all()


def last_setting_changes(session: Session, product_id: int) -> dict[str, AuditEntry]:
    """The latest audit entry of each setting key of a product."""
    rows = session.scalars(select(AuditEntry).where(AuditEntry.product_id == product_id, AuditEntry.kind == "setting")
                           .order_by(AuditEntry.at, AuditEntry.id)).all()
    return {r.key: r for r in rows}


# ----------------------------------------------------------------------------- tokens
def tokens(session: Session, workspace_id: int) -> Sequence[IngestToken]:
    return session.scalars(select(IngestToken).where(IngestToken.workspace_id == workspace_id)
                           .order_by(IngestToken.created_at, IngestToken.id)).all()


def tokens_by_prefix(session: Session, workspace_id: int, prefix: str) -> Sequence[IngestToken]:
    return session.scalars(select(IngestToken).where(IngestToken.workspace_id == workspace_id,
                                                     IngestToken.prefix.startswith(prefix, autoescape=True))).all()


def live_token_by_hash(session: Session, token_hash: str) -> IngestToken | None:
    """The unrevoked ingest token with this hash, if any."""
    return session.scalar(select(IngestToken).where(IngestToken.token_hash == token_hash,
                                                    IngestToken.revoked_at.is_(None)))
