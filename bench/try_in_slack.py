"""The README's "Try it in Slack" path, run end to end without a real Slack, over both of its
transports.

In a fresh temporary folder: ``pmfbot demo`` (exactly as the README says), then, on its database
(``DATABASE_URL=sqlite:///pmf-demo/pmf-demo.db``), each way the README starts PMF Gate:

- ``pmfbot web`` against the fake Slack Web API (``tests/fakes/slack_api.py``, via
  ``SLACK_API_URL``), sent signed requests as Slack sends them;
- ``pmfbot socket`` against the same fake and the fake Socket Mode endpoint
  (``tests/fakes/socket_mode.py``, handed out by ``apps.connections.open``), sent the same
  requests as Socket Mode envelopes over the websocket.

Each walks the README's steps — ``/pmf-check product use acme``, ``/pmf-check``,
``/pmf-check share``, ``/pmf-check digest now``, the App Home — prints what each surface showed
and how fast it was acked, checks every message and the Home view against the Block Kit limits,
and exits 1 when a step fails.

    python bench/try_in_slack.py                 # both
    python bench/try_in_slack.py --only socket
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.render.limits import validate_message, validate_view  # noqa: E402
from tests.fakes.harness import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET, sign  # noqa: E402
from tests.fakes.processes import free_port  # noqa: E402
from tests.fakes.slack_api import FakeSlack, text_of  # noqa: E402
from tests.fakes.socket_mode import FakeSocketMode  # noqa: E402

PMFBOT = str(Path(sys.executable).with_name("pmfbot"))
DEMO_DB = "sqlite:///pmf-demo/pmf-demo.db"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def rid(text: str) -> str:
    """The response id a command's text is answered under (its response_url ends with it)."""
    return text.replace(" ", "-") or "empty"


def slash_fields(fake: FakeSlack, text: str, rid: str) -> dict[str, str]:
    return {"token": "unused", "team_id": "T1", "team_domain": "try", "channel_id": "C1", "channel_name": "general",
            "user_id": "U1", "user_name": "you", "command": "/pmf-check", "text": text, "api_app_id": "A1",
            "is_enterprise_install": "false", "response_url": fake.response_url(rid), "trigger_id": "1"}


def home_opened() -> dict[str, Any]:
    return {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home",
                      "event_ts": str(time.time())}}


class Transport(Protocol):
    name: str

    def command(self, text: str) -> float:
        """Send ``/pmf-check <text>`` (answered under ``rid(text)``); the seconds until it was acked."""

    def event(self, event: dict[str, Any]) -> float: ...


class Http:
    name = "pmfbot web (HTTP)"

    def __init__(self, fake: FakeSlack, port: int) -> None:
        self.fake, self.url = fake, f"http://127.0.0.1:{port}/slack/events"

    def _post(self, body: bytes, content_type: str) -> float:
        started = time.perf_counter()
        headers = {**sign(body, secret=SIGNING_SECRET), "Content-Type": content_type}
        with urlopen(Request(self.url, body, headers)) as r:
            assert r.status == 200, r.status
        return time.perf_counter() - started

    def command(self, text: str) -> float:
        return self._post(urlencode(slash_fields(self.fake, text, rid(text))).encode(), "application/x-www-form-urlencoded")

    def event(self, event: dict[str, Any]) -> float:
        return self._post(json.dumps(event).encode(), "application/json")


class Socket:
    name = "pmfbot socket (Socket Mode)"

    def __init__(self, fake: FakeSlack, endpoint: FakeSocketMode) -> None:
        self.fake, self.endpoint = fake, endpoint

    def _send(self, kind: str, payload: dict[str, Any], connection: int | None = None) -> float:
        envelope_id, sent = self.endpoint.send(kind, payload, connection=connection)
        return self.endpoint.wait_ack(envelope_id, timeout=30).received_at - sent

    def command(self, text: str, *, connection: int | None = None) -> float:
        return self._send("slash_commands", slash_fields(self.fake, text, rid(text)), connection)

    def event(self, event: dict[str, Any]) -> float:
        return self._send("events_api", event)


def fresh_fake() -> FakeSlack:
    fake = FakeSlack().start()
    fake.add_channel("C1", "general", member=True)
    fake.add_user("U1", tz="Europe/Berlin", admin=True)  # installed the app: may bind channels
    return fake


def demo(folder: str) -> None:
    done = subprocess.run([PMFBOT, "demo"], cwd=folder, capture_output=True, text=True, env=dict(os.environ))
    if done.returncode:
        raise SystemExit(f"pmfbot demo failed:\n{done.stdout}\n{done.stderr}")
    print("pmfbot demo:", done.stdout.strip().splitlines()[-1])


