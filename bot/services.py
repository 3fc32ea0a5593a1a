"""Use cases shared by the CLI, Slack and the scheduler: open a unit of work, load through the
repositories, call the pure domain, commit. No Slack imports here.

Functions are keyword-only and take the session factory (or, for building blocks that compose
inside a caller's transaction, a session). Bad input raises ``UserError`` with a message a
person can act on.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.domain import gate, organic, retention, survey
from bot.domain.settings import ProductSettings, SettingError
from bot.domain.types import CohortTable, GateReport
from bot.domain.weeks import last_complete_week
from bot.errors import NotFound, UserError
from storage import repositories as repo
from storage.db import unit_of_work
from storage.models import Product, Workspace
from storage.repositories import LOCAL_TEAM, ProductRef, product_ref

Factory = sessionmaker[Session]
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


# ----------------------------------------------------------------------------- workspaces
def cli_workspace(session: Session, team_id: str | None, *, create: bool = False) -> Workspace:
    """The CLI's rule (SPEC §4): the named team; else the only workspace; else ``local``."""
    if team_id:
        ws = repo.find_workspace(session, team_id)
        if ws is None:
            if not create:
                raise NotFound(f"No workspace {team_id!r} in this database.")
            ws = repo.get_or_create_workspace(session, team_id)
        return ws
    spaces = repo.all_workspaces(session)
    if len(spaces) == 1:
        return spaces[0]
    if not spaces:
        if not create:
            raise NotFound("This database has no products yet: create one with `pmfbot product create SLUG`.")
        return repo.get_or_create_workspace(session, LOCAL_TEAM)
    names = ", ".join(w.team_id for w in spaces)
    raise UserError(f"Several workspaces in this database ({names}): pass --workspace TEAM.")


def slack_workspace(session: Session, team_id: str, *, single_workspace: bool, name: str | None = None) -> Workspace:
    """The workspace of a Slack request. In single-workspace mode an unknown team adopts the
    ``local`` workspace, so data imported before Slack was connected is found (SPEC §4)."""
    ws = repo.find_workspace(session, team_id)
    if ws is not None:
        return ws
    if single_workspace:
        local = repo.find_workspace(session, LOCAL_TEAM)
        if local is not None:
            local.team_id = team_id
            local.name = name or local.name
            session.flush()
            return local
    return repo.get_or_create_workspace(session, team_id, name)


# ----------------------------------------------------------------------------- products
def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise UserError(f"{slug!r} is not a valid product slug: use 1-64 lower-case letters, digits and dashes, "
                        "starting with a letter or digit (e.g. `acme` or `acme-app`).")
    return slug


def new_product(session: Session, ws: Workspace, *, slug: str, name: str | None = None) -> ProductRef:
    slug = validate_slug(slug)
    if repo.find_product(session, ws.id, slug) is not None:
        raise UserError(f"A product {slug!r} already exists in this workspace.")
    p = Product(workspace_id=ws.id, slug=slug, name=(name or slug).strip()[:200] or slug, settings={})
    session.add(p)
    session.flush()
    return product_ref(p, ws.team_id)


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


def load_product(session: Session, ws: Workspace, slug: str) -> ProductRef:
    p = repo.find_product(session, ws.id, slug.strip().lower())
    if p is None:
        known = ", ".join(x.slug for x in repo.list_products(session, ws.id)) or "none yet"
        raise NotFound(f"No product {slug!r} in this workspace (known: {known}). "
                       f"Create it with `pmfbot product create {slug}`.")
    return product_ref(p, ws.team_id)


def cli_product(session: Session, slug: str, team_id: str | None) -> ProductRef:
    return load_product(session, cli_workspace(session, team_id), slug)


def update_setting(session: Session, product: ProductRef, key: str, value: str) -> ProductSettings:
    try:
        new = product.settings.with_value(key, value)
    except SettingError as err:
        raise UserError(str(err)) from None
    p = session.get(Product, product.id)
    assert p is not None
    p.settings = new.to_dict()
    session.flush()
    return new


# ----------------------------------------------------------------------------- reports
def today_in(tz: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(tz)).date()


def _seed(product_id: int, as_of: date) -> int:
    # A stable seed: the same data and date always give the same bootstrap interval.
    return zlib.crc32(f"{product_id}:{as_of.isoformat()}".encode())


def build_cohort_table(session: Session, product: ProductRef, as_of: date) -> CohortTable:
    last = last_complete_week(as_of)
    return retention.build_cohort_table(as_of, repo.cohort_sizes(session, product.id, last),
                                        repo.cohort_activity(session, product.id, last))


def compute_report(session: Session, product: ProductRef, as_of: date) -> GateReport:
    """The gate report for one product as of a date: three signals, verdict, next steps."""
    s = product.settings
    last = last_complete_week(as_of)
    table = build_cohort_table(session, product, as_of)
    offsets = retention.tail_offsets(table, s.retention)
    patterns = repo.tail_patterns(session, product.id, last, offsets) if offsets else None
    ret = retention.plateau_test(table, patterns, s.retention, seed=_seed(product.id, as_of))
    org = organic.organic_signal(repo.weekly_channels(session, product.id, last), as_of, s.organic)
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    since = end - timedelta(days=s.survey.window_days + 2)  # the domain applies the exact window
    sur = survey.survey_signal(repo.survey_responses(session, product.id, since=since, until=end), as_of, s.survey)
    return gate.evaluate(product=product.slug, product_name=product.name, as_of=as_of, retention=ret,
                         organic=org, survey=sur, settings=s, cohort_table=table)


def gate_report(factory: Factory, *, product_slug: str, team_id: str | None = None,
                as_of: date | None = None) -> GateReport:
    with unit_of_work(factory) as s:
        product = cli_product(s, product_slug, team_id)
        return compute_report(s, product, as_of or today_in(product.settings.timezone))


def cohort_table(factory: Factory, *, product_slug: str, team_id: str | None = None,
                 as_of: date | None = None) -> tuple[CohortTable, str, str]:
    with unit_of_work(factory) as s:
        product = cli_product(s, product_slug, team_id)
        tz = product.settings.timezone
        return build_cohort_table(s, product, as_of or today_in(tz)), product.slug, tz


def product_refs(session: Session, ws: Workspace) -> Sequence[ProductRef]:
    return [product_ref(p, ws.team_id) for p in repo.list_products(session, ws.id)]


def channel_product(session: Session, ws: Workspace, channel_id: str) -> ProductRef:
    """Which product a Slack command in ``channel_id`` is about (SPEC §6): the channel's bound
    product; else the workspace's only product; else a UserError that says what to do."""
    bound = repo.bound_product(session, ws.id, channel_id)
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
    raise UserError(f"This workspace tracks several products ({names}) and this channel is bound to none. "
                    "Choose one with `/pmf-check product use SLUG`.", usage="/pmf-check product use SLUG")
