"""Weekly digests as use cases: subscriptions, when each run is due, the claim that makes every
delivery happen once, and the figures a digest shows.

Schedules are stored as wall-clock time plus an IANA zone and turned into instants here with
``zoneinfo`` (never a cron trigger), so a 09:00 Europe/Berlin digest is at 09:00 local on both
sides of a DST change. A local time that does not exist (the spring-forward gap) runs at the first
valid instant after it; one that exists twice (fall-back) runs at the first occurrence.

Exactly-once rests on one row per (subscription, week) in ``digest_deliveries``, inserted with
``ON CONFLICT DO NOTHING … RETURNING``; a process works on a row only while it holds its lease
(``claimed_by``/``lease_until``, taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and every
state change is fenced on that lease, so a process that lost it can no longer record anything.
A row in ``sending`` may already be in Slack: the sender (``bot.jobs``) reconciles it before
posting again. No Slack calls here.

Figures come from ``weekly_snapshots``: a product's report for a complete week is computed once
and stored, and the week before is loaded (or computed and stored) for the change since last
week.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot import services
from bot.domain.types import GateReport
from bot.domain.weeks import last_complete_week, week_start
from bot.errors import NotFound, UserError
from storage import repositories as repo
from storage.db import is_postgres, unit_of_work
from storage.models import (
    ActivityWeek,
    DigestDelivery,
    DigestSubscription,
    Product,
    ProductUser,
    Survey,
    SurveyResponse,
    Workspace,
)
from storage.repositories import ProductRef, product_ref

Factory = sessionmaker[Session]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_LONG: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_WEEKDAY = 0
DEFAULT_TIME = time(9, 0)
DEFAULT_TZ = "UTC"

# A run claimed this long after it was due says so ("This digest is late").
LATE_AFTER = timedelta(minutes=15)
# A run not delivered within this window is recorded as skipped, never sent (SPEC §6).
MISSED_AFTER = timedelta(hours=24)
# How long a claimer owns a delivery. Longer than one send can take (client timeouts × retries),
# short enough that a crashed process's digest is still on time-ish.
LEASE = timedelta(minutes=10)
# Attempts per delivery (across ticks) before giving up; the waits between them.
MAX_ATTEMPTS = 6
RETRY_BACKOFF: tuple[timedelta, ...] = tuple(timedelta(seconds=s) for s in (30, 60, 120, 300, 600, 1200))
# Weeks in a row a subscription may fail before it is paused.
PAUSE_AFTER_FAILED_WEEKS = 3

Status = Literal["claimed", "sending", "sent", "failed", "skipped"]
OPEN_STATUSES: tuple[str, ...] = ("claimed", "sending")


# =============================================================================== schedule (pure)


@dataclass(frozen=True)
class Schedule:
    """Weekly at ``local_time`` on ``weekday`` (0 = Monday) in the IANA zone ``timezone``."""

    weekday: int
    local_time: time
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> str:
        """"Mondays at 09:00 (Europe/Berlin)"."""
        return f"{WEEKDAY_LONG[self.weekday]}s at {self.local_time:%H:%M} ({self.timezone})"


@dataclass(frozen=True)
class Occurrence:
    """One scheduled run: the local date it belongs to and the UTC instant it is due."""

    local_date: date
    due_at: datetime

    @property
    def period(self) -> date:
        """The claim key: the Monday of the local week. One digest per subscription per week,
        even if the weekday is changed after this week's digest went out."""
        return self.local_date - timedelta(days=self.local_date.weekday())


