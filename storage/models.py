"""The schema: typed SQLAlchemy 2.x models for every table the product owns.

Every row hangs off a workspace (directly or through its product), so deleting a workspace
removes all of its data by cascade, and every query can be scoped to one workspace. Activity is
stored compacted: one row per (user, week) the user was active, not one per raw event, so the
table grows with active user-weeks. Week indexes are computed at write time in the product's
timezone (``bot.domain.weeks``), which keeps the cohort SQL identical on SQLite and PostgreSQL.
Datetimes are stored as UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# BigInteger primary keys autoincrement on SQLite only as INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Workspace(Base):
    """A Slack team (``team_id``), or ``local`` for data imported before Slack was connected."""

    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    products: Mapped[list[Product]] = relationship(
        back_populates="workspace", cascade="all, delete-orphan", passive_deletes=True
    )


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    # Only the settings that differ from the defaults (ProductSettings.to_dict()).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    workspace: Mapped[Workspace] = relationship(back_populates="products")


class ChannelBinding(Base):
    """``/pmf-check product use SLUG``: which product a channel talks about."""

    __tablename__ = "channel_bindings"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)


class ProductUser(Base):
    """One end user of a tracked product: their signup (if known) and first active week.

    ``cohort_week`` is ``coalesce(signup_week, first_week)`` (SPEC §5), stored so that cohort sizes
    are an index-only count; the bulk writer (``storage.bulk``) keeps it, and the copy of it on each
    of the user's ``activity_weeks`` rows, current. The signup index covers the organic-share query."""

    __tablename__ = "product_users"
    __table_args__ = (
        UniqueConstraint("product_id", "external_id"),
        Index("ix_product_users_product_signup_channel", "product_id", "signup_week", "channel_class"),
        Index("ix_product_users_product_cohort_week", "product_id", "cohort_week"),
        Index("ix_product_users_product_email_hash", "product_id", "email_hash"),
        # Only the few signups with a channel key (migration 0018): the organic signal counts them.
        Index("ix_product_users_product_signup_key", "product_id", "signup_week", "channel_key",
              sqlite_where=text("channel_key IS NOT NULL"), postgresql_where=text("channel_key IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    signup_week: Mapped[int | None] = mapped_column(Integer)
    signed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(200))
    channel_class: Mapped[str | None] = mapped_column(String(10))
    # Why the class is what it is when it can change or needs telling (migration 0009): an
    # ambiguous source's name (class unknown until ``organic.classify``), "referral", or
    # "click:<id>" (paid by an ad click id in the landing URL or referrer).
    channel_key: Mapped[str | None] = mapped_column(String(100))
    first_week: Mapped[int | None] = mapped_column(Integer)
    cohort_week: Mapped[int | None] = mapped_column(Integer)
    # The keyed hash of the signup's email (bot.domain.matching.email_hash), never the address:
    # what a Slack survey respondent is matched on.
    email_hash: Mapped[str | None] = mapped_column(String(64))


class ActivityWeek(Base):
    """The user was active at least once in this week (compacted events).

    ``product_id`` and ``cohort_week`` are copies of the user's (kept current by the bulk writer,
    which moves a user's rows when their cohort week changes), so that the cohort table and the
    tail patterns are index-only scans of ``ix_activity_weeks_cohort`` with no join to
    ``product_users``: 0.5 s instead of 3.7 s at a million users on SQLite. ``product_id`` has no
    foreign key of its own: the rows go with their user (``user_id`` cascades), and a key would
    cost every inserted row a lookup. On SQLite the table is WITHOUT ROWID, so the primary key
    is the table itself rather than a second B-tree beside it."""

    __tablename__ = "activity_weeks"
    __table_args__ = (
        Index("ix_activity_weeks_cohort", "product_id", "cohort_week", "week", "user_id"),
        {"sqlite_with_rowid": False},
    )
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("product_users.id", ondelete="CASCADE"), primary_key=True
    )
    week: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer)
    cohort_week: Mapped[int] = mapped_column(Integer)


