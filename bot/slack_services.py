"""Use cases behind the Slack surfaces (``/pmf-check``, App Home, lifecycle events, the ingest
API): each opens its own unit of work, scopes every lookup to the requesting team's workspace,
and returns plain values for the listeners to render. No Slack imports here.

Reports are cached per process: the key is the product, the day, its settings and a
fingerprint of its data (row counts and high-water marks), so twenty people running
``/pmf-check`` at once compute it — and draw its chart — once (single flight), with at most
``MAX_PARALLEL_REPORTS`` computations running per process so the CPU-bound statistics and
matplotlib never starve the threads that ack Slack. The fingerprint itself (a few aggregate
queries) is reused for ``FINGERPRINT_TTL`` seconds, so a burst of commands costs one set of
queries; new data shows in a report at most that many seconds after its import committed.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot import services
from bot.domain.types import GateReport
from bot.installations import slack_bots, slack_installations
from bot.render import charts
from storage import repositories as repo
from storage.db import unit_of_work
from storage.models import (
    ActivityWeek,
    DigestSubscription,
    IngestToken,
    ProductUser,
    Survey,
    SurveyResponse,
    Workspace,
)
from storage.receipts import claim_event as _claim_event
from storage.repositories import ProductRef

Factory = sessionmaker[Session]
MAX_PARALLEL_REPORTS = 2
CACHE_ENTRIES = 128
HOME_MAX_PRODUCTS = 20
FINGERPRINT_TTL = 3.0
TOKEN_PREFIX = "pmfgate_"
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


# ----------------------------------------------------------------------------- report cache
@dataclass
class _Entry:
    report: GateReport
    chart: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class ReportCache:
    """A small LRU of computed reports (and their charts) with single flight per key."""

    def __init__(self, size: int = CACHE_ENTRIES, parallel: int = MAX_PARALLEL_REPORTS) -> None:
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self._size = size
        self._cpu = threading.BoundedSemaphore(parallel)

    def _get(self, key: Hashable) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def entry(self, key: Hashable, compute: Callable[[], GateReport]) -> _Entry:
        entry = self._get(key)
        if entry is not None:
            return entry
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            entry = self._get(key)
            if entry is None:
                with self._cpu:
                    entry = _Entry(compute())
                with self._lock:
                    self._entries[key] = entry
                    while len(self._entries) > self._size:
                        self._entries.popitem(last=False)
                    self._key_locks.pop(key, None)
        return entry

    def chart(self, entry: _Entry) -> bytes:
        with entry.lock:
            if entry.chart is None:
                report = entry.report
                assert report.cohort_table is not None
                with self._cpu:
                    entry.chart = charts.retention_chart(report.cohort_table, report.retention,
                                                         product_name=report.product_name)
            return entry.chart

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        _fingerprints.clear()


REPORTS = ReportCache()


@dataclass(frozen=True)
class ReportBundle:
    product: ProductRef
    report: GateReport
    chart: bytes | None  # the retention chart PNG, when asked for

    @property
    def chart_filename(self) -> str:
        return f"pmf-gate-{self.product.slug}-{self.report.as_of.isoformat()}.png"

    @property
    def chart_title(self) -> str:
        return f"{self.product.name} · weekly retention · {self.report.as_of.isoformat()}"


_fingerprints: dict[int, tuple[float, tuple[object, ...]]] = {}


def _fingerprint(session: Session, product_id: int) -> tuple[object, ...]:
    """Changes whenever an import or a survey adds or changes what the report is computed from
    (memoised for ``FINGERPRINT_TTL`` seconds)."""
    now = time.monotonic()
    memo = _fingerprints.get(product_id)
    if memo is not None and now - memo[0] < FINGERPRINT_TTL:
        return memo[1]
    value = _read_fingerprint(session, product_id)
    _fingerprints[product_id] = (now, value)
    return value


def _read_fingerprint(session: Session, product_id: int) -> tuple[object, ...]:
    users = session.execute(
        select(func.count(), func.max(ProductUser.id), func.count(ProductUser.signup_week),
               func.min(ProductUser.first_week), func.max(ProductUser.first_week),
               func.count(ProductUser.channel_class))
        .where(ProductUser.product_id == product_id)).one()
    activity = session.execute(
        select(func.count(), func.max(ActivityWeek.week)).select_from(ActivityWeek)
        .join(ProductUser, ProductUser.id == ActivityWeek.user_id).where(ProductUser.product_id == product_id)).one()
    answers = session.execute(
        select(func.count(), func.max(SurveyResponse.id), func.max(SurveyResponse.updated_at))
        .where(SurveyResponse.product_id == product_id)).one()
    return tuple(users) + tuple(activity) + tuple(answers)


@dataclass(frozen=True)
class _Pending:
    """A report to fetch from the cache or compute: looked up inside a short transaction,
    computed after it has ended — a thread never holds a connection while it waits for another
    thread's computation (which needs a connection of its own: the pool would run dry)."""

    product: ProductRef
    as_of: date
    fingerprint: tuple[object, ...]


