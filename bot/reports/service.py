"""The gate report as use cases, shared by the CLI, Slack and the scheduler: load through the
repositories, call the pure domain. ``compute_report`` is the one place a report is computed;
``channel_report``/``product_report`` serve Slack through the context's ``ReportCache``. No Slack
imports here.

Functions are keyword-only and take the session factory (or, for building blocks that compose
inside a caller's transaction, a session). Bad input raises ``UserError`` with a message a
person can act on.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.domain import default_rules, gate, organic, retention, survey
from bot.domain.active_events import ActiveEvents, ActiveEventsReport, active_events_report, parse_active_events
from bot.domain.types import (
    TIERS,
    ActivityTier,
    CohortTable,
    DefaultRulesGate,
    GateReport,
    RetentionSignal,
    Status,
    SurveyAudience,
    SurveySignal,
)
from bot.domain.weeks import last_complete_week
from bot.domain.weighting import activity_tier
from bot.history.data import HistoryData
from bot.products.managers import setting_changes
from bot.products.service import (
    channel_product,
    cli_product,
    load_product,
    slack_workspace,
)
from bot.reports.cache import ReportBundle, ReportCache
from bot.reports.inputs import ReportData
from bot.reports.shared import report_key
from storage.db import Factory, unit_of_work
from storage.models import Workspace
from storage.repositories import activity_events as activity_events_repo
from storage.repositories import audience as audience_repo
from storage.repositories.fingerprint import Fingerprint
from storage.repositories.products import ProductRef, list_products, product_ref
from storage.repositories.reports import survey_responses


# ----------------------------------------------------------------------------- reports
def today_in(tz: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(tz)).date()


def _seed(product_id: int, as_of: date) -> int:
    # A stable seed: the same data and date always give the same bootstrap interval.
    return zlib.crc32(f"{product_id}:{as_of.isoformat()}".encode())


def build_cohort_table(session: Session, product: ProductRef, as_of: date,
                       sizes: dict[int, int] | None = None, data: ReportData | None = None) -> CohortTable:
    last = last_complete_week(as_of)
    data = data or ReportData(session, product.id)
    if sizes is None:
        sizes = data.cohort_sizes(last)
    rule = counted_events(session, product)[0]
    if rule is None:
        return retention.build_cohort_table(as_of, sizes, data.cohort_activity(last))
    return retention.build_cohort_table(
        as_of, sizes, activity_events_repo.cohort_activity(session, product.id, last, rule, sizes))


def counted_events(session: Session, product: ProductRef) -> tuple[ActiveEvents | None, ActiveEventsReport]:
    """The rule retention's reads filter by (None: every event counts, the default path, also
    when a rule is set but no imported event carries a name), and what it counts, for the
    report's details and ``config``."""
    rule = parse_active_events(product.settings.retention.active_events)
    report = active_events_report(rule, activity_events_repo.event_counts(session, product.id))
    return (None if rule.is_default or not report.applies else rule), report


def _retention_signal(session: Session, product: ProductRef, as_of: date,
                      previous_status: Status | None, data: ReportData | None = None,
                      ) -> tuple[RetentionSignal, CohortTable]:
    s = product.settings
    data = data or ReportData(session, product.id)
    last = last_complete_week(as_of)
    sizes = data.cohort_sizes(last)
    table = build_cohort_table(session, product, as_of, sizes, data)
    offsets = retention.tail_offsets(table, s.retention)
    rule, counted = counted_events(session, product)
    patterns = None
    if offsets:
        patterns = (data.tail_patterns(last, offsets, sizes) if rule is None else
                    activity_events_repo.tail_patterns(session, product.id, last, offsets, sizes, rule))
    signal = retention.plateau_test(table, patterns, s.retention, previous_status=previous_status,
                                    seed=_seed(product.id, as_of))
    data.unconfirmed[as_of] = signal.unconfirmed_status
    if counted.counted or counted.excluded or counted.note:
        signal = dataclasses.replace(signal, active_events=counted)
    return signal, table


def active_tier(weeks_active: int, weeks_active_of_last_8: int, recent: bool) -> ActivityTier | None:
    """A user's activity tier when they are active (Ellis: active in at least 2 weeks, one of
    them within the last two complete weeks), else None."""
    return activity_tier(weeks_active_of_last_8) if weeks_active >= 2 and recent else None


