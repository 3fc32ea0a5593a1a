"""Exactly-once delivery of weekly digests, in the database.

Exactly-once rests on one row per (subscription, week) in ``digest_deliveries``, inserted with
``ON CONFLICT DO NOTHING … RETURNING``; a process works on a row only while it holds its lease
(``claimed_by``/``lease_until``, taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and every
state change is fenced on that lease, so a process that lost it can no longer record anything.
A row in ``sending`` may already be in Slack: the sender (``bot.digests.runner``) reconciles it
before posting again. No Slack calls here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfoNotFoundError

from bot.digests.schedule import Schedule, latest_due
from bot.digests.service import Factory, _schedule
from bot.digests.values import DeliveryJob, FailureOutcome, PlanResult
from bot.slack import retry
from storage.db import unit_of_work
from storage.repositories import digest_deliveries as delivery_repo
from storage.repositories.products import product_ref

# A run claimed this long after it was due says so ("This digest is late").
LATE_AFTER = timedelta(minutes=15)
# How long a claimer owns a delivery. Longer than one send can take (client timeouts × retries),
# short enough that a crashed process's digest is still on time-ish.
LEASE = timedelta(minutes=10)
# Weeks in a row a subscription may fail before it is paused.
PAUSE_AFTER_FAILED_WEEKS = 3

Status = Literal["claimed", "sending", "sent", "failed", "skipped"]
OPEN_STATUSES: tuple[str, ...] = delivery_repo.OPEN_STATUSES

# =============================================================================== claiming


def window_text() -> str:
    """``retry.DIGEST_WINDOW`` as the messages say it ("24 h")."""
    return f"{retry.DIGEST_WINDOW / timedelta(hours=1):g} h"


def plan_due(factory: Factory, *, now: datetime, chunk: int = 500) -> PlanResult:
    """Insert the claim row of every run that is due and has none yet (idempotent, safe to run
    in several processes at once: ``ON CONFLICT DO NOTHING``). Runs missed by more than
    ``retry.DIGEST_WINDOW`` are recorded as skipped instead; runs due before the schedule took effect
    are ignored. Claimed rows are immediately available (``lease_until = now``) to
    ``claim_next`` in any process."""
    with unit_of_work(factory) as s:
        subs = delivery_repo.active_schedules(s)
        candidates: list[dict[str, Any]] = []
        for sub_id, weekday, local_time, tz, effective_from in subs:
            try:
                occ = latest_due(Schedule.stored(weekday, local_time, tz), now)
            except (ValueError, ZoneInfoNotFoundError):
                continue  # validated on write; a hand-edited row must not stop every digest
            if occ.due_at < effective_from:
                continue
            missed = now - occ.due_at > retry.DIGEST_WINDOW
            candidates.append({
                "subscription_id": sub_id, "period": occ.period, "due_at": occ.due_at,
                "status": "skipped" if missed else "claimed", "attempts": 0, "claimed_by": None,
                "lease_until": None if missed else now, "late": now - occ.due_at > LATE_AFTER,
                "claimed_at": now,
                "error": f"missed: no clock ran within {window_text()} of the due time" if missed else None,
            })
        if not candidates:
            return PlanResult(0, 0)
        # Most ticks find every due row already there: skip them before writing.
        oldest = min(c["period"] for c in candidates)
        existing = delivery_repo.delivery_keys_since(s, period=oldest)
        fresh = [c for c in candidates if (c["subscription_id"], c["period"]) not in existing]
        claimed = skipped = 0
        for i in range(0, len(fresh), chunk):
            for status in delivery_repo.insert_deliveries(s, fresh[i:i + chunk]):
                if status == "skipped":
                    skipped += 1
                else:
                    claimed += 1
        return PlanResult(claimed, skipped)


# A procrastinate worker with no heartbeat for this long is dead: its digests are taken over at
# once (bot.jobs.pg: heartbeats every 5 s), so a digest whose claimant died is re-delivered at the
# next tick (30 s) instead of after LEASE.
DEAD_HOLDER_SECONDS = 20.0


def claim_next(factory: Factory, *, now: datetime, worker: str, limit: int = 1) -> list[int]:
    """Take the lease of up to ``limit`` unfinished deliveries whose lease has run out (new
    claims, backed-off retries, and the work of a process that crashed), oldest due first. A
    holder that is a procrastinate worker (``pq:<id>``) — as ``worker`` is under ``pmfbot
    worker`` — loses its leases as soon as it stops heartbeating."""
    with unit_of_work(factory) as s:
        dead = (delivery_repo.dead_queue_holders(s, stale_seconds=DEAD_HOLDER_SECONDS)
                if worker.startswith(delivery_repo.QUEUE_HOLDER) else [])
        return delivery_repo.claim_deliveries(s, now=now, worker=worker, limit=limit, lease_until=now + LEASE,
                                              dead_holders=dead)


def take_orphan_charts(factory: Factory, *, now: datetime, worker: str) -> list[int]:
    """Digests in their channel whose chart never followed because the procrastinate worker that
    sent them died (its chart upload is a step of its own): ``worker`` takes them, once each."""
    if not worker.startswith(delivery_repo.QUEUE_HOLDER):
        return []
    with unit_of_work(factory) as s:
        dead = delivery_repo.dead_queue_holders(s, stale_seconds=DEAD_HOLDER_SECONDS, statuses=("sent",))
        return delivery_repo.take_orphan_charts(s, worker=worker, dead_holders=dead, since=now - retry.DIGEST_WINDOW)


def load_job(factory: Factory, *, delivery_id: int, worker: str, sent: bool = False) -> DeliveryJob | None:
    """The delivery with its subscription and product, if ``worker`` still holds it (``sent``:
    a delivered one whose chart it took over)."""
    with unit_of_work(factory) as s:
        row = delivery_repo.fenced_job(s, delivery_id=delivery_id, worker=worker,
                                       statuses=("sent",) if sent else delivery_repo.OPEN_STATUSES)
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
        return delivery_repo.begin_send(s, delivery_id=job.id, worker=job.worker, lease_until=now + LEASE)


def renew_lease(factory: Factory, job: DeliveryJob, *, now: datetime) -> bool:
    with unit_of_work(factory) as s:
        return delivery_repo.update_fenced(s, delivery_id=job.id, worker=job.worker,
                                           values={"lease_until": now + LEASE})


def record_sent(factory: Factory, job: DeliveryJob, *, message_ts: str, now: datetime) -> bool:
    """The digest is in the channel: the week is done, the subscription is healthy again."""
    with unit_of_work(factory) as s:
        if not delivery_repo.update_fenced(s, delivery_id=job.id, worker=job.worker,
                                           values={"status": "sent", "message_ts": message_ts, "sent_at": now,
                                                   "lease_until": None, "error": None}):
            return False
        delivery_repo.mark_subscription_delivered(s, subscription_id=job.subscription_id, now=now)
        return True


def record_chart(factory: Factory, *, delivery_id: int, file_id: str | None, error: str | None) -> None:
    """The chart is best effort after the message; its outcome is kept for ``digest list``."""
    with unit_of_work(factory) as s:
        values: dict[str, Any] = {"file_id": file_id}
        if error:
            values["error"] = f"chart: {error}"[:200]
        delivery_repo.set_delivery_values(s, delivery_id=delivery_id, values=values)


def record_retry(factory: Factory, job: DeliveryJob, *, now: datetime, error: str, ambiguous: bool,
                 retry_after: float | None = None) -> bool:
    """A transient failure: try again after the wait of ``retry.DIGEST_DELIVERY`` (at least
    Slack's ``retry_after``). ``ambiguous`` keeps the row in ``sending`` (the post may be in
    Slack, the next attempt reconciles first); otherwise it goes back to ``claimed``.
    ``job.attempts`` (attempts made, this one included: posts, and failed look-ups for an earlier
    post) is stored so the wait grows and the attempts run out. False when the lease was lost."""
    wait = retry.DIGEST_DELIVERY.wait(job.attempts, retry_after)
    with unit_of_work(factory) as s:
        return delivery_repo.update_fenced(s, delivery_id=job.id, worker=job.worker,
                                           values={"status": "sending" if ambiguous else "claimed",
                                                   "lease_until": now + wait, "error": error[:200],
                                                   "attempts": job.attempts})


def attempts_exhausted(job: DeliveryJob, *, now: datetime, attempts: int | None = None) -> bool:
    """No attempt left under ``retry.DIGEST_DELIVERY``: all made, or the next would come after
    its give-up window after the due time (``retry.DIGEST_WINDOW``)."""
    n = job.attempts if attempts is None else attempts
    return retry.DIGEST_DELIVERY.exhausted(n, since_due=now - job.due_at)


def record_skipped(factory: Factory, job: DeliveryJob, *, reason: str) -> bool:
    """Not sent and never will be (subscription off, or too late): not a failure."""
    with unit_of_work(factory) as s:
        return delivery_repo.update_fenced(s, delivery_id=job.id, worker=job.worker,
                                           values={"status": "skipped", "lease_until": None, "error": reason[:200]})


def record_failure(factory: Factory, job: DeliveryJob, *, now: datetime, error: str,
                   pause_now: bool = False) -> FailureOutcome | None:
    """This week's digest failed for good: record it on the delivery and the subscription (shown
    by ``digest list``), pause the subscription when the failure cannot heal by itself or after
    ``PAUSE_AFTER_FAILED_WEEKS`` weeks in a row, and say whom to tell (once per run of failures).
    None when the lease was lost."""
    with unit_of_work(factory) as s:
        if not delivery_repo.update_fenced(s, delivery_id=job.id, worker=job.worker,
                                           values={"status": "failed", "lease_until": None, "error": error[:200]}):
            return None
        sub = delivery_repo.lock_subscription(s, job.subscription_id)
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