def _pending(session: Session, product: ProductRef, now: datetime) -> _Pending:
    return _Pending(product, services.today_in(product.settings.timezone, now), _fingerprint(session, product.id))


def _bundle(factory: Factory, p: _Pending, *, with_chart: bool) -> ReportBundle:
    def compute() -> GateReport:
        with unit_of_work(factory) as s:
            return services.compute_report(s, p.product, p.as_of)

    entry = REPORTS.entry((p.product.id, p.as_of, p.product.settings, p.fingerprint), compute)
    return ReportBundle(p.product, entry.report, REPORTS.chart(entry) if with_chart else None)


def _workspace(session: Session, team_id: str, single_workspace: bool, name: str | None = None) -> Workspace:
    return services.slack_workspace(session, team_id, single_workspace=single_workspace, name=name)


def channel_report(factory: Factory, *, team_id: str, channel_id: str, single_workspace: bool, now: datetime,
                   with_chart: bool = True, team_name: str | None = None) -> ReportBundle:
    """The report of the channel's product (SPEC §6 "which product"), with its chart."""
    with unit_of_work(factory) as s:
        product = services.channel_product(s, _workspace(s, team_id, single_workspace, team_name), channel_id)
        pending = _pending(s, product, now)
    return _bundle(factory, pending, with_chart=with_chart)


def product_report(factory: Factory, *, team_id: str, slug: str, single_workspace: bool, now: datetime,
                   with_chart: bool = True) -> ReportBundle:
    """The report of the team's product ``slug`` (App Home buttons); NotFound in other teams."""
    with unit_of_work(factory) as s:
        pending = _pending(s, services.load_product(s, _workspace(s, team_id, single_workspace), slug), now)
    return _bundle(factory, pending, with_chart=with_chart)


# ----------------------------------------------------------------------------- products
def products_for_channel(factory: Factory, *, team_id: str, channel_id: str,
                         single_workspace: bool) -> list[tuple[str, str, bool]]:
    """(slug, name, bound to this channel) for the team's products."""
    with unit_of_work(factory) as s:
        ws = _workspace(s, team_id, single_workspace)
        bound = repo.bound_product(s, ws.id, channel_id)
        return [(p.slug, p.name, bound is not None and p.id == bound.id) for p in repo.list_products(s, ws.id)]


def create_product(factory: Factory, *, team_id: str, channel_id: str, slug: str, name: str | None,
                   single_workspace: bool, team_name: str | None = None) -> tuple[ProductRef, bool]:
    """Create a product in the team's workspace; bind this channel to it when the channel has
    no product yet (so ``/pmf-check`` here is about it). Returns (product, bound)."""
    with unit_of_work(factory) as s:
        ws = _workspace(s, team_id, single_workspace, team_name)
        product = services.new_product(s, ws, slug=slug, name=name)
        bind = repo.bound_product(s, ws.id, channel_id) is None
        if bind:
            repo.bind_channel(s, ws.id, channel_id, product.id)
        return product, bind