def resolve_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``day at`` in ``zone``.

    Ambiguous (fall-back) → the first occurrence (``fold=0``). Non-existent (spring-forward
    gap) → the first valid instant after it, i.e. the transition itself: found by bisecting
    between the two readings of the wall time, because zoneinfo exposes no transition list.
    """
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    other = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = sorted((int(first.timestamp()), int(other.timestamp())))

    def wall(ts: int) -> datetime:
        return datetime.fromtimestamp(ts, UTC).astimezone(zone).replace(tzinfo=None)

    # Invariant: wall(lo) < naive <= wall(hi); transitions fall on whole seconds.
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if wall(mid) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def occurrence_on(schedule: Schedule, day: date) -> Occurrence:
    return Occurrence(day, resolve_local(day, schedule.local_time, schedule.zone))


def latest_due(schedule: Schedule, now: datetime) -> Occurrence:
    """The most recent run at or before ``now``."""
    today = now.astimezone(schedule.zone).date()
    day = today - timedelta(days=(today.weekday() - schedule.weekday) % 7)
    occ = occurrence_on(schedule, day)
    if occ.due_at > now:
        occ = occurrence_on(schedule, day - timedelta(days=7))
    return occ


def next_run(schedule: Schedule, now: datetime) -> Occurrence:
    """The first run strictly after ``now``."""
    today = now.astimezone(schedule.zone).date()
    day = today + timedelta(days=(schedule.weekday - today.weekday()) % 7)
    occ = occurrence_on(schedule, day)
    if occ.due_at <= now:
        occ = occurrence_on(schedule, day + timedelta(days=7))
    return occ


def local_label(at: datetime, tz: str, *, with_date: bool = False) -> str:
    """"Mon 09:00" (or "Mon 30 Mar 09:00 CEST" with the date) in ``tz``."""
    local = at.astimezone(ZoneInfo(tz))
    day = WEEKDAY_NAMES[local.weekday()]
    if with_date:
        return f"{day} {local.day} {local:%b %H:%M} {local.tzname() or tz}"
    return f"{day} {local:%H:%M}"


# =============================================================================== parsing (pure)

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_CHANNEL_RE = re.compile(r"^<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>$")
_BARE_CHANNEL_RE = re.compile(r"^([CG][A-Z0-9]{8,})$")
_DAY_ALIASES = {name: i for i, name in enumerate(WEEKDAYS)} | {
    name.lower(): i for i, name in enumerate(WEEKDAY_LONG)
} | {"tues": 1, "wednes": 2, "thur": 3, "thurs": 3}

WEEKLY_USAGE = "/pmf-check digest weekly [#channel] [mon…sun] [HH:MM] [Area/City]"


@dataclass(frozen=True)
class WeeklyArgs:
    """``digest weekly`` arguments; None = not given (the caller applies the defaults)."""

    channel_id: str | None = None
    weekday: int | None = None
    local_time: time | None = None
    timezone: str | None = None


def parse_channel(word: str) -> str | None:
    """The id of an escaped channel mention ``<#C0123ABCD|name>`` (or a bare id), else None."""
    m = _CHANNEL_RE.match(word) or _BARE_CHANNEL_RE.match(word)
    return m.group(1) if m else None


def parse_time(word: str) -> time | None:
    m = _TIME_RE.match(word)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise UserError(f"`{word}` is not a time of day: use HH:MM from 00:00 to 23:59, e.g. `09:00`.",
                        usage=WEEKLY_USAGE)
    return time(hour, minute)


def validate_zone(name: str) -> str:
    """An IANA zone name as ``zoneinfo`` knows it (``UTC`` or ``Area/City``)."""
    if not name or ".." in name or name.startswith("/"):
        raise UserError(f"`{name}` is not a time zone: use an IANA name such as `Europe/Berlin` or `UTC`.",
                        usage=WEEKLY_USAGE)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"`{name}` is not a time zone I know: use an IANA name such as `Europe/Berlin`, "
                        "`America/New_York` or `UTC`.", usage=WEEKLY_USAGE) from None
    return name


def parse_weekly_args(words: Sequence[str]) -> WeeklyArgs:
    """``[#channel] [mon…sun] [HH:MM] [Area/City]`` in any order, each at most once."""
    found: dict[str, Any] = {}

    def put(key: str, value: Any, word: str) -> None:
        if key in found:
            raise UserError(f"`{word}`: the {key.replace('_', ' ')} is given twice.", usage=WEEKLY_USAGE)
        found[key] = value

    for word in words:
        low = word.lower().rstrip(",")
        if (channel := parse_channel(word)) is not None:
            put("channel_id", channel, word)
        elif word.startswith("#"):
            raise UserError(f"I could not read the channel `{word}`: pick it from the list Slack offers "
                            "when you type `#`, so that it arrives as a channel link.", usage=WEEKLY_USAGE)
        elif low in _DAY_ALIASES or low.rstrip("s") in _DAY_ALIASES:
            put("weekday", _DAY_ALIASES.get(low, _DAY_ALIASES.get(low.rstrip("s"))), word)
        elif (at := parse_time(low)) is not None:
            put("local_time", at, word)
        elif "/" in word or word.upper() in ("UTC", "GMT"):
            put("timezone", validate_zone("UTC" if word.upper() in ("UTC", "GMT") else word), word)
        else:
            raise UserError(f"I did not understand `{word}`: expected a #channel, a weekday (mon…sun), "
                            "a time (HH:MM) or a time zone (Area/City).", usage=WEEKLY_USAGE)
    return WeeklyArgs(**found)


