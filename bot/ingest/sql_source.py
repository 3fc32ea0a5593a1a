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

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.domain._text import plural
from bot.domain.weeks import week_of_date, week_start
from bot.errors import UserError
from bot.ingest.formats import RowError, _Chunk, _Counts
from bot.ingest.sql_deadline import CONNECT_TIMEOUT_S, MARGIN_S, SourceTimeout, run_within
from bot.ingest.sql_dialects import (
    ALWAYS,
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
)
from bot.ingest.sql_guard import check_query, split_secrets, stored_form, with_secrets
from bot.products import service as products
from storage.bulk import BulkWriter
from storage.repositories import sources as sources_repo
from storage.repositories.products import ProductRef

__all__ = ["SourceError", "SourceStatus", "SyncResult", "add_source", "list_sources", "remove_source",
           "source_status", "sync_due_sources", "sync_source"]

log = logging.getLogger(__name__)
Factory = sessionmaker[Session]

REREAD_WEEKS = 2  # weeks before the last synced one that every sync reads again (late data)
SIGNUP_MARGIN = timedelta(days=14)  # likewise for signups, before the latest signup time read
CHUNK_PAIRS = 200_000  # (user, week) pairs per bulk-writer round
CHUNK_SIGNUPS = 50_000
DEFAULT_TIMEOUT_S = 600  # per statement on the source
SYNC_EVERY = timedelta(days=1)  # the clock's rhythm
# The clock gives each sync this long past the deadlines of its three statements (the bot's own
# writes of a million pairs took ~20 s here), then moves on to the next source.
SYNC_ALLOWANCE_S = 600
SECRETS_PREFIX = "pmf-secrets-v1:"  # password_enc holding JSON {"password", "query"}; else a bare password


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
        return (f"synced {self.product} {start}: {plural(self.pairs, '(user, week) pair')} over "
                f"{plural(self.weeks, 'week')} and {plural(self.signups, 'signup')} read; "
                f"{plural(self.new_signups, 'new signup')}, {plural(self.new_users, 'new user')} from activity, "
                f"{plural(self.new_user_weeks, 'new active user-week')} ({self.seconds:.1f} s)")


@dataclass(frozen=True)
class SourceStatus:
    """What `source list`, App Home and the digest show about a product's source."""

    product_id: int
    product: str
    url: str  # every secret as ***
    last_sync_at: datetime | None
    rows_read: int | None
    weeks_covered: int | None
    first_week: int | None
    last_synced_week: int | None
    last_error: str | None  # secrets masked
    last_error_at: datetime | None
    kind: str = ""  # the backend: postgresql, mysql, duckdb, sqlite
    location: tuple[str, ...] = ()  # host, port, database, user: shown only to managers

    @property
    def failing(self) -> bool:
        """The last attempt failed (a success clears the error)."""
        return self.last_error is not None

    def public_error(self) -> str | None:
        """``last_error`` for people who may not see where the source is: its host, database and
        user as ``…``."""
        if self.last_error is None:
            return None
        text = self.last_error
        for part in sorted((p for p in self.location if p and len(p) > 1), key=len, reverse=True):
            text = re.sub(rf"(?<![\w.-]){re.escape(part)}(?![\w-])", "…", text)
        return text


def _status(src: Any, slug: str) -> SourceStatus:
    url = make_url(src.url)
    location = tuple(str(p) for p in (url.host, url.port, url.database, url.username) if p)
    return SourceStatus(product_id=src.product_id, product=slug, url=shown_url(_stored_url(src, None)),
                        last_sync_at=src.last_sync_at, rows_read=src.rows_read, weeks_covered=src.weeks_covered,
                        first_week=src.first_week, last_synced_week=src.last_synced_week,
                        last_error=src.last_error, last_error_at=src.last_error_at, kind=url.get_backend_name(),
                        location=location)


def source_status(session: Session, product_id: int) -> SourceStatus | None:
    """The product's source as App Home and the digest show it (None: the product has none).
    ``failing`` is True when its last sync failed; ``last_error`` says why."""
    from storage.models import Product

    src = sources_repo.find_source(session, product_id)
    if src is None:
        return None
    slug = session.get(Product, product_id).slug  # type: ignore[union-attr]
    return _status(src, slug)


# ============================================================================ secrets at rest
def _cipher(secret: str | None) -> Any:
    from bot.config import ConfigError
    from bot.slack.oauth import TokenCipher

    if not secret or len(secret) < 16:
        raise ConfigError("PMFBOT_SECRET_KEY is missing or shorter than 16 characters: it encrypts the source's "
                          "password at rest (set it to a long random string)")
    return TokenCipher(secret)


