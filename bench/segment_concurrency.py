"""Benchmark: concurrent Segment clients against the real ``pmfbot web`` (gunicorn, its default
workers and threads unless ``WEB_CONCURRENCY`` / ``WEB_THREADS`` say otherwise).

Migrates a fresh database (a SQLite file by default, or a throwaway PostgreSQL schema), creates a
product and its write key with the CLI, starts ``pmfbot web``, then ``--clients`` threads each send
``--batches`` ``POST /v1/batch`` requests of ``--size`` track/identify messages (users shared
between clients, so their writes touch the same rows). It prints each request's latency p50, p99
and max, the machine's core count, the non-200 answers, and checks the stored rows: every
messageId stored once, every (user, week) once.

    python bench/segment_concurrency.py                       # SQLite, 20 clients x 200 batches
    python bench/segment_concurrency.py --db postgresql --pg-url postgresql://postgres@127.0.0.1:5432/test

Exits non-zero when a message was lost or doubled or a request was not answered 200.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.processes import free_port, timed_post, wait_healthy  # noqa: E402 - after the path set-up
from tests.fakes.slack_api import FakeSlack  # noqa: E402

PMFBOT = [sys.executable, "-m", "bot.cli"]
USERS = 500  # shared by all clients


def _database(kind: str, pg_url: str, workdir: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    from storage.db import scratch_schema

    return scratch_schema(pg_url, prefix="bench")


def _post(url: str, body: bytes, key: str) -> tuple[int, float]:
    auth = base64.b64encode(f"{key}:".encode()).decode()
    return timed_post(url, body, {"Content-Type": "application/json", "Authorization": f"Basic {auth}"}, timeout=60)


def _batch(client: int, n: int, size: int) -> bytes:
    msgs = []
    for i in range(size):
        user = f"user-{(client * 7919 + n * 31 + i) % USERS}"
        day = 1 + (n + i) % 28
        msgs.append({"type": "identify" if i == 0 else "track", "userId": user, "event": "Used",
                     "messageId": f"c{client}-b{n}-m{i}", "timestamp": f"2026-10-{day:02d}T10:00:00Z"})
    return json.dumps({"batch": msgs}).encode()



def _stored(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            def one(sql: str) -> int:
                return int(conn.execute(text(sql)).scalar() or 0)
            return {"messages": one("SELECT count(*) FROM segment_messages"),
                    "distinct_messages": one("SELECT count(DISTINCT message_id) FROM segment_messages"),
                    "users": one("SELECT count(*) FROM product_users"),
                    "user_weeks": one("SELECT count(*) FROM activity_weeks"),
                    "distinct_user_weeks": one("SELECT count(*) FROM (SELECT DISTINCT user_id, week "
                                               "FROM activity_weeks) d")}
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    fake = FakeSlack().start()
    with tempfile.TemporaryDirectory(prefix="segment-bench-") as tmp:
        url, drop = _database(args.db, args.pg_url, Path(tmp))
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_API_URL": fake.api_url,
               "SLACK_SIGNING_SECRET": "bench-signing-secret", "PMFBOT_SECRET_KEY": "bench-secret-key-0123456789",
               "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        for var in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN"):
            env.pop(var, None)
        subprocess.run([*PMFBOT, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run([*PMFBOT, "product", "create", "bench", "--name", "Bench"], env=env, check=True,
                       capture_output=True)
        key = subprocess.run([*PMFBOT, "token", "create", "--product", "bench"], env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        web = subprocess.Popen([*PMFBOT, "web"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        latencies: list[float] = []
        statuses: list[int] = []
        lock = threading.Lock()
        try:
            wait_healthy(base, web)

            def client(c: int) -> None:
                for n in range(args.batches):
                    status, spent = _post(base + "/v1/batch", _batch(c, n, args.size), key)
                    with lock:
                        latencies.append(spent)
                        statuses.append(status)

            threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
            counts = _stored(url)
        finally:
            web.terminate()
            try:
                web.wait(timeout=20)
            except subprocess.TimeoutExpired:
                web.kill()
            fake.stop()
            drop()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    sent = args.clients * args.batches * args.size
    return {"db": args.db, "cores": os.cpu_count(), "clients": args.clients, "batches_each": args.batches,
            "messages_per_batch": args.size, "requests": len(ordered), "wall_s": round(wall, 1),
            "p50_ms": round(pct(50) * 1000, 1), "p99_ms": round(pct(99) * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1), "non_200": sum(1 for s in statuses if s != 200),
            "messages_sent": sent, **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--size", type=int, default=10, help="messages per batch")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))
    ok = (result["non_200"] == 0 and result["messages"] == result["distinct_messages"] == result["messages_sent"]
          and result["user_weeks"] == result["distinct_user_weeks"])
    print(f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms on {result['cores']} cores; "
          + ("all stored once" if ok else "LOST, DOUBLED OR REFUSED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
