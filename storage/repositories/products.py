"""Query methods returning plain values or domain types; they never commit.

The heavy lifting is pushed into SQL: the cohort table is one GROUP BY over the compacted
``activity_weeks``, which carry their user's cohort week, so it needs no join; the tail activity
patterns for the bootstrap are one more GROUP BY (a bit mask per user). Both return a few
thousand rows whatever the number of users, so the statistics never hold a row per user in
Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.settings import ProductSettings
from storage.models import (
    ChannelBinding,
    Product,
    Workspace,
)

LOCAL_TEAM = "local"


@dataclass(frozen=True)
class ProductRef:
    id: int
    slug: str
    name: str
    workspace_id: int
    team_id: str
    settings: ProductSettings


def product_ref(p: Product, team_id: str) -> ProductRef:
    return ProductRef(id=p.id, slug=p.slug, name=p.name, workspace_id=p.workspace_id, team_id=team_id,
                      settings=ProductSettings.from_dict(p.settings))


# ----------------------------------------------------------------------------- workspaces
def find_workspace(session: Session, team_id: str) -> Workspace | None:
    return session.scalar(select(Workspace).where(Workspace.team_id == team_id))


def get_or_create_workspace(session: Session, team_id: str, name: str | None = None) -> Workspace:
    """The team's workspace, created if new. Two first requests from a team may race: the
    loser's insert hits the unique team id, and it takes the winner's row instead of failing."""
    ws = find_workspace(session, team_id)
    if ws is not None:
        return ws
    try:
        with session.begin_nested():
            ws = Workspace(team_id=team_id, name=name)
            session.add(ws)
    except IntegrityError:
        ws = find_workspace(session, team_id)
        if ws is None:
            raise
    return ws


def all_workspaces(session: Session) -> Sequence[Workspace]:
    return session.scalars(select(Workspace).order_by(Workspace.id)).all()


# ----------------------------------------------------------------------------- products
def find_product(session: Session, workspace_id: int, slug: str) -> Product | None:
    return session.scalar(select(Product).where(Product.workspace_id == workspace_id, Product.slug == slug))


def list_products(session: Session, workspace_id: int) -> Sequence[Product]:
    return session.scalars(select(Product).where(Product.workspace_id == workspace_id).order_by(Product.slug)).all()


def bound_product(session: Session, workspace_id: int, channel_id: str) -> Product | None:
    return session.scalar(
        select(Product).join(ChannelBinding, ChannelBinding.product_id == Product.id)
        .where(ChannelBinding.workspace_id == workspace_id, ChannelBinding.channel_id == channel_id)
    )


def bind_channel(session: Session, workspace_id: int, channel_id: str, product_id: int) -> None:
    row = session.scalar(select(ChannelBinding).where(ChannelBinding.workspace_id == workspace_id,
                                                      ChannelBinding.channel_id == channel_id))
    if row is None:
        session.add(ChannelBinding(workspace_id=workspace_id, channel_id=channel_id, product_id=product_id))
    else:
        row.product_id = product_id
    session.flush()




def product_slugs(session: Session, workspace_id: int) -> dict[int, str]:
    """The workspace's product slugs by product id."""
    return {pid: slug for pid, slug in session.execute(select(Product.id, Product.slug)
                                                       .where(Product.workspace_id == workspace_id)).all()}
