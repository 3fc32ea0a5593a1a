"""The Segment-compatible tracking API (SPEC §9): Segment messages into signups and activity.

This module owns the mapping from Segment's HTTP Tracking API shapes to what the bulk writer
stores, and the rules a batch must follow. ``parse_batch`` validates a whole batch (every
message, every error with its path) and reduces each message to a ``Message``: the user, the
``messageId``, the event time corrected for client clock skew as Segment does (``timestamp``,
else ``receivedAt - (sentAt - originalTimestamp)``, else ``originalTimestamp``, else
``receivedAt``), an ``identify``'s ``traits.created_at``/``createdAt`` (or in ``context.traits``,
where RudderStack's libraries put them) and the UTM campaign of
``context.campaign``. Calls with only an ``anonymousId``, and ``alias``/``group`` calls, are
counted and ignored. ``plan`` (pure) turns the messages of one product into signup rows and
(user, week) pairs: an ``identify`` with a creation time is the user's signup at that time; a
user with no signup yet gets one at their first call (so their cohort is that call's week, as
the "no signup known" rule of SPEC §5 gives); every track/page/screen is activity in its week.
``ingest_batch`` writes one batch all or nothing: message ids already taken are reported as
duplicates and skipped (``storage.repositories.segment``), the rest goes through ``BulkWriter`` in one
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.channels import classify_tags, click_id
from bot.domain.matching import MIN_SECRET, email_hash
from bot.domain.settings import ProductSettings
from bot.domain.weeks import week_of
from bot.ingest import jsonbody
from bot.ingest.event_names import named_pairs
from bot.ingest.formats import MAX_YEAR, MIN_YEAR
from storage.bulk import BulkWriter
from storage.db import retry_on_conflict
from storage.event_weeks import recount_event_names, write_event_weeks
from storage.models import Product
from storage.repositories import segment as segment_repo
from storage.repositories.segment import StoredSignup
from storage.staging import SignupRow
from storage.writer import single_writer

Factory = sessionmaker[Session]

MAX_BATCH_BYTES = 500 * 1024  # Segment's limit for a batch, compressed or not
MAX_MESSAGE_BYTES = 32 * 1024  # and for one message
MAX_ERRORS = 50  # errors listed in a 400 reply; the total is always given
MESSAGE_ID_DAYS = 7  # how long a messageId is remembered (Segment dedupes over about a day)
# Times outside [EARLIEST, received + FUTURE_SLACK] are refused: a client clock set to 2999 or 1970
# would otherwise put a user's signup in that year (their first call is their signup).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
ACTIVITY_TYPES = frozenset({"track", "page", "screen"})
IGNORED_TYPES = frozenset({"alias", "group"})
TYPES = ACTIVITY_TYPES | IGNORED_TYPES | {"identify"}


class BatchError(ValueError):
    """A refused batch: ``errors`` are ``{"path", "message"}`` items; nothing was written."""

    def __init__(self, errors: list[dict[str, str]], total: int | None = None) -> None:
        self.errors = errors[:MAX_ERRORS]
        self.total = len(errors) if total is None else total
        shown = "; ".join(f"{e['path'] or 'body'}: {e['message']}" for e in self.errors[:5])
        more = f" (and {self.total - 5} more)" if self.total > 5 else ""
        super().__init__(f"{self.total} error(s), nothing was written: {shown}{more}")


@dataclass(frozen=True)
class Message:
    """One identified call, reduced to what PMF Gate keeps."""

    type: str
    user_id: str
    message_id: str | None
    at: datetime  # event time, skew-corrected, UTC
    created_at: datetime | None = None  # identify's traits.created_at / createdAt
    campaign: tuple[str, str, str] | None = None  # (utm source, utm medium, ad click id or "")
    email: str | None = None  # identify's traits.email: only ever hashed (bot.domain.matching)
    event: str = ""  # a track's event name; "page" / "screen" for those (retention.active_events)


@dataclass
class Batch:
    received: int = 0
    messages: list[Message] = field(default_factory=list)
    anonymous: int = 0  # only an anonymousId: accepted and ignored
    ignored: int = 0  # alias and group calls


# ----------------------------------------------------------------------------- parsing
def _instant(value: Any, path: str, errors: list[dict[str, str]], latest: datetime | None) -> datetime | None:
    """An ISO 8601 timestamp (naive = UTC) as an aware UTC datetime; None when absent. ``latest``
    None: a client clock (``sentAt``, ``originalTimestamp``), which may be off by any amount since
    the skew correction undoes it; only the years 1970-2999 are required, so the correction
    cannot overflow, and the corrected time is checked instead."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.append({"path": path, "message": "must be an ISO 8601 timestamp string"})
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        errors.append({"path": path, "message": f"{value[:40]!r} is not an ISO 8601 timestamp"})
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return _in_range(dt.astimezone(UTC), path, errors, latest)


