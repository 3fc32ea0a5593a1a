"""``pmfbot db upgrade``, ``web``, ``socket`` and ``clock`` say what they did, or why they will
not start, in one line: the CLI through click's CliRunner, the processes as real subprocesses
against the fake Slack Web API, waiting on their log for the ready line."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app import build_app
from bot.cli import main
from storage.migrate import head_revision
from tests.fakes.harness import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET, make_settings
from tests.fakes.processes import free_port, stop_process_group
from tests.fakes.slack_api import FakeSlack

HEAD = head_revision()  # the latest migration: these messages name it

ROOT = Path(__file__).resolve().parents[2]
APP_TOKEN = "xapp-1-test"


@pytest.fixture(autouse=True)
def _keep_pytest_logging() -> Iterator[None]:
    # The processes configure logging with force=True; give pytest its handlers back afterwards.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _env(db_url: str, api_url: str, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url, "PMFBOT_SECRET_KEY": SECRET_KEY, "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_CLIENT_ID": "", "SLACK_CLIENT_SECRET": "", "LOG_LEVEL": "INFO", **extra}


def _invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# ----------------------------------------------------------------------------- db upgrade
def test_db_upgrade_says_what_it_did(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code, out, _ = _invoke({"DATABASE_URL": url}, "db", "upgrade")
    assert code == 0 and out.startswith(f"database created at revision {HEAD}")
    code, out, _ = _invoke({"DATABASE_URL": url}, "db", "upgrade")
    assert code == 0 and out.startswith(f"database already at the latest revision {HEAD}; nothing to do")


def test_the_readme_shows_the_current_revision() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"database created at revision {HEAD}" in readme and f"needs revision {HEAD}" in readme


def test_db_upgrade_from_an_older_revision_names_both(tmp_path: Path) -> None:
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0003")
    code, out, _ = _invoke({"DATABASE_URL": url}, "db", "upgrade")
    assert code == 0 and out.startswith(f"database upgraded from revision 0003 to {HEAD}")


def test_the_password_is_never_printed(tmp_path: Path) -> None:
    from storage.db import redacted_url

    assert redacted_url("postgres://pmf:s3cret@db.example:5432/pmf") == "postgresql+psycopg://pmf:***@db.example:5432/pmf"


# ----------------------------------------------------------------------------- refusing to start
@pytest.mark.parametrize("command", ["web", "socket", "clock"])
def test_a_process_refuses_a_database_that_was_never_upgraded(tmp_path: Path, fake_slack: FakeSlack,
                                                              command: str) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code, _, err = _invoke(_env(url, fake_slack.api_url), command)
    assert code == 2
    assert err.strip().splitlines() == [
        f"pmfbot: the database {url} has no schema (never upgraded), this version needs revision {HEAD}: "
        "run `pmfbot db upgrade` first"]
    assert fake_slack.calls == []


@pytest.mark.parametrize("args", [("check", "--product", "acme"), ("product", "list"), ("history", "--product", "acme")])
def test_a_command_run_before_db_upgrade_says_to_run_it(tmp_path: Path, args: tuple[str, ...]) -> None:
    # A newcomer's first command, before `pmfbot db upgrade`: "no such table" would say nothing.
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code, _, err = _invoke({"DATABASE_URL": url}, *args)
    assert code == 2 and "unexpected error" not in err
    assert err.strip().splitlines() == [
        f"pmfbot: the database {url} has no schema (never upgraded), this version needs revision {HEAD}: "
        "run `pmfbot db upgrade` first"]


def test_a_process_refuses_a_database_behind_the_code(tmp_path: Path, fake_slack: FakeSlack) -> None:
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0004")
    code, _, err = _invoke(_env(url, fake_slack.api_url), "clock")
    assert code == 2 and f"has revision 0004, this version needs revision {HEAD}: run `pmfbot db upgrade`" in err


@pytest.mark.parametrize("command", ["web", "socket", "clock"])
def test_a_database_server_that_is_down_is_named_not_an_unexpected_error(fake_slack: FakeSlack, command: str) -> None:
    # A PostgreSQL URL on a closed loopback port: the connection is refused at once.
    url = f"postgresql://pmf:secret@127.0.0.1:{free_port()}/pmf"
    code, _, err = _invoke(_env(url, fake_slack.api_url), command)
    assert code == 2 and "unexpected error" not in err
    assert "cannot reach the database at postgresql+psycopg://pmf:***@127.0.0.1" in err and "secret" not in err
    assert fake_slack.calls == []


def test_socket_says_it_cannot_reach_slack(db_url: str, session_factory) -> None:  # type: ignore[no-untyped-def]
    closed = f"http://127.0.0.1:{free_port()}/api/"
    code, _, err = _invoke(_env(db_url, closed), "socket")
    assert code == 1
    assert f"pmfbot: cannot reach Slack at {closed}" in err
    assert "unexpected error" not in err and "URLError" not in err


def test_socket_says_when_slack_refuses_the_app_token(db_url: str, session_factory,  # type: ignore[no-untyped-def]
                                                      fake_slack: FakeSlack) -> None:
    code, _, err = _invoke(_env(db_url, fake_slack.api_url), "socket")
    assert code == 1
    assert f"Slack at {fake_slack.api_url} refused to open a Socket Mode connection (not_allowed_token_type)" in err
    assert "SLACK_APP_TOKEN" in err


def test_socket_says_when_the_websocket_does_not_open(db_url: str, session_factory,  # type: ignore[no-untyped-def]
                                                     fake_slack: FakeSlack) -> None:
    # apps.connections.open hands out a URL whose server answers plain HTTP (404), not a websocket.
    fake_slack.socket_mode_url = fake_slack.api_url.replace("http://", "ws://") + "nowhere"
    code, _, err = _invoke(_env(db_url, fake_slack.api_url), "socket")
    assert code == 1
    assert f"Slack at {fake_slack.api_url} handed out a Socket Mode URL that did not open" in err
    assert "Traceback" not in err and "unexpected error" not in err


@pytest.mark.parametrize("socket_mode", [False, True])
def test_no_bolt_warning_about_token_on_a_normal_start(db_url: str, session_factory, fake_slack: FakeSlack,  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                                       socket_mode: bool) -> None:
    # Bolt reads SLACK_BOT_TOKEN from the environment itself, as in production.
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    settings = make_settings(db_url, fake_slack, slack_app_token=APP_TOKEN)
    with caplog.at_level(logging.DEBUG):
        build_app(settings, socket_mode=socket_mode)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


# ----------------------------------------------------------------------------- ready lines
def _start(env: dict[str, str], command: str, log_path: Path) -> subprocess.Popen[bytes]:
    full = {**os.environ, **env}
    full = {k: v for k, v in full.items() if v != ""}
    with log_path.open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", command], cwd=ROOT, env=full, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_line(proc: subprocess.Popen[bytes], log_path: Path, marker: str) -> str:
    """Wait until the process logs ``marker`` (or exits); the log so far."""
    fake = FakeSlack()  # only for its condition-wait helper: no server started
    text = fake.wait_for(lambda: (marker in (t := log_path.read_text())) and t or (proc.poll() is not None and t),
                         timeout=60, what=f"{marker!r} in the log")
    assert marker in text, text[-3000:]
    return text


@pytest.mark.slow
def test_clock_logs_one_ready_line(db_url: str, session_factory, fake_slack: FakeSlack,  # type: ignore[no-untyped-def]
                                   tmp_path: Path) -> None:
    log_path = tmp_path / "clock.log"
    proc = _start(_env(db_url, fake_slack.api_url), "clock", log_path)
    try:
        text = _wait_for_line(proc, log_path, "PMF Gate clock ready")
    finally:
        stop_process_group(proc)
    ready = [line for line in text.splitlines() if "ready" in line]
    assert len(ready) == 1 and " INFO bot.main: PMF Gate clock ready: database " in ready[0]
    assert "single-workspace (bot token)" in ready[0] and fake_slack.api_url in ready[0]
    assert "weekly digests every" in ready[0]
    assert "WARNING" not in text and "Traceback" not in text


@pytest.mark.slow
def test_web_logs_one_ready_line_without_a_bolt_warning(db_url: str, session_factory,  # type: ignore[no-untyped-def]
                                                       fake_slack: FakeSlack, tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "web.log"
    env = _env(db_url, fake_slack.api_url, PORT=str(port), HOST="127.0.0.1", WEB_CONCURRENCY="1", WEB_THREADS="2")
    proc = _start(env, "web", log_path)
    try:
        _wait_for_line(proc, log_path, "PMF Gate web ready")
        text = _wait_for_line(proc, log_path, "Booting worker")
        # the worker builds the Bolt app: wait until it answers, then read the whole log
        from urllib.request import urlopen
        with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as r:
            assert r.status == 200
        text = log_path.read_text()
    finally:
        stop_process_group(proc)
    ready = [line for line in text.splitlines() if "PMF Gate web ready" in line]
    assert len(ready) == 1
    assert f"on http://127.0.0.1:{port} (POST /slack/events, GET /healthz; 1 worker x 2 threads)" in ready[0]
    assert "database " in ready[0]
    assert "single-workspace (bot token)" in ready[0]
    assert "will be unused" not in text and "Traceback" not in text


@pytest.mark.slow
def test_socket_logs_one_ready_line_once_connected(db_url: str, session_factory, fake_slack: FakeSlack,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    from tests.fakes.socket_mode import FakeSocketMode

    endpoint = FakeSocketMode()
    fake_slack.socket_mode_url = endpoint.url
    log_path = tmp_path / "socket.log"
    proc = _start(_env(db_url, fake_slack.api_url), "socket", log_path)
    try:
        text = _wait_for_line(proc, log_path, "PMF Gate ready")
    finally:
        stop_process_group(proc)
        endpoint.stop()
    ready = [line for line in text.splitlines() if "ready" in line]
    assert len(ready) == 1, text
    assert f"connected to Slack at {fake_slack.api_url} over Socket Mode" in ready[0]
    assert "single-workspace (bot token)" in ready[0] and "scheduler in-process" in ready[0]
    assert endpoint.connections >= 1
    assert "will be unused" not in text and "Traceback" not in text and "WARNING" not in text
