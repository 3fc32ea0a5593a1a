"""The permission check of every change (SPEC §8), run in the work after the ack: a user on the
product's manager list may; otherwise a workspace admin or owner may (``bot.slack.admins``,
cached on the AppContext, so ``users.info`` is asked at most once per user every few minutes);
anyone else gets ``NotAllowed`` naming whom to ask, before anything changed."""

from __future__ import annotations

from typing import Any

from bot.context import AppContext
from bot.products import managers
from bot.slack.admins import is_workspace_admin
from storage.repositories.products import ProductRef


def is_admin(ctx: AppContext, client: Any, *, team_id: str, user_id: str) -> bool:
    return is_workspace_admin(ctx.admins, client, team_id, user_id)


def require_manager(ctx: AppContext, client: Any, *, team_id: str, user_id: str, product: ProductRef,
                    what: str) -> None:
    """Raise ``NotAllowed`` unless ``user_id`` manages ``product``."""
    if managers.is_listed(ctx.factory, product_id=product.id, user_id=user_id):
        return
    if is_admin(ctx, client, team_id=team_id, user_id=user_id):
        return
    raise managers.refusal(ctx.factory, product=product, what=what)


def require_all_products(ctx: AppContext, client: Any, *, team_id: str, user_id: str, what: str) -> None:
    """For workspace-wide changes (a workspace token): a workspace admin, or someone who manages
    every product of the workspace."""
    count, mine = managers.workspace_standing(ctx.factory, team_id=team_id, user_id=user_id,
                                              single_workspace=ctx.single_workspace)
    if count and len(mine) == count:
        return
    if is_admin(ctx, client, team_id=team_id, user_id=user_id):
        return
    raise managers.refusal(ctx.factory, product=None, what=what)


def may_create_product(ctx: AppContext, client: Any, *, team_id: str, user_id: str) -> None:
    """``product create`` is open while the workspace has no product; afterwards a workspace
    admin or a manager of any product may."""
    count, mine = managers.workspace_standing(ctx.factory, team_id=team_id, user_id=user_id,
                                              single_workspace=ctx.single_workspace)
    if count == 0 or mine or is_admin(ctx, client, team_id=team_id, user_id=user_id):
        return
    raise managers.refusal(ctx.factory, product=None, what="create another product")


def managed(ctx: AppContext, client: Any, *, team_id: str, user_id: str) -> tuple[bool, set[int]]:
    """(is a workspace admin, ids of the products the user is listed for) — for token list/revoke."""
    _, mine = managers.workspace_standing(ctx.factory, team_id=team_id, user_id=user_id,
                                          single_workspace=ctx.single_workspace)
    return is_admin(ctx, client, team_id=team_id, user_id=user_id), mine
