"""Benchmark: 1,000 people answering a survey within a minute, through the real ``pmfbot web``.

Starts the fake Slack Web API (``tests/fakes/slack_api.py``) in this process, migrates a fresh
database (SQLite file or a throwaway PostgreSQL schema), creates a product and runs the real
``pmfbot web`` (gunicorn, its default workers and threads unless ``WEB_CONCURRENCY`` /
``WEB_THREADS`` say otherwise) as a child process pointed at the fake. A signed ``/pmf-check
survey start`` posts the survey; then ``--answers`` distinct people click an answer button,
spread evenly over ``--seconds`` (0 = as fast as the client threads go), each click a correctly
signed block_actions request. It measures every click's HTTP ack time, waits for the app to
finish, and counts the stored responses and the live count the survey message ended on.

    python bench/survey_burst.py                         # 1,000 answers in 60 s, SQLite and PostgreSQL
    python bench/survey_burst.py --db sqlite --answers 1000 --seconds 10

Exits non-zero when an answer was lost, a click was not acked within 3 s, or the message does
not end on the final count.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.processes import free_port, timed_post, wait_healthy  # noqa: E402 - after the path set-up
from tests.fakes.slack_api import FakeSlack  # noqa: E402

SIGNING_SECRET = "bench-signing-secret"
TEAM = "T1"
CHANNEL = "C0BENCH01"
ACK_LIMIT_S = 3.0
PMFBOT = [sys.executable, "-m", "bot.cli"]


def _signed(body: bytes, content_type: str) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={sig}"}


def _post(url: str, body: bytes, content_type: str, timeout: float = 30.0) -> tuple[int, float]:
    return timed_post(url, body, _signed(body, content_type), timeout=timeout)


# ----------------------------------------------------------------------------- database
class Database:
    """A fresh database for one run: a SQLite file, or a PostgreSQL schema dropped afterwards."""

    def __init__(self, kind: str, pg_url: str, workdir: Path) -> None:
        self.kind = kind
        self._admin = None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.db'}"
            return
        from sqlalchemy import text

        from storage.db import make_engine, normalise_url

        base = normalise_url(pg_url)
        self.schema = f"bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._admin = make_engine(base)
        with self._admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        sep = "&" if "?" in base else "?"
        self.url = f"{base}{sep}options={quote(f'-csearch_path={self.schema}')}"

    def count_responses(self, survey_id: int) -> int:
        from sqlalchemy import func, select

        from storage.db import make_engine
        from storage.models import SurveyResponse

        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(SurveyResponse)
                                        .where(SurveyResponse.survey_id == survey_id)).scalar() or 0)
        finally:
            engine.dispose()

    def drop(self) -> None:
        if self._admin is not None:
            from sqlalchemy import text

            with self._admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self._admin.dispose()


# ----------------------------------------------------------------------------- one run
def run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    fake = FakeSlack().start()
    fake.add_channel(CHANNEL, "bench", member=True)
    # Starting a survey is for a product's managers or a workspace admin (README "Who may change what").
    fake.add_user("UOWNER", name="owner", admin=True)
    with tempfile.TemporaryDirectory(prefix="survey-burst-") as tmp:
        db = Database(kind, args.pg_url, Path(tmp))
        port = free_port()
        env = {**os.environ, "DATABASE_URL": db.url, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_API_URL": fake.api_url,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "PMFBOT_SECRET_KEY": "bench-secret-key-0123456789",
               "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        for var in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN"):
            env.pop(var, None)
        subprocess.run([*PMFBOT, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run([*PMFBOT, "product", "create", "bench", "--name", "Bench", "--workspace", TEAM], env=env,
                       check=True, capture_output=True)
        web = subprocess.Popen([*PMFBOT, "web"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, web)
            survey_id = _start_survey(base, fake)
            latencies, statuses, spent = _burst(base, survey_id, args)
            processed, stored, shown, updates = _settle(fake, db, survey_id, args.answers)
        finally:
            web.terminate()
            try:
                web.wait(timeout=20)
            except subprocess.TimeoutExpired:
                web.kill()
            fake.stop()
            db.drop()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    return {
        "db": kind, "answers": args.answers, "window_s": args.seconds, "sent_in_s": round(spent, 2),
        "ack_p50_ms": round(pct(50) * 1000, 1), "ack_p90_ms": round(pct(90) * 1000, 1),
        "ack_p99_ms": round(pct(99) * 1000, 1), "ack_max_ms": round(ordered[-1] * 1000, 1),
        "ack_mean_ms": round(statistics.fmean(ordered) * 1000, 1),
        "acked_under_3s": sum(1 for x in latencies if x < ACK_LIMIT_S), "non_200": sum(1 for s in statuses if s != 200),
        "stored": stored, "lost": args.answers - stored, "all_stored_after_s": processed,
        "count_shown": shown, "chat_update_calls": updates,
    }



def _start_survey(base: str, fake: FakeSlack) -> int:
    form = {"team_id": TEAM, "team_domain": "bench", "channel_id": CHANNEL, "channel_name": "bench",
            "user_id": "UOWNER", "user_name": "owner", "command": "/pmf-check", "text": "survey start",
            "api_app_id": "A1", "response_url": fake.response_url("start"), "trigger_id": "trig.start"}
    status, _ = _post(base + "/slack/events", urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert status == 200, f"survey start answered HTTP {status}"
    post = fake.wait_for(lambda: next((c for c in fake.calls_to("chat.postMessage", channel=CHANNEL)
                                       if "pmf.survey.answer" in json.dumps(c.params.get("blocks"))), None),
                         timeout=30, what="the survey message")
    blocks = post.json_param("blocks")
    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])
    return int(button["value"])


def _burst(base: str, survey_id: int, args: argparse.Namespace) -> tuple[list[float], list[int], float]:
    msg_ts = "1700000001.000001"  # the fake's first ts: the survey message
    answers = ["very", "somewhat", "not", "na"]
    latencies: list[float] = [0.0] * args.answers
    statuses: list[int] = [0] * args.answers
    step = args.seconds / args.answers if args.seconds else 0.0
    t0 = time.perf_counter()

    def one(i: int) -> None:
        due = t0 + i * step
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        payload = {
            "type": "block_actions", "team": {"id": TEAM}, "user": {"id": f"U{100000 + i}", "team_id": TEAM},
            "api_app_id": "A1", "trigger_id": f"trig.{i}",
            "container": {"type": "message", "message_ts": msg_ts, "channel_id": CHANNEL},
            "channel": {"id": CHANNEL}, "message": {"ts": msg_ts},
            "actions": [{"type": "button", "action_id": f"pmf.survey.answer.{answers[i % 4]}", "block_id": "b",
                         "value": str(survey_id), "action_ts": f"{time.time():.6f}"}],
        }
        statuses[i], latencies[i] = _post(base + "/slack/events", urlencode({"payload": json.dumps(payload)}).encode(),
                                          "application/x-www-form-urlencoded")

    with ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(one, range(args.answers)))
    return latencies, statuses, time.perf_counter() - t0


def _settle(fake: FakeSlack, db: Database, survey_id: int, expected: int,
            timeout: float = 120.0) -> tuple[float | None, int, int | None, int]:
    """Wait until every answer is stored and the message shows the final count (or time out)."""
    started = time.monotonic()
    processed_after: float | None = None
    stored = 0
    while time.monotonic() - started < timeout:
        stored = db.count_responses(survey_id)
        if stored >= expected:
            processed_after = round(time.monotonic() - started, 2)
            break
        time.sleep(0.25)
    shown: int | None = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        updates = fake.calls_to("chat.update")
        if updates:
            blocks = updates[-1].json_param("blocks") or []
            text = json.dumps(blocks)
            digits = [int(w.replace(",", "")) for w in text.replace("*", " ").split() if w.replace(",", "").isdigit()]
            shown = digits[-1] if digits else None
            if shown == stored:
                break
        time.sleep(0.25)
    return processed_after, stored, shown, len(fake.calls_to("chat.update"))


# ----------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0, help="spread the clicks over this many seconds (0: flat out)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent client threads")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    workers = os.environ.get("WEB_CONCURRENCY", "default")
    threads = os.environ.get("WEB_THREADS", "default")
    print(f"cores: {os.cpu_count()}  ·  pmfbot web: WEB_CONCURRENCY={workers}, WEB_THREADS={threads}  ·  "
          f"{args.answers} answers over {args.seconds:g} s from {args.clients} client threads")
    ok = True
    for kind in kinds:
        r = run(kind, args)
        print(json.dumps(r))
        print(f"{kind:>8}: ack p50 {r['ack_p50_ms']} ms, p90 {r['ack_p90_ms']} ms, p99 {r['ack_p99_ms']} ms, "
              f"max {r['ack_max_ms']} ms; {r['acked_under_3s']}/{r['answers']} acked < 3 s; non-200: {r['non_200']}; "
              f"stored {r['stored']}/{r['answers']} (lost {r['lost']}); message shows {r['count_shown']} after "
              f"{r['chat_update_calls']} chat.update calls")
        ok &= r["lost"] == 0 and r["acked_under_3s"] == r["answers"] and r["non_200"] == 0 \
            and r["count_shown"] == r["stored"]
    threading.Event().wait(0)  # nothing left running: the web process and the fake are stopped
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
