"""The README's "Try it in Slack" path, run end to end without a real Slack.

In a fresh temporary folder: ``pmfbot demo`` (exactly as the README says), then
``DATABASE_URL=sqlite:///pmf-demo/pmf-demo.db pmfbot web`` against the fake Slack Web API
(``tests/fakes/slack_api.py``, via ``SLACK_API_URL``), then signed ``/pmf-check``,
``/pmf-check share``, ``/pmf-check digest now`` and an ``app_home_opened`` event, as Slack would
send them. It prints what each surface showed (the start of its text), checks every message and
the Home view against the Block Kit limits, and exits 1 when a step fails. Socket Mode is not
covered (it needs Slack's websocket); ``pmfbot socket`` shares everything after the transport.

    python bench/try_in_slack.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.render.limits import validate_message, validate_view  # noqa: E402
from tests.fakes.harness import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET, sign  # noqa: E402
from tests.fakes.slack_api import FakeSlack, text_of  # noqa: E402

PMFBOT = str(Path(sys.executable).with_name("pmfbot"))
PORT = 3917


def _show(title: str, text: str, lines: int = 6) -> None:
    print(f"--- {title}")
    print("\n".join(text.splitlines()[:lines]))


def _signed(body: bytes, content_type: str) -> dict[str, str]:
    return {**sign(body, secret=SIGNING_SECRET), "Content-Type": content_type}


def command(fake: FakeSlack, text: str) -> dict:
    rid = f"try-{abs(hash(text))}"
    body = urlencode({"command": "/pmf-check", "text": text, "user_id": "U1", "channel_id": "C1", "team_id": "T1",
                      "team_domain": "try", "channel_name": "general", "response_url": fake.response_url(rid),
                      "trigger_id": "1"}).encode()
    started = time.perf_counter()
    with urlopen(Request(f"http://127.0.0.1:{PORT}/slack/events", body,
                         _signed(body, "application/x-www-form-urlencoded"))) as r:
        assert r.status == 200
    print(f"/pmf-check {text}: acked in {(time.perf_counter() - started) * 1000:.0f} ms")
    return fake.wait_response(rid, timeout=60)[0].params


def main() -> int:
    fake = FakeSlack().start()
    fake.add_channel("C1", "general", member=True)
    fake.add_user("U1", tz="Europe/Berlin")
    with tempfile.TemporaryDirectory() as tmp:
        demo = subprocess.run([PMFBOT, "demo"], cwd=tmp, capture_output=True, text=True, env=dict(os.environ))
        _show("pmfbot demo", demo.stdout, lines=40)
        if demo.returncode:
            print(demo.stderr)
            return 1
        env = dict(os.environ, DATABASE_URL="sqlite:///pmf-demo/pmf-demo.db", SLACK_BOT_TOKEN=BOT_TOKEN,
                   SLACK_SIGNING_SECRET=SIGNING_SECRET, PMFBOT_SECRET_KEY=SECRET_KEY, SLACK_API_URL=fake.api_url,
                   PORT=str(PORT))
        env.pop("SLACK_APP_TOKEN", None)
        env.pop("SLACK_CLIENT_ID", None)
        web = subprocess.Popen([PMFBOT, "web"], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            for _ in range(150):
                try:
                    with urlopen(f"http://127.0.0.1:{PORT}/healthz") as r:
                        print("GET /healthz:", r.read().decode())
                    break
                except OSError:
                    time.sleep(0.2)
            status = command(fake, "")
            validate_message(status)
            _show("/pmf-check (only you see it)", text_of(status))
            fake.wait_for(lambda: fake.uploaded_png("DU1"), timeout=60, what="chart in the DM")
            print(f"chart PNGs in your DM: {len(fake.uploaded_png('DU1'))}")
            for text in ("share", "digest now"):
                _show(f"/pmf-check {text} (reply)", text_of(command(fake, text)), lines=2)
            for post in fake.calls_to("chat.postMessage", channel="C1"):
                message = {"text": post.params["text"], "blocks": post.json_param("blocks") or []}
                validate_message(message)
                _show("posted in #general", message["text"], lines=4)
            print(f"chart PNGs in #general: {len(fake.uploaded_png('C1'))}")
            event = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "EvTRY",
                                "event_time": int(time.time()),
                                "event": {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home",
                                          "event_ts": str(time.time())}}).encode()
            urlopen(Request(f"http://127.0.0.1:{PORT}/slack/events", event, _signed(event, "application/json")))
            view = fake.wait_calls("views.publish", timeout=60)[0].json_param("view")
            validate_view(view)
            _show("App Home", text_of({"blocks": view["blocks"]}), lines=5)
        finally:
            web.terminate()
            web.wait(30)
            fake.stop()
    print("every message and view is within Block Kit's limits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