class EventName(Base):
    """Event names a product's imports carried (SPEC §5 "Activity"), numbered for
    ``activity_event_weeks``; ``user_weeks``: its rows there (recounted after each import)."""

    __tablename__ = "event_names"
    __table_args__ = (UniqueConstraint("product_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    user_weeks: Mapped[int] = mapped_column(BigInteger, default=0)


class ActivityEventWeek(Base):
    """The user did event ``event_id`` at least once in this week: written beside ``activity_weeks``
    by imports that name events, read only under a non-default ``retention.active_events``. No cohort
    week copy (a filtered read joins ``product_users``); no foreign keys: a key's check per row
    halved PostgreSQL's write (1M events: 10.5 -> 4.7 s); workspaces.delete_workspace deletes them."""

    __tablename__ = "activity_event_weeks"
    __table_args__ = ({"sqlite_with_rowid": False},)
    user_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    week: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer)


class Survey(Base):
    """An in-channel Sean Ellis survey. ``open_key`` is set while open and unique, which makes
    "one open survey per channel and product" a database guarantee on every engine."""

    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32), index=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_by: Mapped[str | None] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    open_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    response_count: Mapped[int] = mapped_column(Integer, default=0)
    count_shown: Mapped[int] = mapped_column(Integer, default=0)
    count_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    results_ts: Mapped[str | None] = mapped_column(String(32))
    # People in the channel when the survey was posted: the base of the response rate of answers
    # that cannot be matched to product users (None when unknown).
    channel_members: Mapped[int | None] = mapped_column(Integer)


