"""Real ``pmfbot web`` and ``pmfbot worker`` processes against one database and the fake Slack
Web API, for the scale-out test (tests/e2e/test_scale_out.py) and bench/scale_out.py: start,
SIGKILL and restart them, send signed ``/pmf-check`` commands round-robin, and audit what Slack
received (SPEC §11's promises: one final reply per acked command, no duplicate post, a chart
under every share and digest, no false "did not finish")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from tests.fakes.harness import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET, sign
from tests.fakes.processes import free_port, stop_process_group
from tests.fakes.slack_api import PNG_MAGIC, FakeSlack

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Proc:
    kind: str  # web | worker
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str = ""


@dataclass
class Sent:
    text: str
    response_id: str
    web: str
    status: int
    ack: str
    ack_seconds: float
    at: float = field(default_factory=time.monotonic)

    @property
    def acked_working(self) -> bool:
        return self.status == 200 and "Working on" in self.ack


class Cluster:
    def __init__(self, db_url: str, fake: FakeSlack, logs: Path, **env: str) -> None:
        self.env = {**os.environ, "DATABASE_URL": db_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url,
                    "PMFBOT_SECRET_KEY": SECRET_KEY, "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1",
                    "WEB_THREADS": "8", "LOG_LEVEL": "INFO", **env}
        for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN", "JOB_QUEUE"):
            self.env.pop(name, None) if name not in env else None
        self.fake = fake
        self.logs = logs
        self.procs: dict[str, Proc] = {}

    def _spawn(self, kind: str, name: str, port: int | None = None) -> Proc:
        log = self.logs / f"{name}.log"
        env = dict(self.env)
        if port is not None:
            env["PORT"] = str(port)
        with open(log, "ab") as out:
            popen = subprocess.Popen([sys.executable, "-m", "bot.cli", kind], cwd=ROOT, env=env, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        proc = Proc(kind, name, popen, log, f"http://127.0.0.1:{port}" if port else "")
        self.procs[name] = proc
        return proc

    def start_web(self, name: str, port: int | None = None) -> Proc:
        proc = self._spawn("web", name, port or free_port())
        self._wait(proc, lambda: _healthy(proc.url))
        return proc

    def start_worker(self, name: str) -> Proc:
        proc = self._spawn("worker", name)
        self._wait(proc, lambda: "worker ready" in proc.log.read_text(errors="replace"))
        return proc

    def _wait(self, proc: Proc, ready: Any, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not start:\n{proc.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)

    def kill(self, name: str) -> float:
        """SIGKILL the process group (no goodbye); the monotonic time of the kill."""
        proc = self.procs[name]
        os.killpg(proc.popen.pid, signal.SIGKILL)
        proc.popen.wait()
        return time.monotonic()

    def restart(self, name: str) -> Proc:
        proc = self.procs[name]
        if proc.kind == "web":
            return self.start_web(name, int(proc.url.rsplit(":", 1)[1]))
        return self.start_worker(name)

    def stop(self, name: str, timeout: float = 40.0) -> float:
        """SIGTERM and wait; seconds until it exited."""
        started = time.monotonic()
        stop_process_group(self.procs[name].popen, timeout=timeout)
        return time.monotonic() - started

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.popen.poll() is None:
                stop_process_group(proc.popen, timeout=40)

    def webs(self) -> list[Proc]:
        return [p for p in self.procs.values() if p.kind == "web"]

    def command(self, web: Proc, text: str, *, channel: str = "C1", user: str = "U1") -> Sent:
        rid = uuid.uuid4().hex[:12]
        form = urlencode({"team_id": "T1", "team_domain": "t1", "channel_id": channel, "channel_name": "general",
                          "user_id": user, "command": "/pmf-check", "text": text, "api_app_id": "A1",
                          "response_url": self.fake.response_url(rid), "trigger_id": "t.1"}).encode()
        req = Request(web.url + "/slack/events", data=form, method="POST",
                      headers={"Content-Type": "application/x-www-form-urlencoded", **sign(form)})
        started = time.perf_counter()
        try:
            with urlopen(req, timeout=10) as r:
                body, status = r.read().decode(), r.status
        except (URLError, ConnectionError, OSError) as err:
            body, status = str(err), 0
        return Sent(text, rid, web.name, status, body, time.perf_counter() - started)


def _healthy(url: str) -> bool:
    try:
        with urlopen(url + "/healthz", timeout=2) as r:
            return r.status == 200
    except (URLError, ConnectionError, OSError):
        return False


def final_replies(fake: FakeSlack, sent: Sent) -> list[dict[str, Any]]:
    return [c.params for c in fake.responses(sent.response_id)]


def answered(fake: FakeSlack, sent: list[Sent]) -> bool:
    return all(final_replies(fake, s) for s in sent if s.acked_working)


def audit(fake: FakeSlack, sent: list[Sent], channel: str = "C1") -> dict[str, int]:
    """What SPEC §11 promises, counted (every key but ``acked`` should be 0)."""
    acked = [s for s in sent if s.acked_working]
    lost = sum(1 for s in acked if not final_replies(fake, s))
    # A reply repeated after a crash replaces the same message with the same text: one message.
    more_than_one = sum(1 for s in acked if len({r.get("text") for r in final_replies(fake, s)}) > 1
                        or not all(r.get("replace_original") for r in final_replies(fake, s)))
    false_dnf = sum(1 for s in acked for r in final_replies(fake, s) if "did not finish" in str(r.get("text")))
    posts = [m for m in fake.messages.get(channel, []) if (m.get("metadata") or {}).get("event_type") == "pmf_gate_report"]
    deliveries = Counter(str((m["metadata"].get("event_payload") or {}).get("delivery")) for m in posts)
    duplicates = sum(n - 1 for n in deliveries.values())
    pngs = sum(1 for f in fake.files.values()
               if f.get("channel_id") == channel and f.get("content", b"").startswith(PNG_MAGIC))
    shares_ok = sum(1 for s in acked if s.text == "share" and final_replies(fake, s))
    return {"acked": len(acked), "lost": lost, "more_than_one_reply": more_than_one, "did_not_finish": false_dnf,
            "duplicate_posts": duplicates, "posts": len(posts), "shares_answered": shares_ok,
            "charts_missing": max(0, len(posts) - pngs)}


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0
