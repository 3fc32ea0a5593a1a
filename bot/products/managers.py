"""Who may change a product (SPEC §8), as plain use cases: the product's manager list, the
product a changing command is about, the refusal that says whom to ask, and the audit's
``config history``. No Slack here: whether someone is a workspace admin is looked up by
``bot.slack.admins`` and passed in (see ``bot.products.access``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.products import service as product_service
from bot.products.rules import custom_rules_line
from storage.db import Factory, unit_of_work
from storage.repositories import access as repo
from storage.repositories.products import ProductRef, bound_product, list_products, product_ref


class NotAllowed(UserError):
    """A change the invoker may not make; the message says whom to ask. Nothing was changed."""


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: str
    kind: str
    key: str
    old: str | None
    new: str | None


def target_product(factory: Factory, *, team_id: str, single_workspace: bool, channel_id: str,
                   invoked_in: str | None = None, slug: str | None = None) -> ProductRef:
    """The product a change is about: ``slug`` when named, else the one bound to ``channel_id``,
    else what the invoking channel resolves to (SPEC §6)."""
    with unit_of_work(factory) as s:
        ws = product_service.slack_workspace(s, team_id, single_workspace=single_workspace)
        if slug:
            return product_service.load_product(s, ws, slug)
        bound = bound_product(s, ws.id, channel_id)
        if bound is not None:
            return product_ref(bound, ws.team_id)
        return product_service.channel_product(s, ws, invoked_in or channel_id)


def bound_product_of(factory: Factory, *, team_id: str, channel_id: str, single_workspace: bool) -> ProductRef | None:
    """The product bound to the channel, if any (not "the workspace's only product")."""
    with unit_of_work(factory) as s:
        ws = product_service.slack_workspace(s, team_id, single_workspace=single_workspace)
        bound = bound_product(s, ws.id, channel_id)
        return product_ref(bound, ws.team_id) if bound is not None else None


def is_listed(factory: Factory, *, product_id: int, user_id: str) -> bool:
    with unit_of_work(factory) as s:
        return user_id in repo.managers(s, product_id)


def workspace_standing(factory: Factory, *, team_id: str, user_id: str,
                       single_workspace: bool) -> tuple[int, set[int]]:
    """(how many products the workspace has, the ids of those the user is listed for)."""
    with unit_of_work(factory) as s:
        ws = product_service.slack_workspace(s, team_id, single_workspace=single_workspace)
        return len(list_products(s, ws.id)), repo.managed_product_ids(s, ws.id, user_id)


def list_managers(factory: Factory, *, product_id: int) -> list[str]:
    with unit_of_work(factory) as s:
        return repo.managers(s, product_id)


def refusal(factory: Factory, *, product: ProductRef | None, what: str) -> NotAllowed:
    """"Only a manager of `acme` may …: ask @alice or a workspace admin." (nothing changed)."""
    names = list_managers(factory, product_id=product.id)[:5] if product is not None else []
    ask = " or ".join([", ".join(f"<@{u}>" for u in names), "a workspace admin"] if names else ["a workspace admin"])
    whose = f"a manager of `{product.slug}`" if product is not None else "a workspace admin or product manager"
    return NotAllowed(f":lock: Only {whose} may {what}: ask {ask}. Nothing was changed.")


def add_manager(factory: Factory, *, product: ProductRef, user_id: str, actor: str) -> bool:
    with unit_of_work(factory) as s:
        before = repo.managers(s, product.id)
        if not repo.add_manager(s, product.id, user_id, actor):
            return False
        repo.record(s, workspace_id=product.workspace_id, product_id=product.id, actor=actor, kind="manager",
                    key="managers", old=_users(before), new=_users([*before, user_id]))
        return True


def remove_manager(factory: Factory, *, product: ProductRef, user_id: str, actor: str) -> bool:
    with unit_of_work(factory) as s:
        before = repo.managers(s, product.id)
        if not repo.remove_manager(s, product.id, user_id):
            return False
        repo.record(s, workspace_id=product.workspace_id, product_id=product.id, actor=actor, kind="manager",
                    key="managers", old=_users(before), new=_users([u for u in before if u != user_id]))
        return True


def _users(ids: list[str]) -> str:
    return " ".join(ids)  # user ids; the history shows them as mentions


def history(factory: Factory, *, product: ProductRef, limit: int = 30) -> list[Change]:
    with unit_of_work(factory) as s:
        return [Change(e.at, e.actor, e.kind, e.key, e.old_value, e.new_value)
                for e in repo.history(s, product.workspace_id, product.id, limit)]


def custom_rules(factory: Factory, *, product: ProductRef) -> str | None:
    """The one "Custom rules: …" line for a product whose gate rules differ from the defaults."""
    if not product.settings.to_dict():
        return None
    with unit_of_work(factory) as s:
        return custom_rules_in(s, product)


def custom_rules_in(session: Session, product: ProductRef) -> str | None:
    if not product.settings.to_dict():
        return None
    return custom_rules_line(product.settings, setting_changes(session, product))


def setting_changes(session: Session, product: ProductRef) -> dict[str, tuple[str, datetime]]:
    """The latest change of each setting key of a product: key -> (actor, when)."""
    return {k: (e.actor, e.at) for k, e in repo.last_setting_changes(session, product.id).items()}
