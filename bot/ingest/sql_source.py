"""SQL sources (SPEC §9): a product's signups and activity pulled from its own database.

The source database does the grouping. A sync wraps the product's events query as a subquery and
sends ONE grouped query for the distinct (user_id, week_start) pairs since the last synced week
minus ``REREAD_WEEKS`` (late data), with the week expression of the source's dialect; signups are
read likewise from the last signup time minus ``SIGNUP_MARGIN``. So a billion-row events table
costs the bot its active user-weeks, never its raw events. On the source side the reads run in a
read-only transaction (or a read-only connection) under a statement timeout; on the bot's side
everything goes through ``storage.bulk.BulkWriter`` in ONE transaction together with the new sync
state, so a failing source (unreachable, wrong columns, timeout, missing driver) leaves the bot's
data as it was and only its ``last_error`` is recorded. The URL's password is stored encrypted
(``bot.slack.oauth.TokenCipher``) and only ever shown as ``***``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.weeks import week_of_date, week_start
from bot.errors import UserError
from bot.ingest.sql_dialects import (
    SourceError,
    cause,
    columns,
    grouped_events_sql,
    parse_url,
    reading,
    shown_url,
    signups_sql,
    since_param,
    source_engine,
    subquery,
    week_expression,
)
from bot.products import service as products
from storage.bulk import BulkWriter, SignupRow
from storage.repositories import sources as sources_repo
from storage.repositories.products import ProductRef

__all__ = ["SourceError", "SourceStatus", "SourceTest", "SyncResult", "add_source", "list_sources", "remove_source",
           "source_status", "sync_due_sources", "sync_source", "test_source"]

log = logging.getLogger(__name__)
Factory = sessionmaker[Session]

REREAD_WEEKS = 2  # weeks before the last synced one that every sync reads again (late data)
SIGNUP_MARGIN = timedelta(days=14)  # likewise for signups, before the latest signup time read
CHUNK_PAIRS = 200_000  # (user, week) pairs per bulk-writer round
CHUNK_SIGNUPS = 50_000
DEFAULT_TIMEOUT_S = 600  # per statement on the source
SYNC_EVERY = timedelta(days=1)  # the clock's rhythm
TEST_SAMPLE = 5
TEST_COUNT_CAP = 1_000_000  # `source test` counts rows up to this, not a billion-row table


# ============================================================================ values
def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _user(value: Any) -> str:
    uid = str(value).strip()
    if not uid or len(uid) > 255:
        raise SourceError(f"a user_id must be 1-255 characters, got {uid[:40]!r}")
    return uid


def _instant(value: Any, tz: ZoneInfo) -> datetime:
    """A signup time as an aware UTC datetime: naive = UTC, a bare date = that day in ``tz``."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz).astimezone(UTC)
    s = str(value).strip()
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise SourceError(f"signed_up_at {s[:40]!r} is not a timestamp") from None
    if len(s) <= 10:
        return dt.replace(tzinfo=tz).astimezone(UTC)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _week_of_start(cache: dict[Any, int], raw: Any) -> int:
    week = cache.get(raw)
    if week is None:
        d = _as_date(raw)
        if d.weekday() != 0:  # the dialect's expression must give Mondays; anything else is our bug
            raise SourceError(f"the source returned week_start {d} which is not a Monday")
        week = cache[raw] = week_of_date(d)
    return week


# ============================================================================ results
@dataclass
class SyncResult:
    product: str
    full: bool
    since_week: int | None  # the first week read (None: from the start)
    pairs: int = 0  # (user, week) rows returned by the grouped query
    signups: int = 0
    weeks: int = 0  # distinct weeks among the pairs
    new_signups: int = 0  # users whose signup is new (a user known only from events counts)
    new_users: int = 0  # users first seen through their activity
    new_user_weeks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        start = "from the start" if self.since_week is None else f"since the week of {week_start(self.since_week)}"
        return (f"synced {self.product} {start}: {self.pairs} (user, week) pairs over {self.weeks} weeks and "
                f"{self.signups} signups read; {self.new_signups} new signups, {self.new_users} new users from activity, "
                f"{self.new_user_weeks} new active "
                f"user-weeks ({self.seconds:.1f} s)")


