"""Products as Slack sees them: the products of a channel's workspace, creating one from Slack,
binding a channel (``product use``), and showing or changing settings. No Slack imports here."""

from __future__ import annotations

from bot.domain.active_events import ActiveEventsReport
from bot.domain.settings import SettingRow, describe
from bot.errors import UserError
from bot.products import service as product_service
from bot.products.service import slack_workspace
from storage.db import Factory, unit_of_work
from storage.models import Product
from storage.repositories import access
from storage.repositories.products import ProductRef, bind_channel, bound_product, list_products, product_ref


# ----------------------------------------------------------------------------- products
def products_for_channel(factory: Factory, *, team_id: str, channel_id: str,
                         single_workspace: bool) -> list[tuple[str, str, bool]]:
    """(slug, name, bound to this channel) for the team's products."""
    with unit_of_work(factory) as s:
        ws = slack_workspace(s, team_id, single_workspace=single_workspace)
        bound = bound_product(s, ws.id, channel_id)
        return [(p.slug, p.name, bound is not None and p.id == bound.id) for p in list_products(s, ws.id)]


def create_product(factory: Factory, *, team_id: str, channel_id: str, slug: str, name: str | None,
                   single_workspace: bool, user_id: str, team_name: str | None = None) -> tuple[ProductRef, bool]:
    """Create a product in the team's workspace with its creator as first manager; bind this
    channel to it when the channel has no product yet (so ``/pmf-check`` here is about it).
    Returns (product, bound)."""
    with unit_of_work(factory) as s:
        ws = slack_workspace(s, team_id, single_workspace=single_workspace, name=team_name)
        product = product_service.new_product(s, ws, slug=slug, name=name)
        access.add_manager(s, product.id, user_id, user_id)
        access.record(s, workspace_id=ws.id, product_id=product.id, actor=user_id, kind="manager", key="managers",
                      old="", new=user_id)
        bind = bound_product(s, ws.id, channel_id) is None
        if bind:
            bind_channel(s, ws.id, channel_id, product.id)
            access.record(s, workspace_id=ws.id, product_id=product.id, actor=user_id, kind="binding",
                          key=channel_id, old=None, new=product.slug)
        return product, bind


def use_product(factory: Factory, *, team_id: str, channel_id: str, slug: str, single_workspace: bool,
                user_id: str) -> ProductRef:
    """Bind the channel to ``slug``; the change is audited on both products."""
    with unit_of_work(factory) as s:
        ws = slack_workspace(s, team_id, single_workspace=single_workspace)
        product = product_service.load_product(s, ws, slug)
        before = bound_product(s, ws.id, channel_id)
        if before is not None and before.id == product.id:
            return product
        bind_channel(s, ws.id, channel_id, product.id)
        for pid in {product.id} | ({before.id} if before is not None else set()):
            access.record(s, workspace_id=ws.id, product_id=pid, actor=user_id, kind="binding",
                          key=channel_id, old=before.slug if before is not None else None, new=product.slug)
        return product


def product_settings(factory: Factory, *, team_id: str, channel_id: str,
                     single_workspace: bool) -> tuple[str, list[SettingRow], ActiveEventsReport]:
    with unit_of_work(factory) as s:
        product = product_service.channel_product(s, slack_workspace(s, team_id, single_workspace=single_workspace), channel_id)
        return product.slug, describe(product.settings), product_service.events_summary(s, product.id, product.settings)


def change_setting(factory: Factory, *, product: ProductRef, key: str, value: str,
                   user_id: str) -> tuple[str, list[SettingRow], ActiveEventsReport]:
    """Change a setting of ``product`` (the caller checked that ``user_id`` manages it)."""
    with unit_of_work(factory) as s:
        row = s.get(Product, product.id)  # the settings as they are now, not as first read
        if row is None:
            raise UserError(f"The product `{product.slug}` no longer exists.")
        new = product_service.update_setting(s, product_ref(row, product.team_id), key, value, actor=user_id)
        return product.slug, describe(new), product_service.events_summary(s, product.id, new)