def _encrypt_secrets(secrets: dict[str, Any], secret: str | None) -> str | None:
    """The URL's secrets as one Fernet token (like the Slack tokens), or None when it has none."""
    if not secrets:
        return None
    return _cipher(secret).encrypt(SECRETS_PREFIX + json.dumps(secrets, sort_keys=True))  # type: ignore[no-any-return]


def _stored_url(src: Any, secret: str | None, *, with_password: bool = False) -> URL:
    """The source's URL: as stored (no secret in it) with ``***`` where a password goes, or with
    its secrets decrypted when asked (needs the key)."""
    url = make_url(src.url)
    if not src.password_enc:
        return url
    if not with_password:
        # Rows stored before the secrets kept their places: the password was the userinfo's.
        legacy = "***" not in src.url
        return url.set(password="***") if legacy and url.username else url
    plain = _cipher(secret).decrypt(src.password_enc)
    if plain is None:
        raise SourceError("the stored password cannot be decrypted (was PMFBOT_SECRET_KEY changed?): "
                          "add the source again with `pmfbot source add`")
    secrets = json.loads(plain[len(SECRETS_PREFIX):]) if plain.startswith(SECRETS_PREFIX) else {"password": plain}
    return with_secrets(url, secrets)


def secret_values(url: URL) -> list[str]:
    """Every secret of a URL with its secrets in: what error messages must never show."""
    _public, secrets = split_secrets(url)
    query = secrets.get("query")
    return [str(v) for v in ([secrets.get("password")] + (list(query.values()) if isinstance(query, dict) else []))
            if v]


# ============================================================================ use cases
def add_source(factory: Factory, *, product_slug: str, team_id: str | None, url: str, signups_query: str,
               events_query: str, secret: str | None, timeout_seconds: int = DEFAULT_TIMEOUT_S) -> SourceStatus:
    """Save (or replace) a product's source. Checks the URL, that its driver is installed and that
    both queries are one read-only SELECT each; connecting is ``source test``'s job. Every secret
    of the URL (its password, a ``?password=``) is encrypted before it is stored."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    source_engine(parsed).dispose()  # a missing driver is reported now, not at the first sync
    queries = {name: check_query(q, backend, name) for name, q in
               (("--signups-query", signups_query), ("--events-query", events_query))}
    if timeout_seconds < 1:
        raise UserError("--timeout must be at least 1 second")
    public, secrets = split_secrets(parsed)
    enc = _encrypt_secrets(secrets, secret)
    with factory() as session:
        product = products.cli_product(session, product_slug, team_id)
        src = sources_repo.save_source(session, product.id, url=stored_form(public),
                                       password_enc=enc, signups_query=queries["--signups-query"],
                                       events_query=queries["--events-query"], timeout_seconds=timeout_seconds)
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


def sync_source(factory: Factory, *, product_slug: str, team_id: str | None, secret: str | None, full: bool = False,
                now: datetime | None = None) -> SyncResult:
    """``pmfbot source sync``: pull what is new (or, ``full``, everything) into the product."""
    with factory() as session:
        product = products.cli_product(session, product_slug, team_id)
        _load(session, product)
    return _sync(factory, product, secret=secret, full=full, now=now or datetime.now(UTC))


def sync_deadline(timeout_s: int) -> float:
    """How long the clock waits for one sync: connecting, its three statements each up to the
    timeout plus margin, and the bot's own writes."""
    return CONNECT_TIMEOUT_S + 3 * (timeout_s + MARGIN_S) + SYNC_ALLOWANCE_S


def sync_due_sources(ctx: Any, now: datetime | None = None, *, deadline_s: float | None = None) -> int:
    """The clock's daily sync (job ``pmf.clock.sql_sources``): every source not attempted in the
    last ``SYNC_EVERY`` is claimed and synced, one after the other, each on a thread of its own
    with its own deadline (``sync_deadline``, or ``deadline_s``), so a source that hangs never
    holds up the next. A failure is recorded on the source and logged (without any secret); the
    others still run. Returns how many succeeded."""
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
            src = sources_repo.find_source(session, product_id)
            limit = deadline_s if deadline_s is not None else sync_deadline(src.timeout_seconds if src else 600)
        try:
            result = run_within(lambda product=product: _sync(ctx.factory, product, secret=ctx.secret_key,  # type: ignore[misc]
                                                              full=False, now=now), limit, product.slug)
        except SourceTimeout as err:
            _record_error(ctx.factory, product.id, str(err), now)
            log.warning("sql source sync abandoned product=%s job=sql_sources: %s", product.slug, err)
            continue
        except Exception as err:  # noqa: BLE001 - recorded on the source; the next day retries
            log.warning("sql source sync failed product=%s job=sql_sources: %s", product.slug, err)
            continue
        synced += 1
        log.info("sql source job=sql_sources %s", result.summary())
    return synced


