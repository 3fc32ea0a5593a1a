"""Benchmark: how fast ``pmfbot web`` acks ``/pmf-check`` and delivers the report with its chart.

Starts the real web process (gunicorn, ``pmfbot web``) on loopback against the fake Slack Web
API (``tests/fakes/slack_api.py``, via ``SLACK_API_URL``) and a prepared SQLite database holding
demo-size products (``bot.demo``'s generator imported through ``bot.ingest.csv_import``), then sends
``--requests`` correctly signed ``/pmf-check`` commands at ``--concurrency``. It prints the core
count and p50/p95/p99 of (a) the ack — the HTTP answer to the command — and (b) the time until
the report reaches the command's response_url, which in the app happens after the chart PNG has
been uploaded to the user's DM, so (b) is "report with chart delivered". The fake runs in its own
process, so its work does not hold the load generator's GIL and inflate the measured acks.

By default each of the ``--concurrency`` simulated users sends a command, waits until its report
has arrived, then sends the next (a closed loop: that many commands in flight). ``--open`` sends
the next command as soon as the previous one is acked instead, which piles reports up behind a
stream of acks — a stress test of the work queue rather than a model of people.

Requests cycle over ``--products`` products; the first request for each product computes its
report and chart (the statistics and matplotlib), later ones hit the per-process report cache
(invalidated by any new data). ``--cold`` clears nothing but gives every product its own first
request inside the timed run, so the numbers include cache misses. Targets on 2 cores at
concurrency 20: ack p99 < 300 ms; report + chart p95 < 2 s. Exit status 1 when a target is missed
or a request fails.

    python bench/slack_ack.py                              # 200 requests, concurrency 20, 1 product
    python bench/slack_ack.py --requests 400 --products 4 --cold
    python bench/slack_ack.py --open --requests 1000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.products.channels import use_product  # noqa: E402
from tests.fakes.harness import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET, sign  # noqa: E402
from tests.fakes.processes import free_port  # noqa: E402
from tests.fakes.slack_api import PNG_MAGIC, FakeSlack  # noqa: E402

TEAM = "TBENCH"
ACK_P99_TARGET = 0.300
REPORT_P95_TARGET = 2.0


class RemoteFake:
    """The fake Slack Web API in a child process; asked for what it recorded over a pipe."""

    def __init__(self, channels: list[str]) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._lock = threading.Lock()
        self._proc = ctx.Process(target=_serve_fake, args=(child, channels), daemon=True)
        self._proc.start()
        self.url, self.api_url = self._conn.recv()

    def response_url(self, rid: str) -> str:
        return f"{self.url}/response/{rid}"

    def ask(self, question: str) -> object:
        with self._lock:
            self._conn.send(question)
            return self._conn.recv()

    def stop(self) -> None:
        self.ask("stop")
        self._proc.join(timeout=10)


def _serve_fake(conn: object, channels: list[str]) -> None:
    fake = FakeSlack().start()
    for ch in channels:
        fake.add_channel(ch, member=True)
    conn.send((fake.url, fake.api_url))  # type: ignore[attr-defined]
    while True:
        question = conn.recv()  # type: ignore[attr-defined]
        if question == "responses":
            conn.send([(c.path.rsplit("/", 1)[-1], c.at) for c in fake.responses()])  # type: ignore[attr-defined]
        elif question == "pngs":
            conn.send(sum(1 for f in list(fake.files.values())  # type: ignore[attr-defined]
                          if f.get("content", b"").startswith(PNG_MAGIC)))
        elif question == "stop":
            fake.stop()
            conn.send(True)  # type: ignore[attr-defined]
            return


def prepare_database(folder: Path, products: int) -> str:
    from bot.demo import generate
    from bot.ingest.csv_import import import_csv
    from bot.products import service as product_service
    from storage.db import make_engine, make_session_factory
    from storage.migrate import upgrade

    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    today = date.today()
    data = generate(folder / "data", today - timedelta(days=today.weekday()))
    for i in range(products):
        slug = f"acme{i}" if products > 1 else "acme"
        product_service.create_product(factory, slug=slug, name=f"Acme {i}", team_id=TEAM)
        for kind, path in (("signups", data.signups), ("events", data.events), ("responses", data.responses)):
            import_csv(factory, kind=kind, path=path, product_slug=slug, team_id=TEAM, progress=False)
    print(f"database: {products} product(s) of {data.users:,} users, {data.event_rows:,} events, "
          f"{data.response_rows} survey answers each")
    return url


def bind_channels(url: str, products: int) -> list[str]:
    """One channel per product (bound with ``product use``), so requests spread over them."""
    from storage.db import make_engine, make_session_factory

    factory = make_session_factory(make_engine(url))
    channels = []
    for i in range(products):
        channel = f"CB{i:04d}"
        slug = f"acme{i}" if products > 1 else "acme"
        use_product(factory, team_id=TEAM, channel_id=channel, slug=slug, single_workspace=True)
        channels.append(channel)
    return channels


def start_web(db_url: str, fake: RemoteFake, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url, "PMFBOT_SECRET_KEY": SECRET_KEY,
           "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": str(workers), "WEB_THREADS": str(threads),
           "LOG_LEVEL": "WARNING"}
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    pmfbot = Path(sys.executable).with_name("pmfbot")
    cmd = [str(pmfbot), "web"] if pmfbot.exists() else [sys.executable, "-m", "bot.cli", "web"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except (URLError, OSError):
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop(proc)
    raise SystemExit("pmfbot web did not start:\n" + log.read_text()[-3000:])


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def send(base: str, fake: RemoteFake, channel: str, user: str) -> tuple[str, float, float, int]:
    """One signed command; returns (response id, start, ack seconds, HTTP status)."""
    rid = uuid.uuid4().hex[:12]
    form = urlencode({"team_id": TEAM, "team_domain": "bench", "channel_id": channel, "channel_name": "bench",
                      "user_id": user, "command": "/pmf-check", "text": "", "api_app_id": "A1",
                      "response_url": fake.response_url(rid), "trigger_id": f"t.{rid}"}).encode()
    req = Request(base + "/slack/events", data=form, method="POST",
                  headers={"Content-Type": "application/x-www-form-urlencoded", **sign(form)})
    started = time.monotonic()
    try:
        with urlopen(req, timeout=10) as r:
            r.read()
            status = r.status
    except URLError as err:
        status = getattr(err, "code", 0) or 0
    return rid, started, time.monotonic() - started, status


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def run(args: argparse.Namespace) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores: {cores} (os.cpu_count() = {os.cpu_count()}); gunicorn {args.workers} workers x "
          f"{args.threads} threads; concurrency {args.concurrency} ({'open' if args.open else 'closed'} loop); "
          f"{args.requests} requests")
    with tempfile.TemporaryDirectory(prefix="pmf-bench-") as tmp:
        folder = Path(tmp)
        db_url = prepare_database(folder, args.products)
        channels = bind_channels(db_url, args.products)
        fake = RemoteFake(channels)
        port = free_port()
        proc = start_web(db_url, fake, port, args.workers, args.threads, folder / "web.log")
        base = f"http://127.0.0.1:{port}"
        try:
            if not args.cold:
                # Warm every worker's imports and each product's report, untimed: parallel requests,
                # so that each gunicorn worker (they compete for connections) gets some.
                with ThreadPoolExecutor(max_workers=4 * args.workers) as pool:
                    warm = set(pool.map(lambda ch: send(base, fake, ch, "UWARM")[0],
                                        [ch for ch in channels for _ in range(4 * args.workers)]))
                deadline = time.monotonic() + 60
                while not warm <= {rid for rid, _ in fake.ask("responses")} and time.monotonic() < deadline:  # type: ignore[attr-defined]
                    time.sleep(0.1)
            jobs = [(channels[i % len(channels)], f"U{i:05d}") for i in range(args.requests)]
            results: list[tuple[str, float, float, int]] = []
            lock = threading.Lock()
            delivered: dict[str, float] = {}
            arrived = threading.Condition()
            stop_watch = threading.Event()

            def watch() -> None:  # records when each report reached the fake
                while not stop_watch.is_set():
                    got = fake.ask("responses")
                    with arrived:
                        for rid, at in got:  # type: ignore[attr-defined]
                            delivered.setdefault(rid, at)
                        arrived.notify_all()
                    time.sleep(0.02)

            def one(job: tuple[str, str]) -> None:
                r = send(base, fake, *job)
                with lock:
                    results.append(r)
                if not args.open and r[3] == 200:
                    with arrived:
                        arrived.wait_for(lambda: r[0] in delivered, timeout=args.timeout)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            wall = time.monotonic()
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                list(pool.map(one, jobs))
            failures = [r for r in results if r[3] != 200]
            wanted = {r[0] for r in results if r[3] == 200}
            with arrived:
                arrived.wait_for(lambda: wanted <= delivered.keys(), timeout=args.timeout)
            elapsed = time.monotonic() - wall
            stop_watch.set()
            watcher.join()
            pngs = fake.ask("pngs")
        finally:
            stop(proc)
            fake.stop()

        acks = [r[2] for r in results if r[3] == 200]
        reports = [delivered[r[0]] - r[1] for r in results if r[0] in delivered]
        missing = len(results) - len(failures) - len(reports)
        print(f"\n{'':<28}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}")
        for name, xs in (("ack (HTTP answer)", acks), ("report + chart delivered", reports)):
            print(f"{name:<28}" + "".join(f"{pct(xs, p) * 1000:>7.0f}ms" for p in (50, 95, 99, 100)))
        print(f"\n{len(results)} requests in {elapsed:.1f} s; {len(failures)} failed acks; {missing} reports not "
              f"delivered; {pngs} PNG charts uploaded")
        ok = (not failures and not missing and pct(acks, 99) < ACK_P99_TARGET and pct(reports, 95) < REPORT_P95_TARGET)
        print(f"targets (ack p99 < {ACK_P99_TARGET * 1000:.0f} ms, report p95 < {REPORT_P95_TARGET:.0f} s): "
              f"{'met' if ok else 'MISSED'}")
        log = (folder / "web.log").read_text(errors="replace").strip()
        if log and (not ok or args.verbose):
            print("\nweb process log (last lines):\n" + "\n".join(log.splitlines()[-30:]))
        return 0 if ok else 1


def main() -> None:
    from bot.web import THREADS, WORKERS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--products", type=int, default=1, help="spread requests over this many products")
    parser.add_argument("--open", action="store_true", help="send the next command on the ack, not on the report")
    parser.add_argument("--cold", action="store_true", help="no warm-up: the timed run includes cache misses")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=THREADS, help="gunicorn threads per worker (WEB_THREADS)")
    parser.add_argument("--verbose", action="store_true", help="print the web process's log")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the last report")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