def survey_audience(session: Session, product: ProductRef, as_of: date, since: datetime,
                    until: datetime, data: ReportData | None = None) -> SurveyAudience:
    """Who could have answered (SPEC §5 "Who answered"), as of ``as_of``: the activity tier of
    each respondent of [since, until) matched to a product user (None when that user is not
    active: active in at least 2 weeks, one within the last two complete weeks), the active
    users per tier (weeks active of the last 8), and the Slack surveys' channel members."""
    last = last_complete_week(as_of)
    matched = audience_repo.matched_respondents(session, product.id, since, until)
    activity = audience_repo.user_activity(session, product.id, set(matched.values()), last)
    tiers: dict[str, ActivityTier | None] = {}
    for key, uid in matched.items():
        act = activity.get(uid, audience_repo.UserActivity())
        tiers[key] = active_tier(act.weeks_active, act.weeks_active_of_last_8, act.recent)
    # Anonymous Slack answers were matched when given and kept only the tier and the active flag.
    for key, kept in audience_repo.anonymous_tiers(session, product.id, since, until).items():
        tiers[key] = cast(ActivityTier, kept.tier) if kept.active and kept.tier in TIERS else None
    by_tier: Counter[ActivityTier] = Counter()
    if any(t is not None for t in tiers.values()):  # only weights and the active rate need it (~1 s at 50k users)
        for n8, n in (data or ReportData(session, product.id)).active_users_by_weeks(last).items():
            tier = activity_tier(n8)
            if tier is not None:
                by_tier[tier] += n
    # Channel members are the base of unmatched Slack answers only: an unmatched import has none.
    members = None
    if not audience_repo.imported_respondents(session, product.id, since, until) - matched.keys():
        members = audience_repo.channel_members(session, product.id, since, until)
    return SurveyAudience(tiers=tiers, active_by_tier=dict(by_tier), channel_members=members)


