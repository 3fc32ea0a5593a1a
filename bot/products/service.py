"""Which workspace and which product a request is about: the rules of SPEC §4 (the CLI) and
§6 (Slack channels), and creating products.

Kept apart from ``bot.reports.service`` because it needs no statistics: the import path resolves its
product here without loading numpy/scipy, a large share of an import's memory budget.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from bot.domain.active_events import ActiveEventsReport, active_events_report, parse_active_events
from bot.domain.settings import ProductSettings, SettingError
from bot.domain.suggest import did_you_mean
from bot.errors import NotFound, UserError
from storage.db import Factory, unit_of_work
from storage.models import Product, Workspace
from storage.repositories import access as audit
from storage.repositories import activity_events
from storage.repositories import products as repo
from storage.repositories.products import (
    LOCAL_TEAM,
    ProductRef,
    all_workspaces,
    bound_product,
    find_product,
    find_workspace,
    get_or_create_workspace,
    product_ref,
)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def cli_workspace(session: Session, team_id: str | None, *, create: bool = False) -> Workspace:
    """The CLI's rule (SPEC §4): the named team; else the only workspace; else ``local``."""
    if team_id:
        ws = find_workspace(session, team_id)
        if ws is None:
            if not create:
                raise NotFound(f"No workspace {team_id!r} in this database.")
            ws = get_or_create_workspace(session, team_id)
        return ws
    spaces = all_workspaces(session)
    if len(spaces) == 1:
        return spaces[0]
    if not spaces:
        if not create:
            raise NotFound("This database has no products yet: create one with `pmfbot product create SLUG`.")
        return get_or_create_workspace(session, LOCAL_TEAM)
    names = ", ".join(w.team_id for w in spaces)
    raise UserError(f"Several workspaces in this database ({names}): pass --workspace TEAM.")


def slack_workspace(session: Session, team_id: str, *, single_workspace: bool, name: str | None = None) -> Workspace:
    """The workspace of a Slack request. In single-workspace mode an unknown team adopts the
    ``local`` workspace, so data imported before Slack was connected is found (SPEC §4)."""
    ws = find_workspace(session, team_id)
    if ws is not None:
        return ws
    if single_workspace:
        local = find_workspace(session, LOCAL_TEAM)
        if local is not None:
            local.team_id = team_id
            local.name = name or local.name
            session.flush()
            return local
    return get_or_create_workspace(session, team_id, name)


def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise UserError(f"{slug!r} is not a valid product slug: use 1-64 lower-case letters, digits and dashes, "
                        "starting with a letter or digit (e.g. `acme` or `acme-app`).")
    return slug


def new_product(session: Session, ws: Workspace, *, slug: str, name: str | None = None) -> ProductRef:
    slug = validate_slug(slug)
    if find_product(session, ws.id, slug) is not None:
        raise UserError(f"A product {slug!r} already exists in this workspace.")
    p = Product(workspace_id=ws.id, slug=slug, name=(name or slug).strip()[:200] or slug, settings={})
    session.add(p)
    session.flush()
    return product_ref(p, ws.team_id)


def load_product(session: Session, ws: Workspace, slug: str, *, cli: bool = False) -> ProductRef:
    """The product ``slug`` of ``ws``; else a NotFound naming the closest slug and how to create
    it (with ``/pmf-check`` from Slack, with ``pmfbot`` from the command line)."""
    p = find_product(session, ws.id, slug.strip().lower())
    if p is None:
        slugs = [x.slug for x in repo.list_products(session, ws.id)]
        known = ", ".join(f"`{x}`" for x in slugs) or "none yet"
        # Slack shows this as mrkdwn: the typed slug must not become a mention or break the code span.
        shown = slug.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
        named = repr(slug) if cli else f"`{shown}`"
        create = f"pmfbot product create {slug}" if cli else f"/pmf-check product create {shown}"
        raise NotFound(f"No product {named} in this workspace.{did_you_mean(slug, slugs)} Known: {known}. "
                       f"Create it with `{create}`.")
    return product_ref(p, ws.team_id)


def cli_product(session: Session, slug: str, team_id: str | None) -> ProductRef:
    if not team_id and not all_workspaces(session):
        raise NotFound(f"No product {slug!r} in this database yet. Create it with `pmfbot product create {slug}`.")
    return load_product(session, cli_workspace(session, team_id), slug, cli=True)