def _in_range(dt: datetime, path: str, errors: list[dict[str, str]], latest: datetime | None) -> datetime | None:
    if latest is None:
        if not MIN_YEAR <= dt.year <= MAX_YEAR:
            errors.append({"path": path, "message": f"{dt.isoformat()} is outside the years {MIN_YEAR}-{MAX_YEAR}"})
            return None
        return dt
    if dt < EARLIEST:
        errors.append({"path": path, "message": f"{dt.isoformat()} is before {EARLIEST.date().isoformat()}"})
        return None
    if dt > latest:
        errors.append({"path": path, "message": f"{dt.isoformat()} is more than a day in the future "
                                                f"(received at {(latest - FUTURE_SLACK).isoformat()})"})
        return None
    return dt


def _created_at(value: Any, path: str, errors: list[dict[str, str]], latest: datetime) -> datetime | None:
    """A creation time: ISO 8601, or Unix seconds (milliseconds above 1e11), as CRMs send it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = value / 1000 if value > 1e11 else value
            return _in_range(datetime.fromtimestamp(seconds, UTC), path, errors, latest)
        except (OverflowError, OSError, ValueError):
            errors.append({"path": path, "message": f"{value!r} is not a Unix time"})
            return None
    return _instant(value, path, errors, latest)


def _identity(value: Any, path: str, errors: list[dict[str, str]]) -> str | None:
    """A userId/anonymousId/messageId as text (Segment allows numbers); None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append({"path": path, "message": "must be a string"})
        return None
    text = str(value).strip()
    if len(text) > 255:
        errors.append({"path": path, "message": "is longer than 255 characters"})
        return None
    return text or None


def event_time(timestamp: datetime | None, original: datetime | None, sent_at: datetime | None,
               received_at: datetime) -> datetime:
    """Segment's event time: ``timestamp`` as given; else the client's ``originalTimestamp``
    moved by the client clock's error, ``receivedAt - (sentAt - originalTimestamp)``; else
    ``originalTimestamp``; else when the server received it."""
    if timestamp is not None:
        return timestamp
    if original is not None:
        return received_at - (sent_at - original) if sent_at is not None else original
    return received_at


def _campaign(context: Any) -> tuple[str, str, str] | None:
    """(utm source, utm medium, ad click id) of ``context.campaign`` and ``context.page`` (its
    ``url``, ``search`` and ``referrer``: auto-tagged ads carry only a click id), or None."""
    if not isinstance(context, dict):
        return None
    campaign = context.get("campaign")
    campaign = campaign if isinstance(campaign, dict) else {}
    page = context.get("page")
    page = page if isinstance(page, dict) else {}
    source, medium = (campaign.get(k) for k in ("source", "medium"))
    source = source.strip()[:100] if isinstance(source, str) else ""
    medium = medium.strip()[:100] if isinstance(medium, str) else ""
    # A click id may also arrive as a campaign property (some libraries copy every URL parameter).
    in_campaign = "&".join(f"{k}={v}" for k, v in campaign.items() if isinstance(k, str) and isinstance(v, str))
    click = click_id((page.get("url"), page.get("search"), page.get("referrer"), in_campaign)) or ""
    return (source, medium, click) if source or medium or click else None