@dataclass(frozen=True)
class SourceStatus:
    """What `source list`, App Home and the digest show about a product's source."""

    product_id: int
    product: str
    url: str  # the password as ***
    last_sync_at: datetime | None
    rows_read: int | None
    weeks_covered: int | None
    first_week: int | None
    last_synced_week: int | None
    last_error: str | None
    last_error_at: datetime | None

    @property
    def failing(self) -> bool:
        """The last attempt failed (a success clears the error)."""
        return self.last_error is not None


@dataclass
class SourceTest:
    product: str
    url: str
    columns: dict[str, list[str]] = field(default_factory=dict)
    samples: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # capped at TEST_COUNT_CAP
    seconds: float = 0.0


def _status(src: Any, slug: str) -> SourceStatus:
    return SourceStatus(product_id=src.product_id, product=slug, url=shown_url(_stored_url(src, None)),
                        last_sync_at=src.last_sync_at, rows_read=src.rows_read, weeks_covered=src.weeks_covered,
                        first_week=src.first_week, last_synced_week=src.last_synced_week,
                        last_error=src.last_error, last_error_at=src.last_error_at)


def source_status(session: Session, product_id: int) -> SourceStatus | None:
    """The product's source as App Home and the digest show it (None: the product has none).
    ``failing`` is True when its last sync failed; ``last_error`` says why."""
    from storage.models import Product

    src = sources_repo.find_source(session, product_id)
    if src is None:
        return None
    slug = session.get(Product, product_id).slug  # type: ignore[union-attr]
    return _status(src, slug)


# ============================================================================ password at rest
def _cipher(secret: str | None) -> Any:
    from bot.config import ConfigError
    from bot.slack.oauth import TokenCipher

    if not secret or len(secret) < 16:
        raise ConfigError("PMFBOT_SECRET_KEY is missing or shorter than 16 characters: it encrypts the source's "
                          "password at rest (set it to a long random string)")
    return TokenCipher(secret)


def _stored_url(src: Any, secret: str | None, *, with_password: bool = False) -> URL:
    """The source's URL; with its password decrypted when asked (needs the secret)."""
    url = make_url(src.url)
    if src.password_enc and not with_password:
        return url.set(password="***")
    if src.password_enc:
        password = _cipher(secret).decrypt(src.password_enc)
        if password is None:
            raise SourceError("the stored password cannot be decrypted (was PMFBOT_SECRET_KEY changed?): "
                              "add the source again with `pmfbot source add`")
        url = url.set(password=password)
    return url


# ============================================================================ use cases
def add_source(factory: Factory, *, product_slug: str, team_id: str | None, url: str, signups_query: str,
               events_query: str, secret: str | None, timeout_seconds: int = DEFAULT_TIMEOUT_S) -> SourceStatus:
    """Save (or replace) a product's source. Checks the URL and that its driver is installed;
    connecting is ``source test``'s job. The password is encrypted before it is stored."""
    parsed = parse_url(url)
    source_engine(parsed).dispose()  # a missing driver is reported now, not at the first sync
    for name, q in (("--signups-query", signups_query), ("--events-query", events_query)):
        if not subquery(q):
            raise UserError(f"{name} is empty")
    if timeout_seconds < 1:
        raise UserError("--timeout must be at least 1 second")
    password = parsed.password
    enc = _cipher(secret).encrypt(str(password)) if password else None
    with factory() as session:
        product = products.cli_product(session, product_slug, team_id)
        src = sources_repo.save_source(session, product.id, url=parsed._replace(password=None).render_as_string(
            hide_password=False), password_enc=enc, signups_query=subquery(signups_query),
            events_query=subquery(events_query), timeout_seconds=timeout_seconds)
        status = _status(src, product.slug)
        session.commit()
    return status


def list_sources(factory: Factory, *, team_id: str | None) -> list[SourceStatus]:
    with factory() as session:
        ws = products.cli_workspace(session, team_id)
        return [_status(src, slug) for src, slug in sources_repo.sources_of_workspace(session, ws.id)]


def remove_source(factory: Factory, *, product_slug: str, team_id: str | None) -> None:
    """Forget the product's source; the data it brought stays."""
    with factory() as session:
        product = products.cli_product(session, product_slug, team_id)
        if not sources_repo.delete_source(session, product.id):
            raise UserError(f"{product.slug} has no SQL source.")
        session.commit()


def _load(session: Session, product: ProductRef) -> Any:
    src = sources_repo.find_source(session, product.id)
    if src is None:
        raise UserError(f"{product.slug} has no SQL source: add one with `pmfbot source add {product.slug} --url ...`")
    return src


