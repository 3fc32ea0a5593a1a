"""The gate report as use cases, shared by the CLI, Slack and the scheduler: load through the
repositories, call the pure domain. ``compute_report`` is the one place a report is computed;
``channel_report``/``product_report`` serve Slack through the context's ``ReportCache``. No Slack
imports here.

Functions are keyword-only and take the session factory (or, for building blocks that compose
inside a caller's transaction, a session). Bad input raises ``UserError`` with a message a
person can act on.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.domain import gate, organic, retention, survey
from bot.domain.types import (
    ActivityTier,
    CohortTable,
    GateReport,
    RetentionSignal,
    Status,
    SurveyAudience,
    SurveySignal,
)
from bot.domain.weeks import last_complete_week
from bot.domain.weighting import activity_tier
from bot.products.service import (
    channel_product,
    cli_product,
    load_product,
    slack_workspace,
)
from bot.reports.cache import ReportBundle, ReportCache
from bot.reports.shared import report_key
from storage.db import Factory, unit_of_work
from storage.models import Workspace
from storage.repositories import audience as audience_repo
from storage.repositories.products import ProductRef, list_products, product_ref
from storage.repositories.reports import cohort_activity, cohort_sizes, survey_responses, tail_patterns, weekly_channels


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
        sizes = cohort_sizes(session, product.id, last)
    return retention.build_cohort_table(as_of, sizes, cohort_activity(session, product.id, last))


def _retention_signal(session: Session, product: ProductRef, as_of: date,
                      previous_status: Status | None) -> tuple[RetentionSignal, CohortTable]:
    s = product.settings
    last = last_complete_week(as_of)
    sizes = cohort_sizes(session, product.id, last)
    table = build_cohort_table(session, product, as_of, sizes)
    offsets = retention.tail_offsets(table, s.retention)
    patterns = tail_patterns(session, product.id, last, offsets, sizes) if offsets else None
    signal = retention.plateau_test(table, patterns, s.retention, previous_status=previous_status,
                                    seed=_seed(product.id, as_of))
    return signal, table


def survey_audience(session: Session, product: ProductRef, as_of: date, since: datetime,
                    until: datetime) -> SurveyAudience:
    """Who could have answered (SPEC §5 "Who answered"), as of ``as_of``: the activity tier of
    each respondent of [since, until) matched to a product user (None when that user is not
    active: active in at least 2 weeks, one within the last two complete weeks), the active
    users per tier (weeks active of the last 8), and the Slack surveys' channel members."""
    last = last_complete_week(as_of)
    matched = audience_repo.matched_respondents(session, product.id, since, until)
    activity = audience_repo.user_activity(session, product.id, set(matched.values()), last)
    tiers: dict[str, ActivityTier | None] = {}
    for key, uid in matched.items():
        total, last8, recent = activity.get(uid, (0, 0, False))
        tiers[key] = activity_tier(last8) if total >= 2 and recent else None
    by_tier: Counter[ActivityTier] = Counter()
    if any(t is not None for t in tiers.values()):  # only weights and the active rate need it (~1 s at 50k users)
        for n8, n in audience_repo.active_users_by_weeks(session, product.id, last).items():
            tier = activity_tier(n8)
            if tier is not None:
                by_tier[tier] += n
    # Channel members are the base of unmatched Slack answers only: an unmatched import has none.
    members = None
    if not audience_repo.imported_respondents(session, product.id, since, until) - matched.keys():
        members = audience_repo.channel_members(session, product.id, since, until)
    return SurveyAudience(tiers=tiers, active_by_tier=dict(by_tier), channel_members=members)


