"""The README's Socket Mode path, run end to end without a real Slack, and how fast it acks right
after a reconnect.

In a fresh temporary folder: ``pmfbot demo`` (as the README says), then
``DATABASE_URL=sqlite:///pmf-demo/pmf-demo.db pmfbot socket`` against the fake Slack Web API
(``tests/fakes/slack_api.py``, via ``SLACK_API_URL``) and the fake Socket Mode endpoint
(``tests/fakes/socket_mode.py``, handed out by ``apps.connections.open``). Over the websocket it
sends what Slack sends — ``/pmf-check``, ``/pmf-check share`` and an ``app_home_opened`` event
as Socket Mode envelopes — and prints what each surface showed.

Then the reconnects. Slack retires every Socket Mode connection every few hours (a ``disconnect``
message, ``refresh_requested``), and connections also end with a close frame, by the network
dropping, or by going silent (no pong to a keepalive ping: detected after about 20 s). For each kind, ``--rounds`` times: end the current connection, wait for the app's new
one (its ``hello``), send a ``/pmf-check`` on it at once and time the ack. It prints the
reconnect time (end → new ``hello``) and p50/max of the first ack after it, beside the acks of a
settled connection. Target: the first ack after a reconnect is as fast as a settled one (well
under Slack's 3 s). Exit status 1 when a step fails or an ack misses 3 s.

    python bench/socket_mode.py
    python bench/socket_mode.py --rounds 10 --kinds refresh,close
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.render.limits import validate_message, validate_view  # noqa: E402
from tests.fakes.harness import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET  # noqa: E402
from tests.fakes.slack_api import FakeSlack, text_of  # noqa: E402
from tests.fakes.socket_mode import FakeSocketMode  # noqa: E402

PMFBOT = str(Path(sys.executable).with_name("pmfbot"))
SLACK_ACK_LIMIT = 3.0
KINDS = {"refresh": "disconnect message (refresh_requested)", "close": "close frame from Slack",
         "drop": "TCP connection dropped", "freeze": "connection silently dead (no pongs)"}


def slash(fake: FakeSlack, text: str, rid: str) -> dict[str, str]:
    return {"token": "unused", "team_id": "T1", "team_domain": "try", "channel_id": "C1", "channel_name": "general",
            "user_id": "U1", "user_name": "you", "command": "/pmf-check", "text": text, "api_app_id": "A1",
            "is_enterprise_install": "false", "response_url": fake.response_url(rid), "trigger_id": "1"}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


class Run:
    def __init__(self, fake: FakeSlack, endpoint: FakeSocketMode) -> None:
        self.fake = fake
        self.endpoint = endpoint
        self.n = 0

    def command(self, text: str, *, connection: int | None = None) -> tuple[float, dict]:
        """Send ``/pmf-check <text>``; the ack latency and the reply at its response_url."""
        self.n += 1
        rid = f"sock-{self.n}"
        envelope_id, sent = self.endpoint.send("slash_commands", slash(self.fake, text, rid), connection=connection)
        ack = self.endpoint.wait_ack(envelope_id, timeout=30)
        return ack.received_at - sent, self.fake.wait_response(rid, timeout=60)[0].params


def surfaces(run: Run) -> None:
    fake = run.fake
    latency, bound = run.command("product use acme")
    print(f"/pmf-check product use acme: acked in {ms(latency)}; reply: {text_of(bound).splitlines()[0]}")
    latency, status = run.command("")
    validate_message(status)
    print(f"/pmf-check over Socket Mode: acked in {ms(latency)}")
    print("\n".join(text_of(status).splitlines()[:5]))
    fake.wait_for(lambda: fake.uploaded_png("DU1"), timeout=60, what="chart in the DM")
    print(f"chart PNGs in your DM: {len(fake.uploaded_png('DU1'))}")
    latency, share = run.command("share")
    print(f"/pmf-check share: acked in {ms(latency)}; reply: {text_of(share).splitlines()[0]}")
    post = fake.wait_calls("chat.postMessage", timeout=60, channel="C1")[0]
    validate_message({"text": post.params["text"], "blocks": post.json_param("blocks") or []})
    print(f"posted in #general: {post.params['text'].splitlines()[0]}")
    event = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "EvSOCK",
             "event_time": int(time.time()),
             "event": {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home",
                       "event_ts": str(time.time())}}
    envelope_id, sent = run.endpoint.send("events_api", event)
    ack = run.endpoint.wait_ack(envelope_id)
    view = fake.wait_calls("views.publish", timeout=60)[0].json_param("view")
    validate_view(view)
    home = [line for line in text_of({"blocks": view["blocks"]}).splitlines() if line.strip()]
    print(f"app_home_opened: acked in {ms(ack.received_at - sent)}; App Home: {home[0]}")


def reconnects(run: Run, kinds: list[str], rounds: int) -> list[float]:
    endpoint = run.endpoint
    settled = [run.command("")[0] for _ in range(rounds)]
    print(f"\nsettled connection: first-ack p50 {ms(statistics.median(settled))}, max {ms(max(settled))} "
          f"({rounds} commands)")
    every = list(settled)
    for kind in kinds:
        gaps, acks = [], []
        for _ in range(rounds):
            before = endpoint.connections
            started = time.monotonic()
            getattr(endpoint, kind)()
            conn = endpoint.wait_connection(before + 1, timeout=120)
            gaps.append(conn.hello_at - started)
            latency, reply = run.command("", connection=conn.number)
            validate_message(reply)
            acks.append(latency)
        every += acks
        print(f"after {KINDS[kind]}: reconnected in p50 {ms(statistics.median(gaps))} (max {ms(max(gaps))}); "
              f"first ack p50 {ms(statistics.median(acks))}, max {ms(max(acks))} ({rounds} rounds)")
    return every


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kinds", default="refresh,close,drop,freeze", help="comma-separated: " + ", ".join(KINDS))
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    if unknown := [k for k in kinds if k not in KINDS]:
        parser.error(f"unknown kind(s) {', '.join(unknown)}: choose from {', '.join(KINDS)}")
    print(f"cores: {os.cpu_count()}")
    fake = FakeSlack().start()
    fake.add_channel("C1", "general", member=True)
    fake.add_user("U1", tz="Europe/Berlin", admin=True)  # installed the app: binds channels
    endpoint = FakeSocketMode()
    fake.socket_mode_url = endpoint.url
    with tempfile.TemporaryDirectory() as tmp:
        demo = subprocess.run([PMFBOT, "demo"], cwd=tmp, capture_output=True, text=True, env=dict(os.environ))
        if demo.returncode:
            print(demo.stdout, demo.stderr)
            return 1
        print(f"pmfbot demo: {demo.stdout.splitlines()[-1] if demo.stdout else 'done'}")
        env = dict(os.environ, DATABASE_URL="sqlite:///pmf-demo/pmf-demo.db", SLACK_BOT_TOKEN=BOT_TOKEN,
                   SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_APP_TOKEN="xapp-1-bench", PMFBOT_SECRET_KEY=SECRET_KEY,
                   SLACK_API_URL=fake.api_url, LOG_LEVEL="INFO")
        env.pop("SLACK_CLIENT_ID", None)
        log_path = Path(tmp) / "socket.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen([PMFBOT, "socket"], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while "PMF Gate ready" not in log_path.read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    print(log_path.read_text())
                    return 1
                time.sleep(0.05)
            print(next(line for line in log_path.read_text().splitlines() if "PMF Gate ready" in line))
            run = Run(fake, endpoint)
            surfaces(run)
            acks = reconnects(run, kinds, args.rounds)
        finally:
            proc.terminate()
            proc.wait(30)
            endpoint.stop()
            fake.stop()
        noisy = [line for line in log_path.read_text().splitlines() if " WARNING " in line or " ERROR " in line
                 or "Traceback" in line]
        print(f"\npmfbot socket logged {len(noisy)} warning/error line(s)" + "".join(f"\n  {x}" for x in noisy[:10]))
    slow = [a for a in acks if a >= SLACK_ACK_LIMIT]
    if slow:
        print(f"{len(slow)} ack(s) took {SLACK_ACK_LIMIT:.0f} s or more: Slack would have shown the user an error")
        return 1
    print("every message and view is within Block Kit's limits; every ack came within Slack's 3 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
