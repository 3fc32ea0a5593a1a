"""Benchmark: 1,000 weekly digests due in the same minute, across 50 workspaces, delivered by the
real clock code (``bot.digests.runner.DigestRunner``) against the fake Slack Web API made to enforce about
one message per second per channel (HTTP 429 + Retry-After beyond that) and a per-call latency.

Set-up: 50 workspaces × 2 products × 10 channels = 1,000 subscriptions, each channel receiving
two digests in the same minute (so the per-channel limit is hit), schedules in seven time zones
whose local times all fall on the same UTC minute. Every product has real data, so each digest
computes and stores its weekly snapshots and renders its real chart (once per product and week).
The clock runs in child processes (``--processes``, several need PostgreSQL), ticking like
``pmfbot clock`` (every 30 s, on a moving clock that starts 10 s after the due minute); the fake
runs in this process and is the judge: it prints the core count, the time until every digest is
in its channel, duplicates and misses (both must be 0), chart uploads, 429s served, and the
clock's peak RSS. Exits non-zero when a digest is missing or doubled or the target is missed.

    python bench/digest_fanout.py                          # SQLite, one clock process
    python bench/digest_fanout.py --db postgres --processes 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.slack_api import FakeSlack  # noqa: E402 - after the sys.path set-up above

DUE = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 08:00 UTC
# (zone, local time) pairs that are all Monday 08:00 UTC on 23 Nov 2026.
ZONES = [("Europe/Berlin", "09:00"), ("Europe/London", "08:00"), ("America/New_York", "03:00"),
         ("Asia/Kolkata", "13:30"), ("Asia/Tokyo", "17:00"), ("Australia/Sydney", "19:00"),
         ("America/Los_Angeles", "00:00")]
TARGET_SECONDS = 300
TICK_SECONDS = 30


# ----------------------------------------------------------------------------- the fake, rate-limited
class RateLimitedSlack(FakeSlack):
    """The suite's fake Web API plus Slack's chat.postMessage limit (about one message per
    second per channel: a second post within ``interval`` gets 429 + Retry-After and is not
    processed) and a fixed latency on every call, like a real round trip."""

    def __init__(self, *, interval: float = 1.0, latency: float = 0.05) -> None:
        super().__init__()
        self.interval, self.latency = interval, latency
        self._last_post: dict[str, float] = {}
        self._rate_lock = threading.Lock()
        self.throttled = 0

    def _dispatch(self, verb: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        time.sleep(self.latency)
        if path.startswith("/api/chat.postMessage"):
            channel = _param(headers, body, "channel")
            now = time.monotonic()
            with self._rate_lock:
                last = self._last_post.get(channel)
                if last is not None and now - last < self.interval:
                    self.throttled += 1
                    return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
                self._last_post[channel] = now
        return super()._dispatch(verb, path, headers, body)


def _param(headers: dict[str, str], body: bytes, name: str) -> str:
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if "json" in ctype:
        return str(json.loads(body or b"{}").get(name, ""))
    return dict(parse_qsl(body.decode("utf-8"))).get(name, "")


# ----------------------------------------------------------------------------- data
def postgres_url(base: str) -> tuple[str, Any]:
    """A fresh schema on the benchmark server, and a function that drops it."""
    from storage.db import scratch_schema

    return scratch_schema(base, prefix="bench")


def seed(url: str, *, workspaces: int, products: int, channels: int, users: int) -> list[tuple[str, int]]:
    """Workspaces, products with data, subscriptions; returns (channel, subscription id) pairs."""
    from sqlalchemy import insert, select

    import bot.slack.installations  # noqa: F401 - slack_sdk's tables on our metadata
    from bot.domain.weeks import week_of_date
    from storage.db import make_engine, make_session_factory, unit_of_work
    from storage.migrate import upgrade
    from storage.models import ActivityWeek, DigestSubscription, Product, ProductUser, Workspace

    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(7)
    last = week_of_date(DUE.date()) - 1
    weeks = 12
    subs: list[tuple[str, int]] = []
    zone_i = 0
    with unit_of_work(factory) as s:
        for w in range(workspaces):
            ws = Workspace(team_id=f"T{w:03d}", name=f"Team {w}")
            s.add(ws)
            s.flush()
            chans = [f"C{w:03d}{c:03d}" for c in range(channels)]
            for p in range(products):
                prod = Product(workspace_id=ws.id, slug=f"p{p}", name=f"Product {w}-{p}", settings={})
                s.add(prod)
                s.flush()
                rows = []
                for i in range(users):
                    wk = last - weeks + 1 + (i * weeks) // users
                    paid = rng.random() < 0.35
                    rows.append({"product_id": prod.id, "external_id": f"u{i}", "signup_week": wk,
                                 # Monday 08:00 UTC of the signup week.
                                 "signed_up_at": DUE - timedelta(weeks=last - wk + 1),
                                 "channel": "cpc" if paid else "organic", "channel_class": "paid" if paid else "organic",
                                 "first_week": wk, "cohort_week": wk})
                s.execute(insert(ProductUser), rows)
                ids = {e: i for e, i in s.execute(select(ProductUser.external_id, ProductUser.id)
                                                  .where(ProductUser.product_id == prod.id))}
                act = []
                for r in rows:
                    row_of = {"user_id": ids[r["external_id"]], "product_id": prod.id, "cohort_week": r["signup_week"]}
                    act.append({**row_of, "week": r["signup_week"]})
                    for k in range(1, last - r["signup_week"] + 1):
                        if rng.random() < 0.3 + 0.5 * 0.6 ** k:
                            act.append({**row_of, "week": r["signup_week"] + k})
                s.execute(insert(ActivityWeek), act)
                for ch in chans:
                    zone, at = ZONES[zone_i % len(ZONES)]
                    zone_i += 1
                    sub = DigestSubscription(workspace_id=ws.id, product_id=prod.id, channel_id=ch, weekday=0,
                                             local_time=at, timezone=zone, created_by=f"U{w:03d}", active=True,
                                             consecutive_failures=0, error_notified=False,
                                             created_at=DUE - timedelta(days=7),
                                             effective_from=DUE - timedelta(days=7))
                    s.add(sub)
                    s.flush()
                    subs.append((ch, sub.id))
    engine.dispose()
    return subs


# ----------------------------------------------------------------------------- the clock process
def clock_process(url: str, api_url: str, worker: str, threads: int, real_charts: bool, chart_processes: int | None,
                  go: Any, stop: Any, out: Any) -> None:
    """One clock: a DigestRunner ticking every TICK_SECONDS on a clock that starts 10 s after
    the due minute and moves with real time, until told to stop."""
    import bot.slack.installations  # noqa: F401
    from bot.config import Settings
    from bot.context import AppContext
    from bot.digests.runner import DigestRunner
    from bot.slack.client import make_client
    from storage.db import make_engine, make_session_factory

    settings = Settings(database_url=url, slack_api_url=api_url, slack_bot_token="xoxb-bench",
                        secret_key="bench-secret-key-0123456789")
    factory = make_session_factory(make_engine(url, pool_size=threads + 4, max_overflow=4)
                                   if url.startswith("postgresql") else make_engine(url))
    ctx = AppContext(settings=settings, factory=factory,
                     client_for_team=lambda team: make_client(settings, f"xoxb-{team.lower()}"),
                     secret_key=settings.secret_key or "")
    runner = DigestRunner(ctx, worker_id=worker, max_workers=threads, chart_processes=chart_processes,
                          chart_renderer=None if real_charts else (lambda _c: b"\x89PNG\r\n\x1a\nbench"))
    go.wait()
    started = time.monotonic()
    totals: Counter[str] = Counter()
    while not stop.is_set():
        t = time.monotonic()
        stats = runner.tick(DUE + timedelta(seconds=10 + (t - started)))
        totals.update(stats.outcomes)
        stop.wait(max(0.0, TICK_SECONDS - (time.monotonic() - t)))
    runner.close(wait=True)
    # The clock's own RSS plus its largest chart worker (they are separate processes).
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out.put((worker, dict(totals), own, workers))


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--processes", type=int, default=1, help="clock processes (several need --db postgres)")
    ap.add_argument("--threads", type=int, default=32, help="delivery threads per clock process")
    ap.add_argument("--workspaces", type=int, default=50)
    ap.add_argument("--products", type=int, default=2, help="products per workspace")
    ap.add_argument("--channels", type=int, default=10, help="channels per workspace (each gets every product)")
    ap.add_argument("--users", type=int, default=150, help="users per product")
    ap.add_argument("--latency-ms", type=float, default=50.0, help="fake Web API latency per call")
    ap.add_argument("--fake-charts", action="store_true", help="skip matplotlib (measure the fan-out alone)")
    ap.add_argument("--chart-processes", type=int, default=None,
                    help="chart worker processes per clock (default: min(4, cores); 0 = render in-thread)")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args(argv)
    if args.processes > 1 and args.db != "postgres":
        ap.error("several clock processes need --db postgres (SQLite allows one writer)")

    workdir = Path(tempfile.mkdtemp(prefix="pmf-fanout-"))
    drop = None
    if args.db == "postgres":
        url, drop = postgres_url(os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    else:
        url = f"sqlite:///{workdir / 'bench.db'}"
    fake = RateLimitedSlack(latency=args.latency_ms / 1000).start()
    try:
        t0 = time.perf_counter()
        subs = seed(url, workspaces=args.workspaces, products=args.products, channels=args.channels,
                    users=args.users)
        for ch in {c for c, _ in subs}:
            fake.add_channel(ch, member=True)
        expected = {sid for _, sid in subs}
        print(f"seeded {len(subs)} subscriptions in {len({c for c, _ in subs})} channels, "
              f"{args.workspaces} workspaces, {args.workspaces * args.products} products "
              f"({time.perf_counter() - t0:.1f}s); db={args.db}", flush=True)

        mp = multiprocessing.get_context("spawn")
        go, stop, out = mp.Event(), mp.Event(), mp.Queue()
        procs = [mp.Process(target=clock_process, args=(url, fake.api_url, f"clock-{n}", args.threads,
                                                        not args.fake_charts, args.chart_processes, go, stop, out))
                 for n in range(args.processes)]
        for p in procs:
            p.start()
        time.sleep(3)  # let the children import and connect before the clock starts
        go.set()
        start = time.perf_counter()

        def delivered() -> Counter[int]:
            seen: Counter[int] = Counter()
            with fake._lock:
                for msgs in fake.messages.values():
                    for m in msgs:
                        meta = m.get("metadata") or {}
                        if meta.get("event_type") == "pmf_digest":
                            seen[int(meta["event_payload"]["subscription_id"])] += 1
            return seen

        def charts_in() -> int:
            with fake._lock:
                return sum(1 for f in fake.files.values() if f.get("channel_id") and f.get("content"))

        all_in: float | None = None
        charts_done: float | None = None
        while time.perf_counter() - start < args.timeout:
            if all_in is None and set(delivered()) >= expected:
                all_in = time.perf_counter() - start
            if charts_in() >= len(expected):
                charts_done = time.perf_counter() - start
            if all_in is not None and charts_done is not None:
                break
            time.sleep(0.25)
        # One more tick interval: anything doubled would show up now.
        time.sleep(2)
        stop.set()
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        seen = delivered()
        duplicates = sum(n - 1 for n in seen.values() if n > 1)
        misses = len(expected - set(seen))
        charts = charts_in()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        peak = max(r[2] for r in results)
        print(f"cores: {cores}")
        print(f"clock processes: {args.processes} × {args.threads} threads; fake latency {args.latency_ms:.0f} ms; "
              f"charts {'fake' if args.fake_charts else 'real (matplotlib)'}")
        print(f"time until all {len(expected)} delivered: " + (f"{all_in:.1f} s" if all_in is not None else "NOT ALL"))
        print("time until all their charts were in the channels: "
              + (f"{charts_done:.1f} s" if charts_done is not None else "NOT ALL"))
        print(f"duplicates: {duplicates}")
        print(f"misses: {misses}")
        print(f"chart uploads: {charts}; 429s served by the fake: {fake.throttled}")
        for worker, totals, rss, child_rss in results:
            print(f"  {worker}: {json.dumps(totals, sort_keys=True)}; peak RSS {rss:.0f} MB "
                  f"(+ largest chart worker {child_rss:.0f} MB)")
        print(f"peak memory (largest clock process RSS): {peak:.0f} MB")
        ok = (duplicates == 0 and misses == 0 and all_in is not None and all_in <= TARGET_SECONDS
              and charts_done is not None and charts_done <= TARGET_SECONDS)
        print("PASS" if ok else f"FAIL (target: all delivered within {TARGET_SECONDS} s, no duplicates, no misses)")
        return 0 if ok else 1
    finally:
        fake.stop()
        if drop is not None:
            drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