def gate_survey(session: Session, product: ProductRef, as_of: date) -> SurveySignal:
    """The survey signal the gate uses, weighted by who answered. Last week's status, for the
    "changed only because answers left the window" note, is recomputed as of a week earlier on
    the same audience (cheap: one read of the answers covers both windows; and holding the
    audience fixed is what isolates the answers' own effect). Snapshots are not used: a week
    without a digest has none."""
    s = product.settings.survey
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    since = end - timedelta(days=s.window_days + 2 + 7)  # both windows; the domain applies each exactly
    responses = survey_responses(session, product.id, since=since, until=end)
    audience = survey_audience(session, product, as_of, since, end)
    before = as_of - timedelta(days=7)
    previous = survey.survey_signal(responses, before, s, audience=audience).status
    return survey.survey_signal(responses, as_of, s, audience=audience, previous_status=previous,
                                previous_as_of=before)


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
    org = organic.organic_signal(weekly_channels(session, product.id, last), as_of, s.organic)
    sur = gate_survey(session, product, as_of)
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
    return [product_ref(p, ws.team_id) for p in list_products(session, ws.id)]




def _workspace(session: Session, team_id: str, single_workspace: bool, name: str | None = None) -> Workspace:
    return slack_workspace(session, team_id, single_workspace=single_workspace, name=name)


@dataclass(frozen=True)
class PendingReport:
    """A report to fetch from the cache or compute: looked up inside a short transaction,
    computed after it has ended — a thread never holds a connection while it waits for another
    thread's computation (which needs a connection of its own: the pool would run dry)."""

    product: ProductRef
    as_of: date
    fingerprint: tuple[object, ...]

    @property
    def has_data(self) -> bool:
        # the product has users or survey answers (``data_fingerprint``: users first, answers 9th)
        return bool(self.fingerprint[0] or self.fingerprint[8])


def pending_report(cache: ReportCache, session: Session, product: ProductRef, now: datetime) -> PendingReport:
    return PendingReport(product, today_in(product.settings.timezone, now), cache.fingerprint(session, product.id))


def fetch_report(factory: Factory, cache: ReportCache, pending: PendingReport, *, with_chart: bool) -> ReportBundle:
    def compute() -> GateReport:
        with unit_of_work(factory) as s:
            return compute_report(s, pending.product, pending.as_of)

    key = (pending.product.id, pending.as_of, pending.product.settings, pending.fingerprint)
    shared = cache.shared
    if shared is None:
        entry = cache.entry(key, compute)
        chart = cache.chart(entry, pending.product.settings) if with_chart and entry.report.has_data else None
        return ReportBundle(pending.product, entry.report, chart)
    skey = report_key(*key)
    stored: list[bytes | None] = [None]

    def from_shared() -> GateReport:
        report, stored[0] = shared.report(skey, compute)
        return report

    entry = cache.entry(key, from_shared)
    if stored[0] is not None:
        cache.preset_chart(entry, stored[0])
    chart = None
    if with_chart and entry.report.has_data:
        chart = cache.chart(entry, pending.product.settings, through=lambda draw: shared.chart(skey, draw))
    return ReportBundle(pending.product, entry.report, chart)


def channel_report(factory: Factory, *, cache: ReportCache, team_id: str, channel_id: str, single_workspace: bool,
                   now: datetime, with_chart: bool = True, team_name: str | None = None) -> ReportBundle:
    """The report of the channel's product (SPEC §6 "which product"), with its chart."""
    with unit_of_work(factory) as s:
        product = channel_product(s, slack_workspace(s, team_id, single_workspace=single_workspace, name=team_name),
                                  channel_id)
        pending = pending_report(cache, s, product, now)
    return fetch_report(factory, cache, pending, with_chart=with_chart)


def product_report(factory: Factory, *, cache: ReportCache, team_id: str, slug: str, single_workspace: bool,
                   now: datetime, with_chart: bool = True) -> ReportBundle:
    """The report of the team's product ``slug`` (App Home buttons); NotFound in other teams."""
    with unit_of_work(factory) as s:
        product = load_product(s, slack_workspace(s, team_id, single_workspace=single_workspace), slug)
        pending = pending_report(cache, s, product, now)
    return fetch_report(factory, cache, pending, with_chart=with_chart)
