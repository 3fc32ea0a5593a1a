"""``POST /api/v1/ingest``: the JSON payload through the same row parsers and bulk writer as the CSV
import, all or nothing, with per-item errors."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.domain.matching import MIN_SECRET, email_hash
from bot.errors import NotFound
from bot.ingest.formats import (
    _FORMATS,
    PayloadError,
    PayloadTooLarge,
    RowError,
    _Chunk,
    _Counts,
    _parse_instant,
    event_parser,
    signup_parser,
)
from bot.ingest.jsonbody import problems as body_problems
from bot.ingest.jsonbody import text_problem as _text_problem
from bot.products import service as products
from storage.bulk import BulkWriter
from storage.db import Factory, retry_on_conflict
from storage.models import Workspace
from storage.repositories.products import ProductRef
from storage.writer import single_writer

MAX_PAYLOAD_ITEMS = 10_000  # SPEC §7
# A time outside [EARLIEST, now + FUTURE_SLACK] is refused, as on the Segment-compatible API.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
_TIME_FIELDS = {"events": "occurred_at", "signups": "signed_up_at"}
# ----------------------------------------------------------------------------- HTTP payload
_PAYLOAD_FIELDS: dict[str, tuple[str, ...]] = {
    "events": ("user_id", "occurred_at", "event"),
    "signups": ("user_id", "signed_up_at", "channel", "utm_source", "utm_medium", "landing_url", "referrer", "email"),
}


def _as_cell(value: Any) -> str | None:
    """A JSON value as the CSV cell it stands for; None when it cannot be one."""
    if value is None:
        return ""
    if isinstance(value, str):
        return None if _text_problem(value) else value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def ingest_payload(factory: Factory, *, workspace_id: int, payload: Any,
                   only_product_id: int | None = None, secret: str | None = None,
                   now: datetime | None = None) -> dict[str, Any]:
    """``_ingest_once`` (below), run again after a deadlock or serialization failure (a bounded
    number of times: ``storage.db.retry_on_conflict``); a conflict that persists is raised."""
    at = now or datetime.now(UTC)
    return retry_on_conflict(lambda: _ingest_once(factory, workspace_id=workspace_id, payload=payload,
                                                  only_product_id=only_product_id, secret=secret, now=at))


def _ingest_once(factory: Factory, *, workspace_id: int, payload: Any,
                 only_product_id: int | None = None, secret: str | None = None,
                 now: datetime) -> dict[str, Any]:
    """The HTTP API (SPEC §7): validate every item, then write all of it in one transaction.

    ``payload`` is ``{"product": SLUG, "events": [...], "signups": [...]}`` with at most
    ``MAX_PAYLOAD_ITEMS`` items. Any invalid item raises ``PayloadError`` listing every error
    with its path (``events[3].occurred_at``) and nothing is written; too many items raise
    ``PayloadTooLarge``. Returns ``{"product", "events": {"received", "inserted"}, "signups":
    {"received", "inserted", "updated"}}`` where events' ``inserted`` counts new user-weeks.
    ``only_product_id``: the token is scoped to that product, and any other is refused. A
    signup's optional ``email`` is kept only as its keyed hash under ``secret`` (without a
    secret it is refused).
    """
    if not isinstance(payload, dict):
        raise PayloadError([{"path": "", "message": "the body must be a JSON object"}])
    # NUL, lone surrogates and depth anywhere in the body, keys included (bot.ingest.jsonbody).
    errors: list[dict[str, str]] = body_problems(payload)
    if errors:
        raise PayloadError(errors)
    slug = payload.get("product")
    if not isinstance(slug, str) or not slug.strip():
        errors.append({"path": "product", "message": "product (the product's slug) is required"})
    elif (problem := _text_problem(slug)) is not None:
        errors.append({"path": "product", "message": f"product {problem}"})
        slug = None
    unknown = sorted(k for k in payload if k not in ("product", "events", "signups"))
    for key in unknown:
        errors.append({"path": key, "message": "unknown key; expected product, events and signups"})
    lists: dict[str, list[Any]] = {}
    for kind in ("events", "signups"):
        items = payload.get(kind, [])
        if not isinstance(items, list):
            errors.append({"path": kind, "message": f"{kind} must be a list"})
            items = []
        lists[kind] = items
    total = sum(len(v) for v in lists.values())
    if total > MAX_PAYLOAD_ITEMS:
        raise PayloadTooLarge([{"path": "", "message": f"{total:,} items; at most {MAX_PAYLOAD_ITEMS:,} per request"}])

    with factory() as session:
        product: ProductRef | None = None
        if isinstance(slug, str) and slug.strip():
            ws = session.get(Workspace, workspace_id)
            try:
                if ws is None:
                    raise NotFound("unknown workspace")
                product = products.cli_product(session, slug, ws.team_id)
            except NotFound as err:
                errors.append({"path": "product", "message": str(err)})
            if product is not None and only_product_id is not None and product.id != only_product_id:
                errors.append({"path": "product", "message": "this token is scoped to another product"})
                product = None
        parsed: dict[str, list[Any]] = {"events": [], "signups": []}
        if product is not None:
            for kind, items in lists.items():
                parsed[kind] = _parse_items(kind, items, product, errors, secret, now)
        if errors:
            raise PayloadError(errors)
        assert product is not None
        counts = {"signups": _Counts(), "events": _Counts()}
        with single_writer(session):  # SQLite: one write transaction at a time, queued
            _write(session, product.id, parsed, counts)
    return {
        "product": product.slug,
        "events": {"received": len(lists["events"]), "inserted": counts["events"].inserted,
                   "new_users": counts["events"].new_users},
        "signups": {"received": len(lists["signups"]), "inserted": counts["signups"].inserted,
                    "updated": counts["signups"].updated},
    }


def _parse_items(kind: str, items: list[Any], product: ProductRef, errors: list[dict[str, str]],
                 secret: str | None, now: datetime) -> list[Any]:
    fields = _PAYLOAD_FIELDS[kind]
    index = {f: i for i, f in enumerate(fields)}
    s = product.settings
    if kind == "events":
        parsers = {"": event_parser(index, s.timezone)}
    else:
        # Only the keyed hash of an email is kept (SPEC §5 "Who answered").
        key = partial(email_hash, secret, product.id) if secret and len(secret) >= MIN_SECRET else None
        if key is None and any(isinstance(i, dict) and i.get("email") for i in items):
            errors.append({"path": "signups", "message": "email needs PMFBOT_SECRET_KEY on the server; "
                                                         "send signups without it"})
        # An item names its channel either way; each way has its own rules (SPEC §4).
        parsers = {
            "channel": signup_parser({k: v for k, v in index.items() if not k.startswith("utm_")}, s.timezone,
                                     s.channel_map, key),
            "utm": signup_parser({k: v for k, v in index.items() if k != "channel"}, s.timezone, s.channel_map, key),
        }
    out: list[Any] = []
    required = _FORMATS[kind].required
    for n, item in enumerate(items):
        where = f"{kind}[{n}]"
        if not isinstance(item, dict):
            errors.append({"path": where, "message": "each item must be a JSON object"})
            continue
        row: list[str] = []
        ok = True
        for f in fields:
            cell = _as_cell(item.get(f))
            if cell is None:
                raw = item.get(f)
                problem = _text_problem(raw) if isinstance(raw, str) else None
                errors.append({"path": f"{where}.{f}", "message": f"{f} {problem}" if problem else f"{f} must be a string"})
                ok = False
                cell = ""
            row.append(cell)
        for f in required:
            if f not in item:
                errors.append({"path": f"{where}.{f}", "message": f"{f} is required"})
                ok = False
        if not ok or not _in_window(row[index[_TIME_FIELDS[kind]]], f"{where}.{_TIME_FIELDS[kind]}",
                                    ZoneInfo(s.timezone), now, errors):
            continue
        mode = "" if kind == "events" else ("utm" if ("utm_source" in item or "utm_medium" in item)
                                            and not item.get("channel") else "channel")
        try:
            out.append(parsers[mode](row))
        except RowError as err:
            errors.append({"path": f"{where}.{err.column}", "message": str(err)})
    return out


def _in_window(raw: str, path: str, tz: ZoneInfo, now: datetime, errors: list[dict[str, str]]) -> bool:
    """Whether a time is within [EARLIEST, now + FUTURE_SLACK]; a malformed one is left to the
    row parser, which says how to write it."""
    try:
        at, _ = _parse_instant(raw, path.rsplit(".", 1)[-1], tz)
    except RowError:
        return True
    if at < EARLIEST:
        errors.append({"path": path, "message": f"{raw.strip()!r} is before {EARLIEST.date().isoformat()}"})
        return False
    if at > now + FUTURE_SLACK:
        errors.append({"path": path, "message": f"{raw.strip()!r} is more than a day in the future"})
        return False
    return True


def _write(session: Session, product_id: int, parsed: dict[str, list[Any]], counts: dict[str, _Counts]) -> None:
    """``_ingest_once``'s transaction: every parsed row, committed, or rolled back on any error."""
    writer = BulkWriter(session, product_id)
    try:
        writer.lock_users([*(r.user_id for r in parsed["signups"]), *(user for user, *_ in parsed["events"])])
        # Signups first, so that users created by this request get their signup row at once.
        for kind in ("signups", "events"):
            chunk = _Chunk(kind)
            for item in parsed[kind]:
                chunk.add(item)
            counts[kind].write(writer, kind, chunk.take())
        counts["events"].finish(writer)
        writer.close()
        session.commit()
    except BaseException:
        with suppress(Exception):
            writer.close()
        session.rollback()
        raise
