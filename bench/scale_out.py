"""Benchmark: PMF Gate scaled out on PostgreSQL (SPEC §11) — 3 ``pmfbot web`` + 2 ``pmfbot worker``
processes against the fake Slack Web API (in this process, the judge), 2,000 signed commands
(status, share, product, history) round-robined over the web processes at a steady rate, and 200
weekly digests due at once. Mid-run one worker is SIGKILLed (restarted 5 s later) and one web
process is SIGKILLed right after an ack (restarted). Printed: core count, acks and their p99,
commands lost / answered twice / told "did not finish", duplicate posts and digests, digests
without their chart, recovery time after the worker kill, digests' delivery time, the queue at
the end, and PostgreSQL connections used (peak, sampled each second) against the budget.
Exits non-zero when anything acked was lost or doubled.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/scale_out.py
    python bench/scale_out.py --commands 300 --digests 40 --rate 15      # a quicker run
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

import bot.slack.installations  # noqa: E402,F401
import storage.models_jobs  # noqa: E402,F401
from bot.demo import generate  # noqa: E402
from bot.ingest.csv_import import import_csv  # noqa: E402
from bot.products import service as product_service  # noqa: E402
from storage.db import make_engine, make_session_factory, scratch_schema  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.fakes.cluster import Cluster, Sent, answered, audit, p99  # noqa: E402
from tests.fakes.slack_api import PNG_MAGIC, FakeSlack  # noqa: E402
from tests.jobs.helpers import subscribe  # noqa: E402

MIX = ("status", "share", "product", "history", "status", "product", "status", "share")
APP = "pmfbench"


def seed(factory, digests: int, fake: FakeSlack, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    data = generate(tmp / "demo", now.date(), weeks=12)
    product = product_service.create_product(factory, slug="acme", name="Acme", team_id="T1")
    for kind, path in (("signups", data.signups), ("events", data.events), ("responses", data.responses)):
        import_csv(factory, kind=kind, path=Path(path), product_slug="acme", team_id="T1", progress=False)
    due = now - timedelta(minutes=1)
    for i in range(digests):
        channel = f"CD{i:04d}"
        fake.add_channel(channel, f"digest-{i}", member=True)
        subscribe(factory, product_id=product.id, channel_id=channel, weekday=due.weekday(),
                  local_time=due.strftime("%H:%M"), tz="UTC", effective_from=now - timedelta(days=2))


def digest_audit(fake: FakeSlack, digests: int) -> dict[str, int]:
    posted: Counter[str] = Counter()
    doubled = no_chart = 0
    for i in range(digests):
        channel = f"CD{i:04d}"
        msgs = [m for m in fake.messages.get(channel, []) if (m.get("metadata") or {}).get("event_type") == "pmf_digest"]
        posted[channel] = len(msgs)
        doubled += max(0, len(msgs) - 1)
        pngs = sum(1 for f in fake.files.values() if f.get("channel_id") == channel
                   and f.get("content", b"").startswith(PNG_MAGIC))
        no_chart += 1 if msgs and pngs == 0 else 0
    return {"digests_posted": sum(1 for n in posted.values() if n), "digests_doubled": doubled,
            "digests_without_chart": no_chart}


def doing(factory) -> set[str]:  # type: ignore[no-untyped-def]
    """The response ids of the commands the workers are running now."""
    with factory() as s:
        urls = s.execute(text("SELECT args->'payload'->>'response_url' FROM procrastinate_jobs "
                              "WHERE status = 'doing' AND task_name = 'pmf.command'")).scalars().all()
    return {str(u).rsplit("/", 1)[-1] for u in urls if u}


def connections(factory) -> int:  # type: ignore[no-untyped-def]
    with factory() as s:
        return int(s.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"),
                             {"a": APP}).scalar_one())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commands", type=int, default=2000)
    ap.add_argument("--digests", type=int, default=200)
    ap.add_argument("--rate", type=float, default=20.0, help="commands per second, all web processes together")
    ap.add_argument("--webs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    base = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    url, drop = scratch_schema(base, prefix="bench")
    url += f"&application_name={APP}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    fake = FakeSlack().start()
    fake.add_channel("C1", "general", member=True)
    fake.add_user("U1", tz="Europe/Berlin", admin=True)
    fake.delay("response", 0.2, times=10**9)  # a reply takes Slack a moment (kills land between send and record)
    tmp = Path(tempfile.mkdtemp(prefix="scale-out-"))
    seed(factory, args.digests, fake, tmp)
    cluster = Cluster(url, fake, tmp)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(1.0):
            try:
                peak = max(peak, connections(factory))
            except Exception:  # noqa: BLE001 - a sample missed
                pass

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        webs = [cluster.start_web(f"web{i + 1}") for i in range(args.webs)]
        started = time.monotonic()
        for i in range(args.workers):
            cluster.start_worker(f"worker{i + 1}")
        sampler.start()
        sent: list[Sent] = []
        down: set[str] = set()
        texts = itertools.cycle(MIX)
        kill_worker_at, restart_worker_at = args.commands * 2 // 5, args.commands * 2 // 5 + int(5 * args.rate)
        kill_web_at = args.commands * 3 // 5
        killed_at = 0.0
        before_kill: list[Sent] = []
        lock = threading.Lock()
        pace = 1.0 / args.rate
        t0 = time.monotonic()
        for i in range(args.commands):
            live = [w for w in webs if w.name not in down]
            web = live[i % len(live)]
            s = cluster.command(web, next(texts))
            with lock:
                sent.append(s)
            if i == kill_worker_at:
                in_hand = doing(factory)  # what the workers hold at the kill (worker1's among them)
                killed_at = cluster.kill("worker1")
                before_kill = [s for s in sent if s.response_id in in_hand]
            elif i == restart_worker_at:
                cluster.restart("worker1")
            elif i >= kill_web_at and not down and s.acked_working:
                cluster.kill(web.name)
                down.add(web.name)
                restart_web_at = i + int(3 * args.rate)
            elif down and i == locals().get("restart_web_at"):
                name = down.pop()
                webs = [cluster.restart(name) if w.name == name else w for w in webs]
            time.sleep(max(0.0, t0 + (i + 1) * pace - time.monotonic()))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            d = digest_audit(fake, args.digests)
            if answered(fake, sent) and d["digests_posted"] >= args.digests and not d["digests_without_chart"]:
                break
            time.sleep(0.5)
        done = time.monotonic()
        # When the last of the jobs in hand at the kill got its reply (the fake stamps each call).
        firsts = [min(c.at for c in fake.responses(s.response_id)) for s in before_kill if fake.responses(s.response_id)]
        recovered_at = max(firsts) if len(firsts) == len(before_kill) and firsts else None
        result = audit(fake, sent)
        digests = digest_audit(fake, args.digests)
        with factory() as sess:
            queue = dict(sess.execute(text(
                "SELECT status, count(*) FROM procrastinate_jobs WHERE task_name NOT LIKE 'periodic:%' "
                "AND task_name <> 'pmf.jobs.sweep_stalled' GROUP BY status")).all())
        # Graceful stop (SPEC §11): SIGTERM with a last burst of work in hand.
        burst = [cluster.command(webs[0], "status") for _ in range(8)]
        term_worker = cluster.stop("worker2")
        term_web = cluster.stop(webs[0].name)
        sent += burst
        deadline = time.monotonic() + 120
        while not answered(fake, burst) and time.monotonic() < deadline:
            time.sleep(0.5)
        result = audit(fake, sent)
        acks = [s.ack_seconds for s in sent if s.status == 200]
        budget = args.webs * 20 + args.workers * (20 + 5)
        rows = [
            ("cores", os.cpu_count()),
            ("processes", f"{args.webs} web + {args.workers} workers (4 threads each)"),
            ("commands sent / acked 'Working on…'", f"{len(sent)} / {result['acked']}"),
            ("refused (the killed web's port, never acked)", sum(1 for s in sent if s.status != 200)),
            ("ack p50 / p99 / max", f"{sorted(acks)[len(acks) // 2] * 1000:.0f} ms / {p99(acks) * 1000:.0f} ms / "
                                    f"{max(acks) * 1000:.0f} ms"),
            ("acked without a final reply", result["lost"]),
            ("acked with more than one distinct reply", result["more_than_one_reply"]),
            ("'did not finish'", result["did_not_finish"]),
            ("share posts / duplicates / charts missing",
             f"{result['posts']} / {result['duplicate_posts']} / {result['charts_missing']}"),
            ("digests due / posted / doubled / without chart",
             f"{args.digests} / {digests['digests_posted']} / {digests['digests_doubled']} / "
             f"{digests['digests_without_chart']}"),
            ("jobs in hand at the worker SIGKILL (both workers)", len(before_kill)),
            ("recovery: all of them answered, after the kill",
             f"{recovered_at - killed_at:.1f} s" if recovered_at else "not recovered"),
            ("everything answered and delivered after start", f"{done - started:.0f} s"),
            ("queue at the end (todo/doing/failed)", dict(queue) or "empty"),
            ("SIGTERM → exit (worker with jobs in hand / web)", f"{term_worker:.1f} s / {term_web:.1f} s"),
            ("PostgreSQL connections: peak / budget", f"{peak} / {budget} (pools: web 10+10, worker 10+10 + queue)"),
        ]
        width = max(len(k) for k, _ in rows)
        for k, v in rows:
            print(f"{k:<{width}}  {v}")
        bad = (result["lost"] or result["more_than_one_reply"] or result["did_not_finish"] or result["duplicate_posts"]
               or digests["digests_doubled"] or queue)
        return 1 if bad else 0
    finally:
        stop.set()
        cluster.stop_all()
        fake.stop()
        engine.dispose()
        drop()


if __name__ == "__main__":
    sys.exit(main())