def _message(raw: Any, where: str, kind: str | None, sent_at: datetime | None, received_at: datetime,
             batch: Batch, errors: list[dict[str, str]]) -> None:
    if not isinstance(raw, dict):
        errors.append({"path": where, "message": "each message must be a JSON object"})
        return
    size = len(json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        errors.append({"path": where, "message": f"message of {size:,} bytes; at most {MAX_MESSAGE_BYTES:,}"})
        return
    typ = kind or raw.get("type")
    if not isinstance(typ, str) or typ not in TYPES:
        shown = typ if isinstance(typ, str) else json.dumps(typ)
        errors.append({"path": f"{where}.type", "message": f"type {shown[:40]!r} is not one of "
                                                           "identify, track, page, screen, alias, group"})
        return
    if typ in IGNORED_TYPES:
        batch.ignored += 1
        return
    before = len(errors)
    latest = received_at + FUTURE_SLACK
    user = _identity(raw.get("userId"), f"{where}.userId", errors)
    anonymous = _identity(raw.get("anonymousId"), f"{where}.anonymousId", errors)
    message_id = _identity(raw.get("messageId"), f"{where}.messageId", errors)
    timestamp = _instant(raw.get("timestamp"), f"{where}.timestamp", errors, latest)
    original = _instant(raw.get("originalTimestamp"), f"{where}.originalTimestamp", errors, None)
    own_sent = _instant(raw.get("sentAt"), f"{where}.sentAt", errors, None)
    created = None
    if typ == "identify":
        context = raw.get("context")
        # RudderStack's libraries send an identify's traits only in context.traits.
        for path, traits in ((f"{where}.traits", raw.get("traits")),
                             (f"{where}.context.traits", context.get("traits") if isinstance(context, dict) else None)):
            if traits is not None and not isinstance(traits, dict):
                errors.append({"path": path, "message": "traits must be an object"})
                break
            key = next((k for k in ("created_at", "createdAt") if (traits or {}).get(k) not in (None, "")), None)
            if key is not None:
                assert traits is not None
                created = _created_at(traits[key], f"{path}.{key}", errors, latest)
                break
    email = None
    if typ == "identify":
        context = raw.get("context")
        for traits in (raw.get("traits"), context.get("traits") if isinstance(context, dict) else None):
            if isinstance(traits, dict) and isinstance(traits.get("email"), str) and traits["email"].strip():
                email = traits["email"]
                break
    if user is None and anonymous is None and len(errors) == before:
        errors.append({"path": where, "message": "userId or anonymousId is required"})
    if len(errors) > before:
        return
    if user is None:
        batch.anonymous += 1
        return
    at = _in_range(event_time(timestamp, original, own_sent or sent_at, received_at), f"{where}.timestamp", errors,
                   latest)
    if at is None:
        return
    name = raw.get("event") if typ == "track" else typ
    event = name.strip()[:200] if isinstance(name, str) else ""
    batch.messages.append(Message(typ, user, message_id, at, created, _campaign(raw.get("context")), email, event))


def parse_batch(body: Any, *, kind: str | None, received_at: datetime) -> Batch:
    """Validate a request body: ``{"batch": [...], "sentAt"?}`` for ``/v1/batch`` (``kind``
    None), or one message for ``/v1/<kind>``. Raises ``BatchError`` listing every problem.

    ``/v1/batch`` also takes what webhook destinations post (Segment's and RudderStack's
    Webhooks, Jitsu's): one message with its own ``type``, or a JSON array of messages."""
    # NUL, lone surrogates and depth anywhere in the body, keys included (bot.ingest.jsonbody).
    errors: list[dict[str, str]] = jsonbody.problems(body)
    if errors:
        raise BatchError(errors)
    batch = Batch()
    if kind is None and isinstance(body, list):
        body = {"batch": body}
    elif kind is None and isinstance(body, dict) and "batch" not in body and "type" in body:
        body = {"batch": [body]}
    if not isinstance(body, dict):
        raise BatchError([{"path": "", "message": "the body must be a JSON object"}])
    if kind is not None:
        batch.received = 1
        _message(body, "", kind, None, received_at, batch, errors)
    else:
        items = body.get("batch")
        if not isinstance(items, list):
            raise BatchError([{"path": "batch", "message": "batch must be a list of messages"}])
        sent_at = _instant(body.get("sentAt"), "sentAt", errors, None)
        batch.received = len(items)
        for n, item in enumerate(items):
            _message(item, f"batch[{n}]", None, sent_at, received_at, batch, errors)
    if errors:
        raise BatchError(errors)
    return batch


# ----------------------------------------------------------------------------- mapping
@dataclass
class Plan:
    signups: list[SignupRow]
    pairs: set[tuple[str, int]]
    emails: dict[str, str] = field(default_factory=dict)  # user → address of their last identify
    named: set[tuple[str, int, str]] = field(default_factory=set)  # (user, week, event name)


def _channel(campaign: tuple[str, str, str] | None, channel_map: Mapping[str, str]) -> StoredSignup:
    """The label, class and key of a signup's UTM tags and click id, as ``pmfbot import signups``
    does for ``utm_source,utm_medium,landing_url`` (no tags: direct traffic)."""
    source, medium, click = (*campaign, "")[:3] if campaign else ("", "", "")
    label = " / ".join(p for p in (source, medium) if p) or None
    tagged = classify_tags(None, source, medium, channel_map, click=click or None)
    return StoredSignup(label, tagged.cls, tagged.key)


def _signup(uid: str, at: datetime, tz: ZoneInfo, channel: StoredSignup) -> SignupRow:
    assert channel.channel_class is not None
    return SignupRow(uid, week_of(at, tz), at, channel=channel.channel, channel_class=channel.channel_class,
                     channel_key=channel.channel_key)


def plan(messages: Iterable[Message], *, existing: Mapping[str, StoredSignup],
         settings: ProductSettings) -> Plan:
    """Signup rows and (user, week) pairs for ``messages`` of one product.

    ``existing`` maps the product's known users to their signup's channel, all None for a user
    known without a signup (from events: their cohort is already their first active
    week). An identify's creation time sets the signup (the last such identify in the batch
    wins), with that identify's campaign, else the user's first campaign in the batch, else the
    stored channel. A user not known at all gets a signup at their first call, with the first
    campaign seen. Every track/page/screen is activity in the week of its event time."""
    tz = ZoneInfo(settings.timezone)
    channel_map = settings.channel_map
    first: dict[str, datetime] = {}
    first_campaign: dict[str, tuple[datetime, tuple[str, str, str]]] = {}
    explicit: dict[str, Message] = {}
    pairs: set[tuple[str, int]] = set()
    named: set[tuple[str, int, str]] = set()
    emails: dict[str, str] = {}
    for m in messages:
        uid = m.user_id
        if m.email is not None:
            emails[uid] = m.email
        if uid not in first or m.at < first[uid]:
            first[uid] = m.at
        if m.campaign is not None and (uid not in first_campaign or m.at < first_campaign[uid][0]):
            first_campaign[uid] = (m.at, m.campaign)
        if m.created_at is not None:
            explicit[uid] = m
        if m.type in ACTIVITY_TYPES:
            pairs.add((uid, week_of(m.at, tz)))
            named.add((uid, week_of(m.at, tz), m.event))
    signups: list[SignupRow] = []
    for uid, at in first.items():
        seen = first_campaign.get(uid)
        campaign = seen[1] if seen else None
        if uid in explicit:
            m = explicit[uid]
            assert m.created_at is not None
            stored = existing.get(uid, StoredSignup())
            keep = m.campaign is None and campaign is None and stored.channel_class is not None
            signups.append(_signup(uid, m.created_at, tz, stored if keep else _channel(m.campaign or campaign, channel_map)))
        elif uid not in existing:
            signups.append(_signup(uid, at, tz, _channel(campaign, channel_map)))
    return Plan(signups, pairs, emails, named)


# ----------------------------------------------------------------------------- the use case
def ingest_batch(factory: Factory, *, product_id: int, batch: Batch, received_at: datetime,
                 secret: str | None = None) -> dict[str, Any]:
    """Write a validated batch into a product, all or nothing; returns the reply's counts.

    ``duplicates`` counts messages whose ``messageId`` was taken before (by an earlier request,
    within ``MESSAGE_ID_DAYS``, or earlier in this batch); they are not written again. On SQLite
    the write waits its turn behind one writer at a time (``storage.writer``)."""
    fresh: list[Message] = []
    seen: set[str] = set()
    duplicates = 0
    for m in batch.messages:
        if m.message_id is not None:
            if m.message_id in seen:
                duplicates += 1
                continue
            seen.add(m.message_id)
        fresh.append(m)
    def once() -> tuple[list[Message], dict[str, Any]]:
        with factory() as session:
            product = session.get(Product, product_id)
            if product is None:
                raise LookupError(f"product {product_id} no longer exists")
            settings = ProductSettings.from_dict(product.settings)
            with single_writer(session):
                return _write(session, product_id=product_id, settings=settings, fresh=fresh, seen=seen,
                              received_at=received_at, secret=secret)

    # A deadlock or serialization failure is run again a bounded number of times (then a 503).
    fresh, counts = retry_on_conflict(once)
    duplicates += len(seen) - counts.pop("_claimed")
    return {"received": batch.received, "accepted": len(fresh), "duplicates": duplicates,
            "anonymous": batch.anonymous, "ignored": batch.ignored, **counts}


def _write(session: Session, *, product_id: int, settings: ProductSettings, fresh: list[Message], seen: set[str],
           received_at: datetime, secret: str | None) -> tuple[list[Message], dict[str, Any]]:
    """``ingest_batch``'s transaction: claim the message ids, write the messages not seen
    before, commit (or roll back on any error). Returns those messages and the counts."""
    counts: dict[str, Any] = {"new_signups": 0, "changed_signups": 0, "new_user_weeks": 0}
    writer: BulkWriter | None = None
    try:
        taken = segment_repo.claim_message_ids(session, product_id, seen, received_at)
        counts["_claimed"] = len(taken)
        fresh = [m for m in fresh if m.message_id is None or m.message_id in taken]
        segment_repo.forget_message_ids(session, product_id, received_at - timedelta(days=MESSAGE_ID_DAYS))
        if fresh:
            writer = BulkWriter(session, product_id)
            # PostgreSQL: batches sharing users queue on them in one order instead of deadlocking.
            writer.lock_users(m.user_id for m in fresh)
            existing = segment_repo.existing_signups(session, product_id, {m.user_id for m in fresh})
            todo = plan(fresh, existing=existing, settings=settings)
            # Signups first, so that users created by this batch get their signup row at once.
            new, changed, signup_weeks = writer.signups(todo.signups)
            # With event names: the pairs and their names together (storage.event_weeks).
            events = named_pairs(todo.named) if any(e for *_, e in todo.named) else None
            _, event_weeks = writer.events(events if events is not None else todo.pairs)
            if events is not None and events.events is not None:
                write_event_weeks(writer, events.events)
                recount_event_names(writer, events.events.names)
            if todo.emails and secret and len(secret) >= MIN_SECRET:  # without a key, not kept at all
                hashed = ((uid, email_hash(secret, product_id, e)) for uid, e in todo.emails.items())
                writer.email_hashes([(uid, h) for uid, h in hashed if h is not None])
            writer.close()
            counts.update(new_signups=new, changed_signups=changed, new_user_weeks=signup_weeks + event_weeks)
        session.commit()
    except BaseException:
        if writer is not None:
            with suppress(Exception):
                writer.close()
        session.rollback()
        raise
    return fresh, counts