def channel_product(session: Session, ws: Workspace, channel_id: str) -> ProductRef:
    """Which product a Slack command in ``channel_id`` is about (SPEC §6): the channel's bound
    product; else the workspace's only product; else a UserError that says what to do."""
    bound = bound_product(session, ws.id, channel_id)
    if bound is not None:
        return product_ref(bound, ws.team_id)
    products = repo.list_products(session, ws.id)
    if len(products) == 1:
        return product_ref(products[0], ws.team_id)
    if not products:
        raise UserError(
            "No product is tracked in this workspace yet. Create one with `/pmf-check product create SLUG [NAME]`, "
            "then import data with `pmfbot import events FILE --product SLUG` or the ingest API (`/pmf-check token`).",
            usage="/pmf-check product create SLUG [NAME]",
        )
    names = ", ".join(f"`{p.slug}`" for p in products)
    if channel_id.startswith("D"):  # a direct message: no channel says which product
        raise UserError(f"This workspace tracks several products ({names}); in a direct message, name one: "
                        f"`/pmf-check status {products[0].slug}` or `/pmf-check lessons {products[0].slug}`, or run "
                        "`/pmf-check` in the product's channel.", usage="/pmf-check status PRODUCT")
    raise UserError(f"This workspace tracks several products ({names}) and this channel is bound to none. "
                    "Choose one with `/pmf-check product use SLUG`.", usage="/pmf-check product use SLUG")


# ----------------------------------------------------------------------------- products
def create_product(factory: Factory, *, slug: str, name: str | None = None, team_id: str | None = None) -> ProductRef:
    with unit_of_work(factory) as s:
        return new_product(s, cli_workspace(s, team_id, create=True), slug=slug, name=name)


def list_products(factory: Factory, *, team_id: str | None = None) -> list[ProductRef]:
    with unit_of_work(factory) as s:
        try:
            ws = cli_workspace(s, team_id)
        except NotFound:
            return []
        return [product_ref(p, ws.team_id) for p in repo.list_products(s, ws.id)]


def cli_change_setting(factory: Factory, *, product_slug: str, team_id: str | None, key: str, value: str,
                       actor: str = "cli") -> ProductSettings:
    """``pmfbot config KEY VALUE``: the same change and audit as ``/pmf-check config``."""
    with unit_of_work(factory) as s:
        return update_setting(s, cli_product(s, product_slug, team_id), key, value, actor=actor)


def cli_settings(factory: Factory, *, product_slug: str, team_id: str | None) -> ProductSettings:
    with unit_of_work(factory) as s:
        return cli_product(s, product_slug, team_id).settings


def events_summary(session: Session, product_id: int, settings: ProductSettings) -> ActiveEventsReport:
    """The event names the product's imports carried, counted or not under its
    ``retention.active_events`` (SPEC §5 "Activity"), for ``config``."""
    rule = parse_active_events(settings.retention.active_events)
    return active_events_report(rule, activity_events.event_counts(session, product_id))


def cli_events(factory: Factory, *, product_slug: str, team_id: str | None) -> ActiveEventsReport:
    with unit_of_work(factory) as s:
        p = cli_product(s, product_slug, team_id)
        return events_summary(s, p.id, p.settings)


def update_setting(session: Session, product: ProductRef, key: str, value: str, *, actor: str) -> ProductSettings:
    """Change one setting and record each key it changed in the audit (old → new)."""
    try:
        new = product.settings.with_value(key, value)
    except SettingError as err:
        raise UserError(str(err)) from None
    p = session.get(Product, product.id)
    assert p is not None
    before, after = product.settings.to_dict(), new.to_dict()
    old_all, new_all = product.settings.to_dict_all(), new.to_dict_all()
    for k in sorted(set(before) | set(after)):
        old_v, new_v = before.get(k, old_all.get(k)), after.get(k, new_all.get(k))
        if old_v != new_v:
            audit.record(session, workspace_id=product.workspace_id, product_id=product.id, actor=actor,
                         kind="setting", key=k, old=None if old_v is None else str(old_v),
                         new=None if new_v is None else str(new_v))
    p.settings = after
    session.flush()
    return new