def gate_survey(session: Session, product: ProductRef, as_of: date, data: ReportData | None = None,
                answers_through: date | None = None) -> SurveySignal:
    """The survey signal the gate uses, weighted by who answered. Last week's status, for the
    "changed only because answers left the window" note, is recomputed as of a week earlier on
    the same audience (cheap: one read of the answers covers both windows; and holding the
    audience fixed is what isolates the answers' own effect). Snapshots are not used: a week
    without a digest has none. ``answers_through`` (default ``as_of``) is the last day whose
    answers count: a finished week's row stops at its Sunday (SPEC §10)."""
    s = product.settings.survey
    through = answers_through or as_of
    end = datetime.combine(through + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    since = end - timedelta(days=s.window_days + 2 + 7)  # both windows; the domain applies each exactly
    responses = survey_responses(session, product.id, since=since, until=end)
    audience = survey_audience(session, product, as_of, since, end, data)
    before = through - timedelta(days=7)
    previous = survey.survey_signal(responses, before, s, audience=audience).status
    return survey.survey_signal(responses, through, s, audience=audience, previous_status=previous,
                                previous_as_of=before)


def _retention_confirmed(session: Session, product: ProductRef, as_of: date,
                         data: ReportData) -> tuple[RetentionSignal, CohortTable]:
    """Retention as of ``as_of``; a pass must also have held at the previous week's check
    (``confirm_weeks``), so it is computed as of a week earlier too (or reused from ``data``,
    where a history's previous week left it) and that status passed in."""
    previous: Status | None = None
    if product.settings.retention.confirm_weeks > 1:
        before = as_of - timedelta(days=7)
        if before not in data.unconfirmed:
            _retention_signal(session, product, before, None, data)
        previous = data.unconfirmed[before]
    return _retention_signal(session, product, as_of, previous, data)


def _default_rules(session: Session, product: ProductRef, as_of: date, report: GateReport,
                   answers_through: date | None) -> DefaultRulesGate | None:
    """The gate under the default settings (SPEC §5 "Custom rules never hide"), None when every
    rule is the default. Only the signals a custom setting can move are recomputed, from the
    database (a ``ReportData`` of its own: the shared one remembers statuses under the custom rules)."""
    custom = default_rules.custom_settings(product.settings)
    if not custom:
        return None
    affected = default_rules.affected_signals(custom)
    base = dataclasses.replace(product, settings=default_rules.default_settings(product.settings))
    s = base.settings
    data = ReportData(session, base.id)
    ret = _retention_confirmed(session, base, as_of, data)[0] if "retention" in affected else report.retention
    org = (organic.organic_signal(data.weekly_channels(last_complete_week(as_of)), as_of, s.organic,
                                  sources=dict(s.source_classes))
           if "organic" in affected else report.organic)
    sur = gate_survey(session, base, as_of, data, answers_through) if "survey" in affected else report.survey
    verdict = gate.evaluate(product=base.slug, product_name=base.name, as_of=as_of, retention=ret, organic=org,
                            survey=sur, settings=s).verdict
    return default_rules.outcome(verdict, ret.status, org.status, sur.status, custom)


def compute_report(session: Session, product: ProductRef, as_of: date, data: ReportData | None = None, *,
                   answers_through: date | None = None) -> GateReport:
    """The gate report for one product as of a date: three signals, verdict, next steps — and,
    when any rule is custom, the gate under the default rules beside it (``default_rules``), so
    every cache and snapshot of the report carries both. ``data`` is where the heavy inputs come
    from (default: the database, one query each). ``answers_through``: the last day whose survey
    answers count (default ``as_of``; a week's snapshot passes its Sunday, so answers on the Monday
    it is dated belong to the next week)."""
    s = product.settings
    data = data or ReportData(session, product.id)
    last = last_complete_week(as_of)
    ret, table = _retention_confirmed(session, product, as_of, data)
    org = organic.organic_signal(data.weekly_channels(last), as_of, s.organic, sources=dict(s.source_classes))
    sur = gate_survey(session, product, as_of, data, answers_through)
    report = gate.evaluate(product=product.slug, product_name=product.name, as_of=as_of, retention=ret,
                           organic=org, survey=sur, settings=s, cohort_table=table)
    defaults = _default_rules(session, product, as_of, report, answers_through)
    return dataclasses.replace(report, default_rules=defaults) if defaults is not None else report


def gate_report(factory: Factory, *, product_slug: str, team_id: str | None = None,
                as_of: date | None = None) -> GateReport:
    with unit_of_work(factory) as s:
        product = cli_product(s, product_slug, team_id)
        as_of = as_of or today_in(product.settings.timezone)
        return compute_report(s, product, as_of, report_data(s, product, as_of))


def report_data(session: Session, product: ProductRef, as_of: date) -> ReportData:
    """The inputs of one report, read once: its retention as of ``as_of`` and a week earlier
    (``confirm_weeks``) are cut from one read of the activity and of the tail patterns."""
    last = last_complete_week(as_of)
    return HistoryData(session, product.id, last, tails=((last - 1, last), product.settings.retention))


@dataclass(frozen=True)
class Check:
    """``pmfbot check``: the report, and the latest change (actor, when) of each custom setting
    from the audit, so the text and the JSON say who set which rule and when."""

    report: GateReport
    changes: dict[str, tuple[str, datetime]]

    @property
    def set_by(self) -> dict[str, tuple[str | None, str | None]]:
        """For ``GateReport.to_json``: key -> (actor, ISO time); the command line is "cli"."""
        return {k: (actor, at.isoformat()) for k, (actor, at) in self.changes.items()}


def gate_check(factory: Factory, *, product_slug: str, team_id: str | None = None,
               as_of: date | None = None) -> Check:
    with unit_of_work(factory) as s:
        product = cli_product(s, product_slug, team_id)
        as_of = as_of or today_in(product.settings.timezone)
        report = compute_report(s, product, as_of, report_data(s, product, as_of))
        return Check(report, setting_changes(s, product) if report.default_rules is not None else {})


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
        # the product has users or survey answers
        figures = Fingerprint(self.fingerprint)
        return bool(figures.users or figures.answers)


def pending_report(cache: ReportCache, session: Session, product: ProductRef, now: datetime) -> PendingReport:
    return PendingReport(product, today_in(product.settings.timezone, now), cache.fingerprint(session, product.id))


def fetch_report(factory: Factory, cache: ReportCache, pending: PendingReport, *, with_chart: bool) -> ReportBundle:
    def compute() -> GateReport:
        with unit_of_work(factory) as s:
            return compute_report(s, pending.product, pending.as_of, report_data(s, pending.product, pending.as_of))

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