def use_product(factory: Factory, *, team_id: str, channel_id: str, slug: str, single_workspace: bool) -> ProductRef:
    with unit_of_work(factory) as s:
        ws = _workspace(s, team_id, single_workspace)
        product = services.load_product(s, ws, slug)
        repo.bind_channel(s, ws.id, channel_id, product.id)
        return product


def product_settings(factory: Factory, *, team_id: str, channel_id: str,
                     single_workspace: bool) -> tuple[str, list[tuple[str, str]]]:
    with unit_of_work(factory) as s:
        product = services.channel_product(s, _workspace(s, team_id, single_workspace), channel_id)
        return product.slug, product.settings.items()


def change_setting(factory: Factory, *, team_id: str, channel_id: str, key: str, value: str,
                   single_workspace: bool) -> tuple[str, list[tuple[str, str]]]:
    with unit_of_work(factory) as s:
        product = services.channel_product(s, _workspace(s, team_id, single_workspace), channel_id)
        new = services.update_setting(s, product, key, value)
        return product.slug, new.items()


# ----------------------------------------------------------------------------- ingest tokens
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_ingest_token(factory: Factory, *, team_id: str, user_id: str, single_workspace: bool) -> str:
    """A new bearer token for ``POST /api/v1/ingest``; only its SHA-256 is stored, so this is
    the one time it can be shown."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(factory) as s:
        ws = _workspace(s, team_id, single_workspace)
        s.add(IngestToken(workspace_id=ws.id, token_hash=_token_hash(token), prefix=token[:16], created_by=user_id))
    return token


def workspace_for_token(factory: Factory, token: str) -> int | None:
    """The workspace an ingest token belongs to, or None for an unknown or revoked token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with unit_of_work(factory) as s:
        row = s.scalar(select(IngestToken).where(IngestToken.token_hash == _token_hash(token),
                                                 IngestToken.revoked_at.is_(None)))
        if row is None:
            return None
        row.last_used_at = datetime.now(UTC)
        return row.workspace_id


def create_cli_token(factory: Factory, *, team_id: str | None, product_slug: str | None) -> tuple[str, str]:
    """``pmfbot token create [--product SLUG] [--workspace TEAM]``: a new token for the CLI's
    workspace, scoped to one product when a slug is given (the Segment-compatible API's write
    key). Returns (token, what it is scoped to); only its SHA-256 is stored."""
    from bot.products import cli_product, cli_workspace

    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(factory) as s:
        if product_slug:
            product = cli_product(s, product_slug, team_id)
            workspace_id, product_id, scope = product.workspace_id, product.id, f"product {product.slug}"
        else:
            ws = cli_workspace(s, team_id)
            workspace_id, product_id, scope = ws.id, None, f"workspace {ws.team_id}"
        s.add(IngestToken(workspace_id=workspace_id, product_id=product_id, token_hash=_token_hash(token),
                          prefix=token[:16], created_by="cli"))
    return token, scope