class SurveyResponse(Base):
    """One respondent's answer. ``dedupe_key`` makes writes idempotent: imports use
    ``import:{respondent}:{answered_at}``, Slack surveys ``survey:{id}:{respondent}`` (answering
    again updates the row). ``respondent_key`` is an imported id, a Slack user id, or for
    anonymous surveys a keyed hash — never a Slack id."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("product_id", "dedupe_key"),
        Index("ix_survey_responses_product_answered", "product_id", "answered_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(400))
    respondent_key: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(10))  # "import" | "slack"
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str] = mapped_column(String(10))  # very | somewhat | not | na
    segment: Mapped[str | None] = mapped_column(String(200))
    who_benefits: Mapped[str | None] = mapped_column(Text)
    main_benefit: Mapped[str | None] = mapped_column(Text)
    improve: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A named Slack respondent's email, as its keyed hash (never the address), matched against
    # ``ProductUser.email_hash``; None for imports (matched by id) and anonymous surveys.
    email_hash: Mapped[str | None] = mapped_column(String(64))
    # An anonymous Slack answer's respondent, matched at answer time and kept only as their
    # activity tier (light/regular/heavy, or None when not active) and whether they were active
    # (SPEC §5 "Who answered"); both None when unmatched, and for named and imported answers.
    respondent_tier: Mapped[str | None] = mapped_column(String(10))
    respondent_active: Mapped[bool | None] = mapped_column(Boolean)


class SurveyComment(Base):
    """A non-answer thread reply by a respondent, kept with their response."""

    __tablename__ = "survey_comments"
    __table_args__ = (UniqueConstraint("response_id", "message_ts"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True)
    message_ts: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestSubscription(Base):
    """A weekly digest: wall-clock ``local_time`` on ``weekday`` (0 = Monday) in ``timezone``."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (UniqueConstraint("product_id", "channel_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    weekday: Mapped[int] = mapped_column(Integer)
    local_time: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_reason: Mapped[str | None] = mapped_column(String(200))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    last_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the current schedule took effect (subscribe, change or resume): runs due before it are
    # neither delivered nor counted as missed, so changing the time never fires "late" at once.
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestDelivery(Base):
    """The claim on one subscription's digest for one week: the unique row that makes
    delivery exactly-once across restarts and processes. ``period`` is the Monday (in the
    subscription's time zone) of the week the run was due, so even a schedule changed mid-week
    cannot produce a second digest that week. ``status``: ``claimed`` (nothing posted yet; may
    wait for ``lease_until`` after a definite failure), ``sending`` (a post may have reached Slack:
    reconcile before posting again), ``sent``, ``failed``, ``skipped``. ``claimed_at`` is when the
    row was first claimed: the lower bound when looking for an already-posted message."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "period"),
        # The clock's pick-up query: unfinished rows whose lease has run out.
        Index("ix_digest_deliveries_status_lease", "status", "lease_until"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("digest_subscriptions.id", ondelete="CASCADE"))
    period: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12))  # claimed | sending | sent | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_ts: Mapped[str | None] = mapped_column(String(32))
    file_id: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(200))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WeeklySnapshot(Base):
    """A product's gate report for one complete week: a cache, recomputed when the fingerprint of its
    inputs (``report["inputs"]``: data for its weeks, settings, rules version) no longer matches."""

    __tablename__ = "weekly_snapshots"
    __table_args__ = (UniqueConstraint("product_id", "week"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    week: Mapped[int] = mapped_column(Integer)  # the last complete week index the report covers
    as_of: Mapped[date] = mapped_column(Date)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IngestToken(Base):
    """A bearer token for ``POST /api/v1/ingest``; only its SHA-256 is stored. ``product_id`` set
    = scoped to that product (the Segment-compatible API takes only such write keys); None = the
    whole workspace."""

    __tablename__ = "ingest_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SlackEventReceipt(Base):
    """Events API deliveries already processed: Slack retries the same ``event_id``."""

    __tablename__ = "slack_event_receipts"
    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SegmentMessage(Base):
    """A ``messageId`` the Segment-compatible API has already taken for a product, so a client's
    retry of the same batch is reported as duplicates. Rows older than ``bot.ingest.segment``'s window
    are pruned as new batches arrive; a replay after that is still harmless, because the writes
    themselves are idempotent (activity is a set of user-weeks, a signup the same values)."""

    __tablename__ = "segment_messages"
    __table_args__ = (Index("ix_segment_messages_product_received", "product_id", "received_at"),)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ============================================================================ SQL sources (SPEC §9)
class SqlSource(Base):
    """A product's SQL source: a database the clock pulls from, aggregated at the source.

    ``url`` is the SQLAlchemy URL *without* its password; the password is in ``password_enc``,
    Fernet-encrypted under PMFBOT_SECRET_KEY like the Slack tokens (``bot.slack.oauth.TokenCipher``),
    so a copy of this database does not let anyone into the source. ``last_synced_week`` is the
    latest week index a sync read (the next sync re-reads from two weeks before it, for late
    data); ``last_signup_at`` the latest signup time read. ``rows_read`` is what the last successful sync
    read ((user, week) pairs plus signups returned by the source); ``weeks_covered`` the span of
    weeks the source's activity covers so far (``first_week`` to ``last_synced_week``). ``last_attempt_at`` is the clock's claim: a second clock
    process does not sync the same source again the same day."""

    __tablename__ = "sql_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), unique=True)
    url: Mapped[str] = mapped_column(Text)
    password_enc: Mapped[str | None] = mapped_column(Text)
    signups_query: Mapped[str] = mapped_column(Text)
    events_query: Mapped[str] = mapped_column(Text)
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=600)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_seconds: Mapped[float | None] = mapped_column(Float)
    rows_read: Mapped[int | None] = mapped_column(BigInteger)
    weeks_covered: Mapped[int | None] = mapped_column(Integer)
    first_week: Mapped[int | None] = mapped_column(Integer)
    last_synced_week: Mapped[int | None] = mapped_column(Integer)
    last_signup_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# ============================================================================ who may change what (SPEC §8)
class ProductManager(Base):
    """A Slack user on a product's manager list (besides the workspace's admins and owners, who
    manage every product). Whoever creates a product from Slack is added as its first one."""

    __tablename__ = "product_managers"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    added_by: Mapped[str | None] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One change of a setting, a channel binding, a manager list or a token: who (a Slack user
    id, or ``cli`` for the command line), when, what (``kind`` + ``key``), old → new. Rows are
    only ever added. ``product_id`` is None for workspace-wide changes (a workspace token)."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_workspace_at", "workspace_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # setting | binding | manager | token
    key: Mapped[str] = mapped_column(String(200))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
