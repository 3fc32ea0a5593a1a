"""``pmfbot source test`` (SPEC §9): both queries of a product's source run with a limit, read-only
and under the same checks and deadlines as a sync (``bot.ingest.sql_dialects.reading``): the
optional columns each query returns (refusing unknown ones), a few rows, and the row counts. It
writes nothing anywhere."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exc
from sqlalchemy.orm import Session, sessionmaker

from bot.ingest.sql_dialects import (
    ALWAYS,
    SourceError,
    cause,
    columns,
    count_sql,
    reading,
    sample_sql,
    shown_url,
    source_engine,
)
from bot.ingest.sql_guard import check_query
from bot.ingest.sql_source import _load, _stored_url, secret_values
from bot.products import service as products

TEST_SAMPLE = 5
TEST_COUNT_CAP = 1_000_000  # `source test` counts rows up to this, not a billion-row table


@dataclass
class SourceTest:
    product: str
    url: str
    optional: dict[str, list[str]] = field(default_factory=dict)  # the optional columns each query returns
    samples: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # capped at TEST_COUNT_CAP
    seconds: float = 0.0


def test_source(factory: sessionmaker[Session], *, product_slug: str, team_id: str | None, secret: str | None,
                sample: int = TEST_SAMPLE) -> SourceTest:
    """Run both queries with a limit on the source, read-only: their optional columns, a few rows
    (events with the week each falls in) and the row counts (up to ``TEST_COUNT_CAP``)."""
    started = time.monotonic()
    with factory() as session:
        product = products.cli_product(session, product_slug, team_id)
        src = _load(session, product)
    url = _stored_url(src, secret, with_password=True)
    backend = url.get_backend_name()
    queries = {"signups": check_query(src.signups_query, backend, "the signups query"),
               "events": check_query(src.events_query, backend, "the events query")}
    result = SourceTest(product=product.slug, url=shown_url(url))
    tz = product.settings.timezone
    engine = source_engine(url, src.timeout_seconds)
    try:
        with reading(engine, src.timeout_seconds, tz) as reader:
            for kind, query in queries.items():
                optional = result.optional[kind] = columns(reader, query, kind)
                shown = optional if kind == "signups" else []
                result.samples[kind] = reader.rows(sample_sql(reader.dialect, kind, query, shown, tz),
                                                   {**ALWAYS, "pmf_limit": int(sample)})
                result.counts[kind] = int(reader.rows(count_sql(query), {**ALWAYS, "pmf_cap": TEST_COUNT_CAP})[0][0]
                                          or 0)
    except SourceError as err:
        raise type(err)(f"source test failed: {cause(err, secret_values(url))}") from None
    except (exc.SQLAlchemyError, OSError) as err:
        raise SourceError(f"source test failed: {cause(err, secret_values(url))}") from None
    finally:
        engine.dispose()
    result.seconds = time.monotonic() - started
    return result
