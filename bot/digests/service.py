"""Weekly digests as use cases: subscribing and unsubscribing channels, listing them, and the
figures a digest shows (``digest_content``). When runs are due is ``bot.digests.schedule``; the
claim that makes each delivery happen once is ``bot.digests.claims``. No Slack calls here.

Figures come from ``weekly_snapshots``, a cache of ``compute_report`` for a complete week: each
row carries the fingerprint of its inputs (the data for its weeks, the product's settings,
``RULES_VERSION``) and is recomputed when they changed, so the digest always says what
``/pmf-check`` says for the same as-of. The week before is read the same way, fresh, for the
change since last week.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.digests.codec import decode_report, encode, encode_report
from bot.digests.schedule import (
    DEFAULT_TIME,
    DEFAULT_TZ,
    DEFAULT_WEEKDAY,
    WEEKLY_USAGE,
    Schedule,
    WeeklyArgs,
    next_run,
    validate_zone,
)
from bot.digests.values import DeliveryInfo, DigestContent, OpenSurvey, SubscriptionInfo, WeekActivity
from bot.domain import RULES_VERSION
from bot.domain.active_events import parse_active_events
from bot.domain.types import GateReport
from bot.domain.weeks import week_start
from bot.errors import NotFound
from bot.ingest.source_status import source_problem
from bot.products import service as product_service
from bot.products.managers import custom_rules_in
from bot.reports import service as services
from bot.reports.inputs import ReportData
from storage.db import Factory, unit_of_work
from storage.models import (
    DigestSubscription,
    Product,
    WeeklySnapshot,
    Workspace,
)
from storage.repositories import digests as digest_repo
from storage.repositories.products import LOCAL_TEAM, ProductRef, bound_product, find_workspace, product_ref
from storage.repositories.snapshots import get_snapshot, save_snapshot

# =============================================================================== subscriptions


def _schedule(sub: DigestSubscription) -> Schedule:
    return Schedule.stored(sub.weekday, sub.local_time, sub.timezone)


def _last_delivery(session: Session, sub_id: int) -> DeliveryInfo | None:
    row = digest_repo.last_delivery(session, sub_id)
    if row is None:
        return None
    return DeliveryInfo(row.period, row.due_at, row.status, row.late, row.sent_at, row.error)


def _info(session: Session, sub: DigestSubscription, product: Product, now: datetime) -> SubscriptionInfo:
    schedule = _schedule(sub)
    return SubscriptionInfo(
        id=sub.id, product_slug=product.slug, product_name=product.name, channel_id=sub.channel_id,
        schedule=schedule, active=sub.active, paused_reason=sub.paused_reason, created_by=sub.created_by,
        next_run=next_run(schedule, now).due_at if sub.active else None,
        last_delivery=_last_delivery(session, sub.id), last_error=sub.last_error,
        last_error_at=sub.last_error_at, consecutive_failures=sub.consecutive_failures,
    )


def _target_product(session: Session, ws: Workspace, channel_id: str, invoked_in: str) -> ProductRef:
    """The product a digest in ``channel_id`` is about: the one bound to that channel, else the
    one the command's own channel resolves to (bound, or the workspace's only product)."""
    bound = bound_product(session, ws.id, channel_id)
    if bound is not None:
        return product_ref(bound, ws.team_id)
    return product_service.channel_product(session, ws, invoked_in)


def subscribe(factory: Factory, *, team_id: str, single_workspace: bool, invoked_in: str, user_id: str,
              args: WeeklyArgs, default_tz: str | None, now: datetime) -> SubscriptionInfo:
    """Create, change or resume the weekly digest of a channel (defaults: the command's channel,
    ``schedule.default_when()`` (DEFAULT_WEEKDAY at DEFAULT_TIME), the invoker's time zone). The
    new schedule takes effect now: a run it would have had earlier this week is not sent late."""
    channel_id = args.channel_id or invoked_in
    tz = args.timezone or default_tz or DEFAULT_TZ
    validate_zone(tz)
    weekday = DEFAULT_WEEKDAY if args.weekday is None else args.weekday
    at = args.local_time or DEFAULT_TIME
    with unit_of_work(factory) as s:
        ws = product_service.slack_workspace(s, team_id, single_workspace=single_workspace)
        product = _target_product(s, ws, channel_id, invoked_in)
        sub = digest_repo.find_subscription(s, product_id=product.id, channel_id=channel_id)
        if sub is None:
            sub = DigestSubscription(workspace_id=ws.id, product_id=product.id, channel_id=channel_id,
                                     created_at=now, consecutive_failures=0, error_notified=False)
            s.add(sub)
        sub.weekday, sub.local_time, sub.timezone = weekday, f"{at:%H:%M}", tz
        sub.created_by = user_id  # the person to tell when delivery fails
        sub.active, sub.paused_reason = True, None
        sub.consecutive_failures, sub.error_notified = 0, False
        sub.effective_from = now
        s.flush()
        p = s.get(Product, product.id)
        assert p is not None
        return _info(s, sub, p, now)


def unsubscribe(factory: Factory, *, team_id: str, single_workspace: bool, channel_id: str, user_id: str,
                now: datetime) -> list[SubscriptionInfo]:
    """Turn off every digest of ``channel_id``. Rows are kept (inactive), so turning a digest
    off and on again within a week cannot send that week's digest twice."""
    with unit_of_work(factory) as s:
        ws = product_service.slack_workspace(s, team_id, single_workspace=single_workspace)
        rows = digest_repo.active_subscriptions_in_channel(s, workspace_id=ws.id, channel_id=channel_id)
        if not rows:
            raise NotFound(f"<#{channel_id}> has no weekly digest. Subscribe with `/pmf-check digest weekly <#{channel_id}>`.",
                           usage=WEEKLY_USAGE)
        for sub, _ in rows:
            sub.active = False
            sub.paused_reason = f"turned off by <@{user_id}>"
        s.flush()
        return [_info(s, sub, p, now) for sub, p in rows]


def list_subscriptions(factory: Factory, *, team_id: str, single_workspace: bool, now: datetime) -> list[SubscriptionInfo]:
    """The workspace's digests, active and paused (not the ones turned off by hand)."""
    with unit_of_work(factory) as s:
        ws = find_workspace(s, team_id)
        if ws is None and single_workspace:
            ws = find_workspace(s, LOCAL_TEAM)
        if ws is None:
            return []
        rows = digest_repo.workspace_subscriptions(s, workspace_id=ws.id)
        return [_info(s, sub, p, now) for sub, p in rows
                if sub.active or not (sub.paused_reason or "").startswith("turned off")]


def product_for_channel(factory: Factory, *, team_id: str, single_workspace: bool, channel_id: str,
                        invoked_in: str | None = None) -> ProductRef:
    with unit_of_work(factory) as s:
        ws = product_service.slack_workspace(s, team_id, single_workspace=single_workspace)
        return _target_product(s, ws, channel_id, invoked_in or channel_id)


def subscribed_products(factory: Factory, *, team_id: str, single_workspace: bool, channel_id: str) -> list[ProductRef]:
    """The products with an active digest in ``channel_id`` (whose managers may turn it off)."""
    with unit_of_work(factory) as s:
        ws = product_service.slack_workspace(s, team_id, single_workspace=single_workspace)
        rows = digest_repo.subscribed_products(s, workspace_id=ws.id, channel_id=channel_id)
        return [product_ref(p, ws.team_id) for p in rows]


def product_by_slug(factory: Factory, *, team_id: str, single_workspace: bool, slug: str) -> ProductRef:
    with unit_of_work(factory) as s:
        ws = product_service.slack_workspace(s, team_id, single_workspace=single_workspace)
        return product_service.load_product(s, ws, slug)


# =============================================================================== content


def _week_bounds(product: ProductRef, week: int) -> tuple[datetime, datetime]:
    zone = ZoneInfo(product.settings.timezone)
    start = datetime.combine(week_start(week), time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(week_start(week + 1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def week_activity(session: Session, product: ProductRef, week: int, data: ReportData | None = None) -> WeekActivity:
    active = (data or ReportData(session, product.id)).active_users(week)
    signups = digest_repo.count_signups(session, product_id=product.id, week=week)
    start, end = _week_bounds(product, week)
    responses = digest_repo.count_answers_between(session, product_id=product.id, start=start, end=end)
    return WeekActivity(int(active), int(signups), int(responses))


def snapshot_inputs(session: Session, product: ProductRef, week: int, data: ReportData | None = None) -> str:
    """The fingerprint of everything the report for complete week ``week`` is computed from:
    the data for its weeks (users, activity and answers up to its as-of), the product's settings
    and the rules' version. A stored snapshot with another fingerprint is stale (SPEC §10)."""
    as_of = week_start(week + 1)
    until = datetime.combine(as_of, time(0), tzinfo=UTC)  # answers through the week's Sunday, as snapshot_report reads
    rule = parse_active_events(product.settings.retention.active_events)
    figures = (data or ReportData(session, product.id)).fingerprint(week, until, rule)
    payload = {"rules": RULES_VERSION, "as_of": as_of.isoformat(), "settings": encode(product.settings),
               "data": list(figures)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _fresh(row: WeeklySnapshot | None, inputs: str) -> bool:
    return (row is not None and isinstance(row.report, dict) and "full" in row.report
            and row.report.get("inputs") == inputs)


def stale_weeks(session: Session, product: ProductRef, weeks: Iterable[int], data: ReportData) -> list[int]:
    """The weeks among ``weeks`` whose snapshot is missing or stale (``snapshot_report`` computes them)."""
    return [w for w in weeks if not _fresh(get_snapshot(session, product.id, w), snapshot_inputs(session, product, w, data))]


def snapshot_report(session: Session, product: ProductRef, week: int,
                    data: ReportData | None = None) -> tuple[GateReport, WeekActivity]:
    """The report for complete week ``week`` (as of the Monday that ends it), as
    ``compute_report`` gives it. ``weekly_snapshots`` caches it for every channel, process and
    later week, and is recomputed when the data for its weeks, the settings or the rules changed
    since it was stored (a snapshot is a cache, never the truth: SPEC §10). ``data``: where the
    report's inputs are read (``bot.history.data`` reads many weeks' at once)."""
    inputs = snapshot_inputs(session, product, week, data)
    row = get_snapshot(session, product.id, week)
    if _fresh(row, inputs):
        assert row is not None
        act = row.report.get("activity") or {}
        return decode_report(row.report["full"]), WeekActivity(int(act.get("active_users", 0)),
                                                               int(act.get("signups", 0)),
                                                               int(act.get("responses", 0)))
    as_of = week_start(week + 1)
    # Only what happened by the week's end: answers on the Monday it is dated go to the next row.
    report = services.compute_report(session, product, as_of, data, answers_through=as_of - timedelta(days=1))
    activity = week_activity(session, product, week, data)
    payload = {"schema": 2, "inputs": inputs, "json": report.to_json(), "full": encode_report(report),
               "activity": dataclasses.asdict(activity)}
    save_snapshot(session, product.id, week, as_of, payload)
    return report, activity


def open_surveys(session: Session, product_id: int) -> tuple[OpenSurvey, ...]:
    rows = digest_repo.open_surveys(session, product_id=product_id)
    return tuple(OpenSurvey(r.channel_id, r.response_count, r.closes_at, r.anonymous) for r in rows)


def digest_content(factory: Factory, *, product: ProductRef, week: int) -> DigestContent:
    """The figures of one product's digest for a week: this week's report, last week's (for
    the change), what arrived during the week, and the surveys still open."""
    with unit_of_work(factory) as s:
        report, activity = snapshot_report(s, product, week)
        previous, _ = snapshot_report(s, product, week - 1)
        return DigestContent(product=product, week=week, report=report, previous=previous, activity=activity,
                             open_surveys=open_surveys(s, product.id), custom_rules=custom_rules_in(s, product),
                             source_problem=source_problem(s, product.id))