def token_scope(factory: Factory, token: str) -> tuple[int, int | None] | None:
    """(workspace id, product id or None for a workspace-wide token) of a live ingest token, or
    None for an unknown or revoked one; records its use."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with unit_of_work(factory) as s:
        row = s.scalar(select(IngestToken).where(IngestToken.token_hash == _token_hash(token),
                                                 IngestToken.revoked_at.is_(None)))
        if row is None:
            return None
        row.last_used_at = datetime.now(UTC)
        return row.workspace_id, row.product_id


# ----------------------------------------------------------------------------- App Home
@dataclass(frozen=True)
class HomeData:
    entries: list[tuple[GateReport | None, str, str]]
    subscriptions: list[str]
    open_surveys: list[str]


def home_data(factory: Factory, *, team_id: str, single_workspace: bool, now: datetime) -> HomeData:
    """Verdict and signals of the team's products, its digest subscriptions and open surveys,
    as plain lines (channel mentions are Slack ids, product names are escaped by the renderer)."""
    with unit_of_work(factory) as s:
        ws = _workspace(s, team_id, single_workspace)
        products = list(repo.list_products(s, ws.id))
        names = {p.id: p.slug for p in products}
        subs = s.scalars(select(DigestSubscription).where(DigestSubscription.workspace_id == ws.id)
                         .order_by(DigestSubscription.id)).all()
        surveys = s.scalars(select(Survey).where(Survey.workspace_id == ws.id, Survey.closed_at.is_(None))
                            .order_by(Survey.id)).all()
        sub_lines = [_subscription_line(x, names.get(x.product_id, "?")) for x in subs]
        survey_lines = [f"<#{x.channel_id}> · `{names.get(x.product_id, '?')}` · {x.response_count} responses · "
                        f"closes {x.closes_at.date().isoformat()}" + (" · anonymous" if x.anonymous else "")
                        for x in surveys]
        pending = [_pending(s, repo.product_ref(p, ws.team_id), now) for p in products[:HOME_MAX_PRODUCTS]]
        rest = [(p.slug, p.name) for p in products[HOME_MAX_PRODUCTS:]]
    entries: list[tuple[GateReport | None, str, str]] = []
    for p in pending:
        has_data = bool(p.fingerprint[0])  # users of the product
        entries.append((_bundle(factory, p, with_chart=False).report if has_data else None, p.product.slug,
                        p.product.name))
    entries += [(None, slug, name) for slug, name in rest]
    return HomeData(entries, sub_lines, survey_lines)


def _subscription_line(sub: DigestSubscription, slug: str) -> str:
    line = f"<#{sub.channel_id}> · `{slug}` · {WEEKDAYS[sub.weekday % 7]} {sub.local_time} {sub.timezone}"
    if not sub.active:
        line += " · paused" + (f" ({sub.paused_reason})" if sub.paused_reason else "")
    elif sub.last_error:
        line += f" · :warning: last delivery failed: `{sub.last_error}`"
    return line


# ----------------------------------------------------------------------------- events and lifecycle
def claim_event(factory: Factory, *, team_id: str, event_id: str) -> bool:
    """True the first time this Events API delivery is seen (for effects outside the database)."""
    with unit_of_work(factory) as s:
        return _claim_event(s, team_id, event_id)


def forget_workspace(factory: Factory, *, team_id: str, event_id: str | None) -> bool:
    """``app_uninstalled`` / bot ``tokens_revoked``: delete the team's tokens (slack_sdk's rows)
    and all of its data (the workspace row cascades to every table), in one transaction with
    the event's receipt. False when this delivery was already processed."""
    with unit_of_work(factory) as s:
        if event_id and not _claim_event(s, team_id, event_id):
            return False
        s.execute(delete(slack_bots).where(slack_bots.c.team_id == team_id))
        s.execute(delete(slack_installations).where(slack_installations.c.team_id == team_id))
        s.execute(delete(Workspace).where(Workspace.team_id == team_id))
        return True


def forget_user_tokens(factory: Factory, *, team_id: str, user_ids: list[str], event_id: str | None) -> bool:
    """``tokens_revoked`` for user tokens only: drop those users' installation rows."""
    with unit_of_work(factory) as s:
        if event_id and not _claim_event(s, team_id, event_id):
            return False
        s.execute(delete(slack_installations).where(slack_installations.c.team_id == team_id,
                                                    slack_installations.c.user_id.in_(user_ids)))
        return True


def database_ok(factory: Factory) -> bool:
    """``/healthz``: the database answers a trivial query."""
    try:
        with factory() as s:
            s.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy"; the caller reports it
        return False