@contextmanager
def pmfbot(folder: str, fake: FakeSlack, command: str, **env: str) -> Iterator[Path]:
    """``pmfbot <command>`` on the demo database until its ready line; yields its log."""
    full = dict(os.environ, DATABASE_URL=DEMO_DB, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                PMFBOT_SECRET_KEY=SECRET_KEY, SLACK_API_URL=fake.api_url, LOG_LEVEL="INFO", **env)
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", *(["SLACK_APP_TOKEN"] if command == "web" else [])):
        full.pop(name, None)
    log_path = Path(folder) / f"{command}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([PMFBOT, command], cwd=folder, env=full, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "ready" not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"pmfbot {command} did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
        print(next(line for line in log_path.read_text().splitlines() if "ready" in line))
        yield log_path
    finally:
        proc.terminate()
        proc.wait(30)
    noisy = [line for line in log_path.read_text().splitlines()
             if " WARNING " in line or " ERROR " in line or "Traceback" in line]
    print(f"pmfbot {command} logged {len(noisy)} warning/error line(s)" + "".join(f"\n  {x}" for x in noisy[:10]))


def walk(fake: FakeSlack, transport: Transport) -> None:
    """The README's steps 4-7."""
    print(f"=== {transport.name}")
    acked = transport.command("")
    print(f"/pmf-check before binding (acked in {ms(acked)}): {text_of(fake.wait_response(rid(''), timeout=60)[0].params).splitlines()[0]}")
    acked = transport.command("product use acme")
    print(f"/pmf-check product use acme (acked in {ms(acked)}): "
          f"{text_of(fake.wait_response(rid('product use acme'), timeout=60)[0].params).splitlines()[0]}")
    acked = transport.command("status")
    status = fake.wait_response(rid("status"), timeout=60)[0].params
    validate_message(status)
    print(f"/pmf-check (acked in {ms(acked)}), only you see it:")
    print("  " + "\n  ".join(text_of(status).splitlines()[:5]))
    fake.wait_for(lambda: fake.uploaded_png("DU1"), timeout=60, what="chart in the DM")
    print(f"  chart PNGs in your DM: {len(fake.uploaded_png('DU1'))}")
    for text in ("share", "digest now"):
        acked = transport.command(text)
        reply = text_of(fake.wait_response(rid(text), timeout=60)[0].params).splitlines()[0]
        print(f"/pmf-check {text} (acked in {ms(acked)}): {reply}")
    fake.wait_for(lambda: len(fake.calls_to("chat.postMessage", channel="C1")) >= 2, timeout=60,
                  what="the report and the digest in #general")
    for post in fake.calls_to("chat.postMessage", channel="C1"):
        message = {"text": post.params["text"], "blocks": post.json_param("blocks") or []}
        validate_message(message)
        print(f"  posted in #general: {message['text'].splitlines()[0]}")
    print(f"  chart PNGs in #general: {len(fake.uploaded_png('C1'))}")
    acked = transport.event(home_opened())
    view = fake.wait_calls("views.publish", timeout=60)[0].json_param("view")
    validate_view(view)
    home = [line for line in text_of({"blocks": view["blocks"]}).splitlines() if line.strip()]
    print(f"App Home (event acked in {ms(acked)}): {' / '.join(home[:3])}")


def try_http(folder: str) -> None:
    fake = fresh_fake()
    port = free_port()
    try:
        with pmfbot(folder, fake, "web", PORT=str(port), HOST="127.0.0.1"):
            walk(fake, Http(fake, port))
    finally:
        fake.stop()


@contextmanager
def socket_mode(folder: str) -> Iterator[tuple[FakeSlack, Socket]]:
    fake = fresh_fake()
    endpoint = FakeSocketMode()
    fake.socket_mode_url = endpoint.url
    try:
        with pmfbot(folder, fake, "socket", SLACK_APP_TOKEN="xapp-1-try"):
            yield fake, Socket(fake, endpoint)
    finally:
        endpoint.stop()
        fake.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["http", "socket"])
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        demo(tmp)
        for name in ("http", "socket"):  # each walks a fresh copy of the demo, as a newcomer would
            if args.only in (None, name):
                shutil.copytree(tmp, Path(tmp) / name, ignore=shutil.ignore_patterns("http", "socket"))
        if args.only in (None, "http"):
            try_http(str(Path(tmp) / "http"))
        if args.only in (None, "socket"):
            with socket_mode(str(Path(tmp) / "socket")) as (fake, transport):
                walk(fake, transport)
    print("every message and view is within Block Kit's limits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
