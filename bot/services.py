"""Use cases shared by the CLI, Slack and the scheduler: open a unit of work, load through the
repositories, call the pure domain, commit. No Slack imports here.

Functions are keyword-only and take the session factory (or, for building blocks that compose
inside a caller's transaction, a session). Bad input raises ``UserError`` with a message a
person can act on.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.domain import gate, organic, retention, survey
from bot.domain.settings import ProductSettings, SettingError
from bot.domain.types import CohortTable, GateReport, RetentionSignal, Status
from bot.domain.weeks import last_complete_week
from bot.errors import NotFound, UserError
from bot.products import (  # noqa: F401  (re-exported: callers resolve products through services)
    channel_product,
    cli_product,
    cli_workspace,
    load_product,
    new_product,
    slack_workspace,
    validate_slug,
)
from storage import repositories as repo
from storage.db import unit_of_work
from storage.models import Product, Workspace
from storage.repositories import ProductRef, product_ref

Factory = sessionmaker[Session]


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


def build_cohort_table(session: Session, product: ProductRef, as_of: date,
                       sizes: dict[int, int] | None = None) -> CohortTable:
    last = last_complete_week(as_of)
    if sizes is None:
        sizes = repo.cohort_sizes(session, product.id, last)
    return retention.build_cohort_table(as_of, sizes, repo.cohort_activity(session, product.id, last))


def _retention_signal(session: Session, product: ProductRef, as_of: date,
                      previous_status: Status | None) -> tuple[RetentionSignal, CohortTable]:
    s = product.settings
    last = last_complete_week(as_of)
    sizes = repo.cohort_sizes(session, product.id, last)
    table = build_cohort_table(session, product, as_of, sizes)
    offsets = retention.tail_offsets(table, s.retention)
    patterns = repo.tail_patterns(session, product.id, last, offsets, sizes) if offsets else None
    signal = retention.plateau_test(table, patterns, s.retention, previous_status=previous_status,
                                    seed=_seed(product.id, as_of))
    return signal, table


def compute_report(session: Session, product: ProductRef, as_of: date) -> GateReport:
    """The gate report for one product as of a date: three signals, verdict, next steps.

    A retention pass must also have held at the previous week's check (``confirm_weeks``), so
    retention is computed as of a week earlier too, and that check's own verdict is passed in."""
    s = product.settings
    last = last_complete_week(as_of)
    previous: Status | None = None
    if s.retention.confirm_weeks > 1:
        previous = _retention_signal(session, product, as_of - timedelta(days=7), None)[0].unconfirmed_status
    ret, table = _retention_signal(session, product, as_of, previous)
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


