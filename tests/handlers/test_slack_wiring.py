"""The composition: the explicit listener list, one owner per event type, ids, Socket Mode's
liveness check and the clock's declared jobs."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bot.app import build_app
from bot.config import ConfigError, Settings
from bot.digests import ids as digest_ids
from bot.home import ids as home_ids
from bot.main import Liveness
from bot.surveys import ids as survey_ids
from handlers.commands.router import Router
from handlers.registry import LISTENERS, register_all


class RecordingApp:
    """Stands in for Bolt's App: records what each module registers."""

    def __init__(self) -> None:
        self.registered: list[tuple[str, Any]] = []

    def _record(self, kind: str, key: Any = None) -> Any:
        self.registered.append((kind, key if isinstance(key, str | type(None)) else repr(key)))
        return lambda fn: fn

    def command(self, name: Any, *a: Any, **k: Any) -> Any:
        return self._record("command", name)

    def action(self, constraints: Any, *a: Any, **k: Any) -> Any:
        key = constraints.get("action_id") if isinstance(constraints, dict) else constraints
        return self._record("action", key)

    def event(self, event: Any, *a: Any, **k: Any) -> Any:
        key = event.get("type") if isinstance(event, dict) else event
        return self._record("event", key)

    def view(self, constraints: Any, *a: Any, **k: Any) -> Any:
        return self._record("view", constraints if isinstance(constraints, str) else repr(constraints))

    def view_submission(self, constraints: Any, *a: Any, **k: Any) -> Any:
        return self._record("view", constraints if isinstance(constraints, str) else repr(constraints))

    def view_closed(self, constraints: Any, *a: Any, **k: Any) -> Any:
        return self._record("view_closed", constraints if isinstance(constraints, str) else repr(constraints))

    def message(self, *a: Any, **k: Any) -> Any:
        return self._record("event", "message")

    def shortcut(self, constraints: Any, *a: Any, **k: Any) -> Any:
        return self._record("shortcut", constraints if isinstance(constraints, str) else repr(constraints))

    def options(self, constraints: Any, *a: Any, **k: Any) -> Any:
        return self._record("options", constraints if isinstance(constraints, str) else repr(constraints))

    def error(self, fn: Any) -> Any:
        self.registered.append(("error", None))
        return fn

    def use(self, fn: Any) -> Any:
        return fn

    def middleware(self, fn: Any) -> Any:
        return fn


@pytest.fixture
def recorded(slack_settings: Settings, session_factory: Any) -> tuple[RecordingApp, Router]:
    _, ctx = build_app(slack_settings, session_factory, listener_threads=1)
    app = RecordingApp()
    router = register_all(app, ctx)  # type: ignore[arg-type]  # records what Bolt's App would get
    return app, router


def test_every_listener_module_is_listed():
    names = {m.__name__ for m in LISTENERS}
    assert {"handlers.commands.pmf_check", "handlers.commands.report", "handlers.commands.products",
            "handlers.commands.help", "handlers.events.home", "handlers.events.lifecycle",
            "handlers.actions.home"} <= names
    assert "handlers.commands.router" not in names and "handlers.commands.args" not in names


def test_each_event_type_has_one_owner(recorded):
    app, _ = recorded
    counts = Counter(app.registered)
    assert counts[("command", "/pmf-check")] == 1
    assert counts[("error", None)] == 1
    assert counts[("event", "app_home_opened")] == 1
    assert counts[("event", "app_uninstalled")] == 1 and counts[("event", "tokens_revoked")] == 1
    assert counts[("event", "message")] <= 1  # Bolt runs only the first matching listener
    duplicated = [k for k, n in counts.items() if n > 1]
    assert duplicated == []


def test_the_router_has_every_subcommand_of_this_issue(recorded):
    _, router = recorded
    assert {"status", "share", "help", "product", "config", "token"} <= set(router.subcommands)
    for sub in router.subcommands.values():
        assert sub.usage and all(syntax.startswith("/pmf-check") for syntax, _ in sub.usage)


def test_ids_are_namespaced_and_unique():
    enums = [home_ids.Action, digest_ids.Action, survey_ids.Action, survey_ids.Block, survey_ids.Callback]
    values = [member.value for enum in enums for member in enum if member is not survey_ids.Action.INPUT]
    assert values and all(v.startswith("pmf.") and len(v) <= 255 for v in values)
    assert len(values) == len(set(values))


# ----------------------------------------------------------------------------- settings
def test_socket_mode_needs_an_app_token(slack_settings):
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        build_app(slack_settings, socket_mode=True)


def test_socket_mode_builds_without_a_signing_secret(db_url, fake_slack, session_factory):
    from dataclasses import replace

    from tests.fakes.harness import make_settings

    settings = replace(make_settings(db_url, fake_slack), slack_signing_secret=None, slack_app_token="xapp-1-x")
    app, ctx = build_app(settings, session_factory, socket_mode=True, listener_threads=1)
    assert app.client.base_url == fake_slack.api_url


def test_the_web_process_needs_the_secret_key(slack_settings):
    from dataclasses import replace

    with pytest.raises(ConfigError, match="PMFBOT_SECRET_KEY"):
        build_app(replace(slack_settings, secret_key=None))


# ----------------------------------------------------------------------------- liveness
class FakeSocketClient:
    def __init__(self) -> None:
        self.connected = True
        self.reconnects = 0

    def is_connected(self) -> bool:
        return self.connected

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        self.reconnects += 1


def test_liveness_reconnects_a_dead_connection_and_exits_when_it_stays_dead():
    client, exits, now = FakeSocketClient(), [], [0.0]
    live = Liveness(client, interval=30, give_up_after=300, exit=exits.append, clock=lambda: now[0])
    assert live.check() is True and client.reconnects == 0
    client.connected = False
    assert live.check() is False and client.reconnects == 1 and exits == []
    now[0] = 120
    live.check()
    assert client.reconnects == 2 and exits == []
    client.connected = True
    assert live.check() is True and live.down_since is None
    client.connected = False
    now[0] = 200
    live.check()
    now[0] = 501
    live.check()
    assert exits == [1]


def test_liveness_keeps_checking_when_a_reconnect_raises():
    class Failing(FakeSocketClient):
        def connect_to_new_endpoint(self, force: bool = False) -> None:
            raise ConnectionError("nope")

    client = Failing()
    client.connected = False
    assert Liveness(client, exit=lambda code: None).check() is False


# ----------------------------------------------------------------------------- the clock's jobs
def test_the_clock_runs_every_job_the_features_declare():
    from bot import scheduler

    ids = [job.id for job in scheduler.JOBS]
    assert ids == ["pmf.clock.digests", "pmf.clock.survey_deadlines", "pmf.clock.sql_sources", "pmf.clock.prune_jobs"]
    assert len(set(ids)) == len(ids)
