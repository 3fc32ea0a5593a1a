"""Every source operation ends (issue 19): a server that accepts TCP and never answers, and a
PostgreSQL connection that goes silent after the grouped query was sent, end with a clear error
within the deadline (the timeout plus a margin), write nothing, and a clock with one hung source
still syncs the next. The bounds asserted are generous ceilings on a hang, not speed targets."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from ingest_like import activity, counts
from silent_net import SilencingProxy, silent_listener
from source_helpers import MARIA_URL, PG_URL, SECRET
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.ingest.sql_deadline import CONNECT_TIMEOUT_S, MARGIN_S, SourceTimeout
from bot.ingest.sql_source import add_source, list_sources, sync_due_sources, sync_source

Factory = sessionmaker[Session]
SLACK_S = 20  # scheduling slack on a busy 2-core machine, on top of the deadline itself


def _add(factory: Factory, slug: str, url: str, timeout: int = 5,
         events: str = "SELECT user_id, occurred_at FROM events",
         signups: str = "SELECT user_id, signed_up_at FROM signups") -> None:
    add_source(factory, product_slug=slug, team_id=None, url=url, signups_query=signups, events_query=events,
               secret=SECRET, timeout_seconds=timeout)


@pytest.mark.parametrize("url", ["postgresql://reader:pw@127.0.0.1:{port}/app",
                                 "mysql+pymysql://reader:pw@127.0.0.1:{port}/app"])
def test_source_test_against_a_server_that_never_answers_ends(session_factory: Factory, acme: str, db_url: str,
                                                              url: str) -> None:
    with silent_listener() as port:
        _add(session_factory, acme, url.format(port=port))
        started = time.monotonic()
        result = CliRunner().invoke(main, ["source", "test", acme],
                                    env={"DATABASE_URL": db_url, "PMFBOT_SECRET_KEY": SECRET})
        elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    assert "source test failed" in result.stderr and "127.0.0.1" in result.stderr
    assert "could not connect to 127.0.0.1" in result.stderr and "no answer within" in result.stderr
    assert "Traceback" not in result.output + result.stderr and ":pw@" not in result.stderr
    assert elapsed < CONNECT_TIMEOUT_S + MARGIN_S + SLACK_S, elapsed


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_a_source_going_silent_after_the_grouped_query_ends(session_factory: Factory, acme: str, make,  # type: ignore[no-untyped-def]
                                                            dialect: str) -> None:
    """The proxy forwards the session until the grouped query went out, then nothing: the server's
    statement timeout cannot help (its answer never arrives); the watchdog closes the socket."""
    src = make(dialect)
    src.generate(2_000, 100)
    target = make_url(PG_URL if dialect == "postgresql" else MARIA_URL)
    default_port = 5432 if dialect == "postgresql" else 3306
    with SilencingProxy((target.host or "127.0.0.1", target.port or default_port), b"GROUP BY w.user_id") as proxy:
        url = target.set(host="127.0.0.1", port=proxy.port)
        if dialect == "postgresql":  # in clear, so the proxy sees the query go by
            url = url.update_query_dict({"sslmode": "disable"})
        else:
            url = url.update_query_dict({"ssl_disabled": "true"})
        _add(session_factory, acme, url.render_as_string(hide_password=False), timeout=5,
             events=src.events_query, signups=src.signups_query)
        started = time.monotonic()
        with pytest.raises(SourceTimeout, match="stopped answering") as err:
            sync_source(session_factory, product_slug=acme, team_id=None, secret=SECRET)
        elapsed = time.monotonic() - started
        assert proxy.silenced.is_set()  # it did go silent after the grouped query
    assert "nothing was written" in str(err.value) and counts(session_factory) == (0, 0)
    assert elapsed < 5 + MARGIN_S + SLACK_S, elapsed
    [status] = list_sources(session_factory, team_id=None)
    assert status.failing and "stopped answering" in (status.last_error or "")


def test_the_clock_syncs_the_next_source_when_one_hangs(session_factory: Factory, make) -> None:  # type: ignore[no-untyped-def]
    from bot.products import service as product_service

    ok = make("sqlite")
    ok.insert_events([("u1", "2026-03-02 10:00:00")])
    now = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
    with silent_listener() as port:
        for slug, url in (("hung", f"mysql+pymysql://reader@127.0.0.1:{port}/app"), ("good", ok.url)):
            product_service.create_product(session_factory, slug=slug)
            _add(session_factory, slug, url, events=ok.events_query, signups=ok.signups_query)
        ctx = SimpleNamespace(factory=session_factory, secret_key=SECRET, now=lambda: now)
        # The hung source comes first (added first); its sync gets 3 s before the clock moves on.
        assert sync_due_sources(ctx, deadline_s=3) == 1
        status = {s.product: s for s in list_sources(session_factory, team_id=None)}
        assert status["good"].last_sync_at == now and not status["good"].failing
        assert status["hung"].failing and "did not finish within 3 s" in (status["hung"].last_error or "")
        assert activity(session_factory) == {("u1", 2930)}
        # The abandoned sync still ends by its own deadlines (connecting: CONNECT_TIMEOUT_S + margin).
        for thread in threading.enumerate():
            if thread.name.startswith("pmf-source-sync-"):
                thread.join(CONNECT_TIMEOUT_S + MARGIN_S + SLACK_S)
                assert not thread.is_alive()


def test_a_connect_the_driver_does_not_bound_is_abandoned_at_its_deadline() -> None:
    """The outside limit on connecting, for a driver whose own timeout does not hold."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from bot.ingest.sql_deadline import connect_within

    release = threading.Event()

    def stuck() -> None:
        release.wait(60)  # a driver stuck in connect
        raise OSError("released")

    engine = create_engine("sqlite://", creator=stuck, poolclass=NullPool)
    try:
        with pytest.raises(SourceTimeout, match="could not connect to db.internal:5432: no answer within 1 s"):
            connect_within(engine, 1, "db.internal:5432")
    finally:
        release.set()
