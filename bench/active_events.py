"""Benchmark: what keeping event names costs (``retention.active_events``, SPEC §5 "Activity").

Imports the same generated events file (bench/ingest_and_cohorts.py's generator) into fresh SQLite
databases (or PostgreSQL schemas, ``--db postgres``) twice — with its ``event`` column (pairs + named event-weeks) and with the column cut
off (pairs only: the writer's path as before) — then times the cohort table under the default
rule (activity_weeks, unchanged) and under ``exclude:page_view`` (activity_event_weeks).
Prints figures and the core count; asserts nothing about time.

    python bench/active_events.py --users 100000 --events 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ingest_and_cohorts import SLUG, generate, postgres_url  # noqa: E402
from bot.domain.active_events import parse_active_events  # noqa: E402
from bot.ingest.csv_import import import_csv  # noqa: E402
from bot.products import service as product_service  # noqa: E402
from bot.reports.service import build_cohort_table  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402


def one(workdir: Path, label: str, signups: Path, events: Path, as_of, rules: list[str],  # type: ignore[no-untyped-def]
        db: str) -> None:
    drop = None
    if db == "postgres":
        url, drop = postgres_url(os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    else:
        url = f"sqlite:///{workdir / (label.replace(' ', '_') + '.db')}"
    try:
        _one(url, label, signups, events, as_of, rules)
    finally:
        if drop is not None:
            drop()


def _one(url: str, label: str, signups: Path, events: Path, as_of, rules: list[str]) -> None:  # type: ignore[no-untyped-def]
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    product_service.create_product(factory, slug=SLUG, name=SLUG, team_id=None)
    import_csv(factory, kind="signups", path=signups, product_slug=SLUG)
    t = time.perf_counter()
    result = import_csv(factory, kind="events", path=events, product_slug=SLUG)
    took = time.perf_counter() - t
    print(f"{label:>14}: events import {took:6.2f} s ({result.rows_read / took:,.0f} events/s)")
    for rule in rules:
        if rule != "default":
            product_service.cli_change_setting(factory, product_slug=SLUG, team_id=None,
                                               key="retention.active_events", value=rule)
        with factory() as s:
            product = product_service.cli_product(s, SLUG, None)
            t = time.perf_counter()
            table = build_cohort_table(s, product, as_of)
            took = time.perf_counter() - t
        avg = {p.week_offset: p.retention for p in table.average}
        print(f"{'':>14}  cohort table, {parse_active_events(rule).describe():<40} {took:6.2f} s "
              f"(week 8: {100 * avg.get(8, 0):.1f}%)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--weeks", type=int, default=26)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}; {args.users:,} users, {args.events:,} events, {args.db}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        signups, events, as_of = generate(workdir, args.users, args.events, args.weeks)
        bare = workdir / "events_unnamed.csv"
        with events.open() as src, bare.open("w") as dst:
            for line in src:
                dst.write(line.rsplit(",", 1)[0] + "\n")
        one(workdir, "without names", signups, bare, as_of, ["default"], args.db)
        one(workdir, "with names", signups, events, as_of, ["default", "exclude:page_view"], args.db)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