def test_source(factory: Factory, *, product_slug: str, team_id: str | None, secret: str | None,
                sample: int = TEST_SAMPLE) -> SourceTest:
    """Run both queries with a limit on the source, read-only: their columns, a few rows (events
    with the week each falls in) and the row counts (up to ``TEST_COUNT_CAP``). Writes nothing."""
    started = time.monotonic()
    with factory() as session:
        product = products.cli_product(session, product_slug, team_id)
        src = _load(session, product)
    url = _stored_url(src, secret, with_password=True)
    result = SourceTest(product=product.slug, url=shown_url(url))
    engine = source_engine(url)
    try:
        with reading(engine, src.timeout_seconds, product.settings.timezone) as conn:
            dialect = conn.dialect.name
            for kind, query in (("signups", src.signups_query), ("events", src.events_query)):
                cols = result.columns[kind] = columns(conn, query, kind)
                shown = "src.user_id, src.signed_up_at" + (", src.channel" if "channel" in cols else "")
                if kind == "events":
                    shown = f"src.user_id, src.occurred_at, {week_expression(dialect, 'src.occurred_at', product.settings.timezone)} AS week_start"
                result.samples[kind] = [tuple(r) for r in conn.execute(
                    text(f"SELECT {shown} FROM ({query}) src LIMIT {int(sample)}"))]
                result.counts[kind] = int(conn.execute(text(
                    f"SELECT count(*) FROM (SELECT 1 AS one FROM ({query}) src LIMIT {TEST_COUNT_CAP}) c")).scalar() or 0)
    except SourceError:
        raise
    except (exc.SQLAlchemyError, OSError) as err:
        raise SourceError(f"source test failed: {cause(err, url.password and str(url.password))}") from None
    finally:
        engine.dispose()
    result.seconds = time.monotonic() - started
    return result


def sync_source(factory: Factory, *, product_slug: str, team_id: str | None, secret: str | None, full: bool = False,
                now: datetime | None = None) -> SyncResult:
    """``pmfbot source sync``: pull what is new (or, ``full``, everything) into the product."""
    with factory() as session:
        product = products.cli_product(session, product_slug, team_id)
        _load(session, product)
    return _sync(factory, product, secret=secret, full=full, now=now or datetime.now(UTC))


def sync_due_sources(ctx: Any, now: datetime | None = None) -> int:
    """The clock's daily sync (job ``pmf.clock.sql_sources``): every source not attempted in the
    last ``SYNC_EVERY`` is claimed and synced, one after the other. A failure is recorded on the
    source and logged (without its password); the others still run. Returns how many succeeded."""
    from storage.models import Product, Workspace
    from storage.repositories.products import product_ref

    now = now or ctx.now()
    cutoff = now - SYNC_EVERY
    with ctx.factory() as session:
        due = sources_repo.due_source_ids(session, cutoff)
    synced = 0
    for source_id in due:
        with ctx.factory() as session:
            product_id = sources_repo.claim_source(session, source_id, attempted_before=cutoff, now=now)
            session.commit()
            if product_id is None:
                continue  # another clock took it
            p = session.get(Product, product_id)
            assert p is not None
            team = session.get(Workspace, p.workspace_id)
            product = product_ref(p, team.team_id if team else "")
        try:
            result = _sync(ctx.factory, product, secret=ctx.secret_key, full=False, now=now)
        except Exception as err:  # noqa: BLE001 - recorded on the source; the next day retries
            log.warning("sql source sync failed product=%s job=sql_sources: %s", product.slug, err)
            continue
        synced += 1
        log.info("sql source job=sql_sources %s", result.summary())
    return synced