def _signup_parser(product: ProductRef, optional: Sequence[str], secret: str | None) -> Any:
    """The CSV import's own signup parser (``bot.ingest.csv_import``), over the columns the query
    returns: a source's signups are classified, checked and stored exactly as an imported file's."""
    from bot.ingest.csv_import import _parser_for

    return _parser_for("signups", {c: i for i, c in enumerate(("user_id", "signed_up_at", *optional))}, product, secret)


def _cell(value: Any) -> str:
    """A source's value as the CSV parser reads it (naive datetimes are UTC, dates local midnight)."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _sync(factory: Factory, product: ProductRef, *, secret: str | None, full: bool, now: datetime) -> SyncResult:
    """One sync, all or nothing on the bot's side (see the module docstring)."""
    started = time.monotonic()
    tz_name = product.settings.timezone
    hidden: list[str] = []
    with factory() as session:
        src = _load(session, product)
        writer: BulkWriter | None = None
        try:
            url = _stored_url(src, secret, with_password=True)
            hidden = secret_values(url)
            backend = url.get_backend_name()
            signups_query = check_query(src.signups_query, backend, "the signups query")
            events_query = check_query(src.events_query, backend, "the events query")
            since_week = None if full or src.last_synced_week is None else src.last_synced_week - REREAD_WEEKS
            signups_since = None if full or src.last_signup_at is None else src.last_signup_at - SIGNUP_MARGIN
            result = SyncResult(product=product.slug, full=full, since_week=since_week)
            writer = BulkWriter(session, product.id)
            weeks: set[int] = set()
            last_signup = src.last_signup_at
            engine = source_engine(url, src.timeout_seconds)
            try:
                with reading(engine, src.timeout_seconds, tz_name) as reader:
                    dialect = reader.dialect
                    optional = columns(reader, signups_query, "signups")
                    columns(reader, events_query, "events")
                    # Signups: rows as they are (one per user), through the CSV import's parser.
                    parse = _signup_parser(product, optional, secret)
                    params: dict[str, Any] = dict(ALWAYS)
                    if signups_since is not None:
                        params["since"] = since_param(dialect, signups_since)
                    counts = _Counts()
                    for part in reader.chunks(signups_sql(dialect, signups_query, optional,
                                                          since=signups_since is not None), params, CHUNK_SIGNUPS):
                        chunk = _Chunk("signups")
                        for r in part:
                            try:
                                row = parse([_cell(v) for v in r])
                            except RowError as err:
                                raise SourceError(f"the signups query returned a row the import refuses "
                                                  f"(user_id {str(r[0])[:40]!r}): {err}") from None
                            chunk.add(row)
                            if last_signup is None or row.signed_up_at > last_signup:
                                last_signup = row.signed_up_at
                        result.signups += len(part)
                        before = counts.inserted
                        counts.write(writer, "signups", chunk.take())
                        result.new_signups += counts.inserted - before
                    # Activity: the source groups; only distinct (user, week) pairs cross the wire.
                    params = dict(ALWAYS)
                    if since_week is not None:
                        since_at = datetime.combine(week_start(since_week), datetime.min.time(), ZoneInfo(tz_name))
                        params["since"] = since_param(dialect, since_at)
                    cache: dict[Any, int] = {}
                    grouped = grouped_events_sql(dialect, events_query, tz_name, since=since_week is not None)
                    for part in reader.chunks(grouped, params, CHUNK_PAIRS):
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
            message = cause(err, hidden)
            _record_error(factory, product.id, message, now)
            if isinstance(err, SourceError):
                raise type(err)(f"sync of {product.slug} failed, nothing was written: {message}") from None
            if isinstance(err, UserError):
                raise
            if isinstance(err, exc.SQLAlchemyError | OSError):
                raise SourceError(f"sync of {product.slug} failed, nothing was written: {message}") from None
            raise
    return result


def _record_error(factory: Factory, product_id: int, message: str, at: datetime) -> None:
    """``last_error`` in a transaction of its own: the sync's was rolled back."""
    with factory() as session:
        sources_repo.record_error(session, product_id, message, at)
        session.commit()