def parse_channel_only(words: Sequence[str], usage: str) -> str | None:
    """``[#channel]`` for ``digest off`` / ``digest now``."""
    if not words:
        return None
    if len(words) == 1 and (channel := parse_channel(words[0])) is not None:
        return channel
    raise UserError(f"I expected at most one #channel, got `{' '.join(words)}`.", usage=usage)


# =============================================================================== report codec (pure)
# Snapshots store the whole GateReport (the digest chart needs the cohort table and the weekly
# organic shares, which the SPEC §4 JSON leaves out), encoded generically from the dataclass type
# hints so a field added to the domain types is stored without touching this code.


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON (and PostgreSQL's json type) has no NaN/Infinity
    return value


def decode(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return decode(options[0], data) if len(options) == 1 else data
    if origin is Literal:
        return data
    if dataclasses.is_dataclass(tp):
        cls: Any = tp
        hints = typing.get_type_hints(cls)
        return cls(**{f.name: decode(hints[f.name], data[f.name])
                      for f in dataclasses.fields(cls) if f.name in data})
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in data)
        return tuple(decode(a, v) for a, v in zip(args, data, strict=True))
    if origin is list:
        return [decode(typing.get_args(tp)[0], v) for v in data]
    if origin is dict:
        k_tp, v_tp = typing.get_args(tp)
        return {decode(k_tp, k): decode(v_tp, v) for k, v in data.items()}
    if tp is date:
        return date.fromisoformat(data)
    if tp is float:
        return float(data)
    if tp is int:
        return int(data)
    return data


def encode_report(report: GateReport) -> dict[str, Any]:
    return typing.cast(dict[str, Any], encode(report))


def decode_report(data: dict[str, Any]) -> GateReport:
    return typing.cast(GateReport, decode(GateReport, data))


# =============================================================================== value types


@dataclass(frozen=True)
class DeliveryInfo:
    period: date
    due_at: datetime
    status: str
    late: bool
    sent_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class SubscriptionInfo:
    id: int
    product_slug: str
    product_name: str
    channel_id: str
    schedule: Schedule
    active: bool
    paused_reason: str | None
    created_by: str | None
    next_run: datetime | None
    last_delivery: DeliveryInfo | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int


@dataclass(frozen=True)
class OpenSurvey:
    channel_id: str
    responses: int
    closes_at: datetime
    anonymous: bool


@dataclass(frozen=True)
class WeekActivity:
    """What arrived for one complete week: active users, signups, survey answers."""

    active_users: int
    signups: int
    responses: int

    @property
    def empty(self) -> bool:
        return not (self.active_users or self.signups or self.responses)


@dataclass(frozen=True)
class DigestContent:
    """Everything a digest for one product and week shows (the same for every channel)."""

    product: ProductRef
    week: int  # the last complete week the report covers
    report: GateReport
    previous: GateReport | None
    activity: WeekActivity
    open_surveys: tuple[OpenSurvey, ...]

    @property
    def no_new_data(self) -> bool:
        return self.activity.empty


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery with what the sender needs; ``worker`` holds the lease."""

    id: int
    worker: str
    subscription_id: int
    team_id: str
    channel_id: str
    created_by: str | None
    product: ProductRef
    schedule: Schedule
    subscription_active: bool
    status: str
    attempts: int
    period: date
    due_at: datetime
    claimed_at: datetime
    late: bool

    @property
    def week(self) -> int:
        """The last complete week (product time zone) when the run was due."""
        return report_week(self.product, self.due_at)


@dataclass(frozen=True)
class PlanResult:
    claimed: int
    skipped: int


@dataclass(frozen=True)
class FailureOutcome:
    """After a failed week: whether to tell the subscriber (once) and whether it is now paused."""

    notify_user: str | None
    paused: bool
    consecutive_failures: int


# =============================================================================== subscriptions


def _schedule(sub: DigestSubscription) -> Schedule:
    hh, mm = sub.local_time.split(":")
    return Schedule(sub.weekday, time(int(hh), int(mm)), sub.timezone)


def _last_delivery(session: Session, sub_id: int) -> DeliveryInfo | None:
    row = session.scalar(select(DigestDelivery).where(DigestDelivery.subscription_id == sub_id)
                         .order_by(DigestDelivery.period.desc()).limit(1))
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
    bound = repo.bound_product(session, ws.id, channel_id)
    if bound is not None:
        return product_ref(bound, ws.team_id)
    return services.channel_product(session, ws, invoked_in)


def subscribe(factory: Factory, *, team_id: str, single_workspace: bool, invoked_in: str, user_id: str,
              args: WeeklyArgs, default_tz: str | None, now: datetime) -> SubscriptionInfo:
    """Create, change or resume the weekly digest of a channel (defaults: the command's channel,
    Monday 09:00, the invoker's time zone). The new schedule takes effect now: a run it would
    have had earlier this week is not sent late."""
    channel_id = args.channel_id or invoked_in
    tz = args.timezone or default_tz or DEFAULT_TZ
    validate_zone(tz)
    weekday = DEFAULT_WEEKDAY if args.weekday is None else args.weekday
    at = args.local_time or DEFAULT_TIME
    with unit_of_work(factory) as s:
        ws = services.slack_workspace(s, team_id, single_workspace=single_workspace)
        product = _target_product(s, ws, channel_id, invoked_in)
        sub = s.scalar(select(DigestSubscription).where(DigestSubscription.product_id == product.id,
                                                        DigestSubscription.channel_id == channel_id))
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
        ws = services.slack_workspace(s, team_id, single_workspace=single_workspace)
        rows = s.execute(select(DigestSubscription, Product).join(Product, Product.id == DigestSubscription.product_id)
                         .where(DigestSubscription.workspace_id == ws.id, DigestSubscription.channel_id == channel_id,
                                DigestSubscription.active.is_(True))).all()
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
        ws = repo.find_workspace(s, team_id)
        if ws is None and single_workspace:
            ws = repo.find_workspace(s, repo.LOCAL_TEAM)
        if ws is None:
            return []
        rows = s.execute(select(DigestSubscription, Product).join(Product, Product.id == DigestSubscription.product_id)
                         .where(DigestSubscription.workspace_id == ws.id)
                         .order_by(Product.slug, DigestSubscription.channel_id)).all()
        return [_info(s, sub, p, now) for sub, p in rows
                if sub.active or not (sub.paused_reason or "").startswith("turned off")]


def product_for_channel(factory: Factory, *, team_id: str, single_workspace: bool, channel_id: str,
                        invoked_in: str | None = None) -> ProductRef:
    with unit_of_work(factory) as s:
        ws = services.slack_workspace(s, team_id, single_workspace=single_workspace)
        return _target_product(s, ws, channel_id, invoked_in or channel_id)


def product_by_slug(factory: Factory, *, team_id: str, single_workspace: bool, slug: str) -> ProductRef:
    with unit_of_work(factory) as s:
        ws = services.slack_workspace(s, team_id, single_workspace=single_workspace)
        return services.load_product(s, ws, slug)


# =============================================================================== claiming


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return pg_insert if is_postgres(session) else sqlite_insert


def plan_due(factory: Factory, *, now: datetime, chunk: int = 500) -> PlanResult:
    """Insert the claim row of every run that is due and has none yet (idempotent, safe to run
    in several processes at once: ``ON CONFLICT DO NOTHING``). Runs missed by more than
    ``MISSED_AFTER`` are recorded as skipped instead; runs due before the schedule took effect
    are ignored. Claimed rows are immediately available (``lease_until = now``) to
    ``claim_next`` in any process."""
    with unit_of_work(factory) as s:
        subs = s.execute(select(DigestSubscription.id, DigestSubscription.weekday, DigestSubscription.local_time,
                                DigestSubscription.timezone, DigestSubscription.effective_from)
                         .where(DigestSubscription.active.is_(True))).all()
        candidates: list[dict[str, Any]] = []
        for sub_id, weekday, local_time, tz, effective_from in subs:
            try:
                hh, mm = local_time.split(":")
                occ = latest_due(Schedule(weekday, time(int(hh), int(mm)), tz), now)
            except (ValueError, ZoneInfoNotFoundError):
                continue  # validated on write; a hand-edited row must not stop every digest
            if occ.due_at < effective_from:
                continue
            missed = now - occ.due_at > MISSED_AFTER
            candidates.append({
                "subscription_id": sub_id, "period": occ.period, "due_at": occ.due_at,
                "status": "skipped" if missed else "claimed", "attempts": 0, "claimed_by": None,
                "lease_until": None if missed else now, "late": now - occ.due_at > LATE_AFTER,
                "claimed_at": now,
                "error": "missed: no clock ran within 24 h of the due time" if missed else None,
            })
        if not candidates:
            return PlanResult(0, 0)
        # Most ticks find every due row already there: skip them before writing.
        oldest = min(c["period"] for c in candidates)
        existing = {tuple(r) for r in s.execute(select(DigestDelivery.subscription_id, DigestDelivery.period)
                                 .where(DigestDelivery.period >= oldest)).all()}
        fresh = [c for c in candidates if (c["subscription_id"], c["period"]) not in existing]
        claimed = skipped = 0
        insert = _insert(s)
        for i in range(0, len(fresh), chunk):
            stmt = (insert(DigestDelivery).values(fresh[i:i + chunk])
                    .on_conflict_do_nothing(index_elements=["subscription_id", "period"])
                    # RETURNING, not rowcount: psycopg's rowcount is unreliable with ON CONFLICT.
                    .returning(DigestDelivery.status))
            for (status,) in s.execute(stmt):
                if status == "skipped":
                    skipped += 1
                else:
                    claimed += 1
        return PlanResult(claimed, skipped)


def claim_next(factory: Factory, *, now: datetime, worker: str, limit: int = 1) -> list[int]:
    """Take the lease of up to ``limit`` unfinished deliveries whose lease has run out (new
    claims, backed-off retries, and the work of a process that crashed), oldest due first."""
    with unit_of_work(factory) as s:
        d = aliased(DigestDelivery)
        pick = (select(d.id).where(d.status.in_(OPEN_STATUSES), d.lease_until <= now)
                .order_by(d.due_at, d.id).limit(limit))
        if is_postgres(s):
            # Lock the picked rows first; concurrent claimers skip them instead of queueing. (A
            # ``WHERE id IN (… FOR UPDATE SKIP LOCKED LIMIT n)`` may be re-run per row by the
            # planner and claim far more than n rows.)
            ids = list(s.scalars(pick.with_for_update(skip_locked=True)))
            if not ids:
                return []
            target: Any = DigestDelivery.id.in_(ids)
        else:
            # SQLite runs one writer at a time: a single UPDATE picks and claims atomically.
            target = DigestDelivery.id.in_(pick.scalar_subquery())
        stmt = (update(DigestDelivery)
                .where(target, DigestDelivery.status.in_(OPEN_STATUSES), DigestDelivery.lease_until <= now)
                .values(claimed_by=worker, lease_until=now + LEASE)
                .returning(DigestDelivery.id)
                .execution_options(synchronize_session=False))
        return sorted(int(i) for (i,) in s.execute(stmt))


def _fenced(job_id: int, worker: str) -> Any:
    """WHERE clause of every write a lease holder makes: still mine, still unfinished."""
    return (DigestDelivery.id == job_id, DigestDelivery.claimed_by == worker,
            DigestDelivery.status.in_(OPEN_STATUSES))


def load_job(factory: Factory, *, delivery_id: int, worker: str) -> DeliveryJob | None:
    """The delivery with its subscription and product, if ``worker`` still holds it."""
    with unit_of_work(factory) as s:
        row = s.execute(
            select(DigestDelivery, DigestSubscription, Product, Workspace.team_id)
            .join(DigestSubscription, DigestSubscription.id == DigestDelivery.subscription_id)
            .join(Product, Product.id == DigestSubscription.product_id)
            .join(Workspace, Workspace.id == DigestSubscription.workspace_id)
            .where(*_fenced(delivery_id, worker))
        ).first()
        if row is None:
            return None
        d, sub, p, team_id = row
        return DeliveryJob(
            id=d.id, worker=worker, subscription_id=sub.id, team_id=team_id, channel_id=sub.channel_id,
            created_by=sub.created_by, product=product_ref(p, team_id), schedule=_schedule(sub),
            subscription_active=sub.active, status=d.status, attempts=d.attempts, period=d.period,
            due_at=d.due_at, claimed_at=d.claimed_at, late=d.late,
        )


def begin_send(factory: Factory, job: DeliveryJob, *, now: datetime) -> bool:
    """Just before posting: ``sending`` (from now on the post may be in Slack), one more
    attempt, a fresh lease. False if the lease was lost (another process took over)."""
    with unit_of_work(factory) as s:
        res = s.execute(update(DigestDelivery).where(*_fenced(job.id, job.worker))
                        .values(status="sending", attempts=DigestDelivery.attempts + 1, lease_until=now + LEASE)
                        .returning(DigestDelivery.id).execution_options(synchronize_session=False))
        return res.first() is not None


def renew_lease(factory: Factory, job: DeliveryJob, *, now: datetime) -> bool:
    with unit_of_work(factory) as s:
        res = s.execute(update(DigestDelivery).where(*_fenced(job.id, job.worker))
                        .values(lease_until=now + LEASE)
                        .returning(DigestDelivery.id).execution_options(synchronize_session=False))
        return res.first() is not None


def record_sent(factory: Factory, job: DeliveryJob, *, message_ts: str, now: datetime) -> bool:
    """The digest is in the channel: the week is done, the subscription is healthy again."""
    with unit_of_work(factory) as s:
        res = s.execute(update(DigestDelivery).where(*_fenced(job.id, job.worker))
                        .values(status="sent", message_ts=message_ts, sent_at=now, lease_until=None, error=None)
                        .returning(DigestDelivery.id).execution_options(synchronize_session=False))
        if res.first() is None:
            return False
        s.execute(update(DigestSubscription).where(DigestSubscription.id == job.subscription_id)
                  .values(last_delivered_at=now, consecutive_failures=0, last_error=None, last_error_at=None,
                          error_notified=False))
        return True


def record_chart(factory: Factory, *, delivery_id: int, file_id: str | None, error: str | None) -> None:
    """The chart is best effort after the message; its outcome is kept for ``digest list``."""
    with unit_of_work(factory) as s:
        values: dict[str, Any] = {"file_id": file_id}
        if error:
            values["error"] = f"chart: {error}"[:200]
        s.execute(update(DigestDelivery).where(DigestDelivery.id == delivery_id).values(**values)
                  .execution_options(synchronize_session=False))


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    return RETRY_BACKOFF[min(max(attempts - 1, 0), len(RETRY_BACKOFF) - 1)]


def record_retry(factory: Factory, job: DeliveryJob, *, now: datetime, error: str, ambiguous: bool,
                 retry_after: float | None = None) -> bool:
    """A transient failure: try again after a backoff. ``ambiguous`` keeps the row in
    ``sending`` (the post may be in Slack, the next attempt reconciles first); otherwise it goes
    back to ``claimed``. ``job.attempts`` (attempts made, this one included: posts, and failed
    look-ups for an earlier post) is stored so the backoff grows and the attempts run out.
    False when the lease was lost."""
    wait = backoff(job.attempts)
    if retry_after:
        wait = max(wait, timedelta(seconds=retry_after))
    with unit_of_work(factory) as s:
        res = s.execute(update(DigestDelivery).where(*_fenced(job.id, job.worker))
                        .values(status="sending" if ambiguous else "claimed", lease_until=now + wait,
                                error=error[:200], attempts=job.attempts)
                        .returning(DigestDelivery.id).execution_options(synchronize_session=False))
        return res.first() is not None


def attempts_exhausted(job: DeliveryJob, *, now: datetime, attempts: int | None = None) -> bool:
    """No attempt left: ``MAX_ATTEMPTS`` made, or the next would come after the 24 h window."""
    n = job.attempts if attempts is None else attempts
    return n >= MAX_ATTEMPTS or now + backoff(n) > job.due_at + MISSED_AFTER


def record_skipped(factory: Factory, job: DeliveryJob, *, reason: str) -> bool:
    """Not sent and never will be (subscription off, or too late): not a failure."""
    with unit_of_work(factory) as s:
        res = s.execute(update(DigestDelivery).where(*_fenced(job.id, job.worker))
                        .values(status="skipped", lease_until=None, error=reason[:200])
                        .returning(DigestDelivery.id).execution_options(synchronize_session=False))
        return res.first() is not None


def record_failure(factory: Factory, job: DeliveryJob, *, now: datetime, error: str,
                   pause_now: bool = False) -> FailureOutcome | None:
    """This week's digest failed for good: record it on the delivery and the subscription (shown
    by ``digest list``), pause the subscription when the failure cannot heal by itself or after
    ``PAUSE_AFTER_FAILED_WEEKS`` weeks in a row, and say whom to tell (once per run of failures).
    None when the lease was lost."""
    with unit_of_work(factory) as s:
        res = s.execute(update(DigestDelivery).where(*_fenced(job.id, job.worker))
                        .values(status="failed", lease_until=None, error=error[:200])
                        .returning(DigestDelivery.id).execution_options(synchronize_session=False))
        if res.first() is None:
            return None
        sub = s.get(DigestSubscription, job.subscription_id, with_for_update=is_postgres(s))
        assert sub is not None
        sub.consecutive_failures += 1
        sub.last_error, sub.last_error_at = error[:200], now
        paused = pause_now or sub.consecutive_failures >= PAUSE_AFTER_FAILED_WEEKS
        if paused and sub.active:
            sub.active = False
            sub.paused_reason = (f"paused after {sub.consecutive_failures} failed weeks: {error}" if not pause_now
                                 else f"paused: {error}")[:200]
        notify = None if sub.error_notified else sub.created_by
        sub.error_notified = True
        return FailureOutcome(notify_user=notify, paused=paused, consecutive_failures=sub.consecutive_failures)


# =============================================================================== content


def report_week(product: ProductRef, at: datetime) -> int:
    """The last complete week (product time zone) at instant ``at``."""
    return last_complete_week(services.today_in(product.settings.timezone, at))


def _week_bounds(product: ProductRef, week: int) -> tuple[datetime, datetime]:
    zone = ZoneInfo(product.settings.timezone)
    start = datetime.combine(week_start(week), time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(week_start(week + 1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def week_activity(session: Session, product: ProductRef, week: int) -> WeekActivity:
    active = session.scalar(select(func.count()).select_from(ActivityWeek)
                            .join(ProductUser, ProductUser.id == ActivityWeek.user_id)
                            .where(ProductUser.product_id == product.id, ActivityWeek.week == week)) or 0
    signups = session.scalar(select(func.count()).select_from(ProductUser)
                             .where(ProductUser.product_id == product.id, ProductUser.signup_week == week)) or 0
    start, end = _week_bounds(product, week)
    responses = session.scalar(select(func.count()).select_from(SurveyResponse)
                               .where(SurveyResponse.product_id == product.id, SurveyResponse.answered_at >= start,
                                      SurveyResponse.answered_at < end)) or 0
    return WeekActivity(int(active), int(signups), int(responses))


def snapshot_report(session: Session, product: ProductRef, week: int) -> tuple[GateReport, WeekActivity]:
    """The report for complete week ``week`` (as of the Monday that ends it), stored once in
    ``weekly_snapshots`` and reused by every channel, process and later week."""
    row = repo.get_snapshot(session, product.id, week)
    if row is not None and isinstance(row.report, dict) and "full" in row.report:
        act = row.report.get("activity") or {}
        return decode_report(row.report["full"]), WeekActivity(int(act.get("active_users", 0)),
                                                               int(act.get("signups", 0)),
                                                               int(act.get("responses", 0)))
    as_of = week_start(week + 1)
    report = services.compute_report(session, product, as_of)
    activity = week_activity(session, product, week)
    payload = {"schema": 1, "json": report.to_json(), "full": encode_report(report),
               "activity": dataclasses.asdict(activity)}
    if row is None:
        try:
            repo.save_snapshot(session, product.id, week, as_of, payload)
        except IntegrityError:
            pass  # another process stored the same week meanwhile: same data, same figures
    return report, activity


def open_surveys(session: Session, product_id: int) -> tuple[OpenSurvey, ...]:
    rows = session.scalars(select(Survey).where(Survey.product_id == product_id, Survey.closed_at.is_(None))
                           .order_by(Survey.closes_at)).all()
    return tuple(OpenSurvey(r.channel_id, r.response_count, r.closes_at, r.anonymous) for r in rows)


def digest_content(factory: Factory, *, product: ProductRef, week: int) -> DigestContent:
    """The figures of one product's digest for a week: this week's report, last week's (for
    the change), what arrived during the week, and the surveys still open."""
    with unit_of_work(factory) as s:
        report, activity = snapshot_report(s, product, week)
        previous, _ = snapshot_report(s, product, week - 1)
        return DigestContent(product=product, week=week, report=report, previous=previous, activity=activity,
                             open_surveys=open_surveys(s, product.id))