def _sync(factory: Factory, product: ProductRef, *, secret: str | None, full: bool, now: datetime) -> SyncResult:
    """One sync, all or nothing on the bot's side (see the module docstring)."""
    from bot.domain.organic import classify_channel

    started = time.monotonic()
    tz_name = product.settings.timezone
    tz = ZoneInfo(tz_name)
    channel_map = product.settings.channel_map
    password: str | None = None
    with factory() as session:
        src = _load(session, product)
        writer: BulkWriter | None = None
        try:
            url = _stored_url(src, secret, with_password=True)
            password = str(url.password) if url.password else None
            since_week = None if full or src.last_synced_week is None else src.last_synced_week - REREAD_WEEKS
            signups_since = None if full or src.last_signup_at is None else src.last_signup_at - SIGNUP_MARGIN
            result = SyncResult(product=product.slug, full=full, since_week=since_week)
            writer = BulkWriter(session, product.id)
            weeks: set[int] = set()
            last_signup = src.last_signup_at
            engine = source_engine(url)
            try:
                with reading(engine, src.timeout_seconds, tz_name) as conn:
                    dialect = conn.dialect.name
                    channel = "channel" in columns(conn, src.signups_query, "signups")
                    columns(conn, src.events_query, "events")
                    # Signups: rows as they are (one per user), their weeks computed here with zoneinfo.
                    params: dict[str, Any] = {}
                    if signups_since is not None:
                        params["since"] = since_param(dialect, signups_since)
                    rows = conn.execution_options(stream_results=True, yield_per=CHUNK_SIGNUPS).execute(
                        text(signups_sql(dialect, src.signups_query, channel, since=signups_since is not None)), params)
                    for part in _chunks(rows, CHUNK_SIGNUPS):
                        chunk: dict[str, SignupRow] = {}
                        for r in part:
                            uid, at = _user(r[0]), _instant(r[1], tz)
                            ch = (str(r[2]).strip()[:200] or None) if channel and r[2] is not None else None
                            chunk[uid] = (uid, week_of_date(at.astimezone(tz).date()), at, ch,
                                          classify_channel(ch, channel_map))
                            if last_signup is None or at > last_signup:
                                last_signup = at
                        result.signups += len(part)
                        new, _changed, _weeks = writer.signups(list(chunk.values()))
                        result.new_signups += new
                    # Activity: the source groups; only distinct (user, week) pairs cross the wire.
                    params = {}
                    if since_week is not None:
                        since_at = datetime.combine(week_start(since_week), datetime.min.time(), tz)
                        params["since"] = since_param(dialect, since_at)
                    pairs = conn.execution_options(stream_results=True, yield_per=CHUNK_PAIRS).execute(
                        text(grouped_events_sql(dialect, src.events_query, tz_name, since=since_week is not None)),
                        params)
                    cache: dict[Any, int] = {}
                    for part in _chunks(pairs, CHUNK_PAIRS):
                        batch = [(_user(u), _week_of_start(cache, w)) for u, w in part]
                        weeks.update(cache.values())
                        result.pairs += len(batch)
                        new_users, new_weeks = writer.events(batch)
                        result.new_users += new_users
                        result.new_user_weeks += new_weeks
            finally:
                engine.dispose()
            writer.close()
            src.last_sync_at, src.last_error, src.last_error_at = now, None, None
            src.rows_read = result.pairs + result.signups
            if weeks:
                src.first_week = min(weeks) if src.first_week is None or full else min(src.first_week, min(weeks))
                src.last_synced_week = max(weeks) if src.last_synced_week is None or full else max(
                    src.last_synced_week, max(weeks))
            if src.first_week is not None and src.last_synced_week is not None:
                src.weeks_covered = src.last_synced_week - src.first_week + 1
            src.last_signup_at = last_signup
            result.weeks = len(weeks)
            result.seconds = time.monotonic() - started
            src.last_sync_seconds = result.seconds
            session.commit()
        except BaseException as err:
            if writer is not None:
                try:
                    writer.close()
                except Exception:  # noqa: BLE001 - the connection may be what failed; the rollback still runs
                    log.debug("closing the bulk writer after a failed sync", exc_info=True)
            session.rollback()
            if isinstance(err, KeyboardInterrupt | GeneratorExit):
                raise
            message = str(err) if isinstance(err, UserError) else cause(err, password)
            _record_error(factory, product.id, message, now)
            if isinstance(err, SourceError):
                raise
            if isinstance(err, exc.SQLAlchemyError | OSError):
                raise SourceError(f"sync of {product.slug} failed, nothing was written: {message}") from None
            raise
    return result


def _chunks(result: Any, size: int) -> Iterator[Sequence[Any]]:
    """The rows of a streamed result, ``size`` at a time. (``partitions()`` follows the driver's own
    batches, which duckdb-engine makes one row long: a bulk-writer round per pair.)"""
    while rows := result.fetchmany(size):
        yield rows


def _record_error(factory: Factory, product_id: int, message: str, at: datetime) -> None:
    """``last_error`` in a transaction of its own: the sync's was rolled back."""
    with factory() as session:
        sources_repo.record_error(session, product_id, message, at)
        session.commit()
