"""Products as Slack sees them: the products of a channel's workspace, creating one from Slack,
binding a channel (``product use``), and showing or changing settings. No Slack imports here."""

from __future__ import annotations

from bot.domain.settings import SettingRow, describe
from bot.products import service as product_service
from bot.products.service import slack_workspace
from storage.db import Factory, unit_of_work
from storage.repositories.products import ProductRef, bind_channel, bound_product, list_products


# ----------------------------------------------------------------------------- products
def products_for_channel(factory: Factory, *, team_id: str, channel_id: str,
                         single_workspace: bool) -> list[tuple[str, str, bool]]:
    """(slug, name, bound to this channel) for the team's products."""
    with unit_of_work(factory) as s:
        ws = slack_workspace(s, team_id, single_workspace=single_workspace)
        bound = bound_product(s, ws.id, channel_id)
        return [(p.slug, p.name, bound is not None and p.id == bound.id) for p in list_products(s, ws.id)]


def create_product(factory: Factory, *, team_id: str, channel_id: str, slug: str, name: str | None,
                   single_workspace: bool, team_name: str | None = None) -> tuple[ProductRef, bool]:
    """Create a product in the team's workspace; bind this channel to it when the channel has
    no product yet (so ``/pmf-check`` here is about it). Returns (product, bound)."""
    with unit_of_work(factory) as s:
        ws = slack_workspace(s, team_id, single_workspace=single_workspace, name=team_name)
        product = product_service.new_product(s, ws, slug=slug, name=name)
        bind = bound_product(s, ws.id, channel_id) is None
        if bind:
            bind_channel(s, ws.id, channel_id, product.id)
        return product, bind


def use_product(factory: Factory, *, team_id: str, channel_id: str, slug: str, single_workspace: bool) -> ProductRef:
    with unit_of_work(factory) as s:
        ws = slack_workspace(s, team_id, single_workspace=single_workspace)
        product = product_service.load_product(s, ws, slug)
        bind_channel(s, ws.id, channel_id, product.id)
        return product


def product_settings(factory: Factory, *, team_id: str, channel_id: str,
                     single_workspace: bool) -> tuple[str, list[SettingRow]]:
    with unit_of_work(factory) as s:
        product = product_service.channel_product(s, slack_workspace(s, team_id, single_workspace=single_workspace), channel_id)
        return product.slug, describe(product.settings)


def change_setting(factory: Factory, *, team_id: str, channel_id: str, key: str, value: str,
                   single_workspace: bool) -> tuple[str, list[SettingRow]]:
    with unit_of_work(factory) as s:
        product = product_service.channel_product(s, slack_workspace(s, team_id, single_workspace=single_workspace), channel_id)
        new = product_service.update_setting(s, product, key, value)
        return product.slug, describe(new)


