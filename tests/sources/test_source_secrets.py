"""A source's secrets (issue 19): a password anywhere in the URL — its userinfo or a query parameter
such as ``?password=`` — is stored encrypted and never shown, on any surface (``source list``,
``source test``/``sync`` output and errors, the logs, the App Home, the digest); the App Home shows
where a source is only to the people who manage its product; and ``source add`` takes the URL from
an environment variable or standard input, so it never sits in ``ps`` or the shell's history."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from source_helpers import PG_URL, SECRET
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.digests.schedule import report_week
from bot.digests.service import digest_content
from bot.ingest.sql_source import add_source, sync_due_sources
from bot.products import managers
from storage.db import unit_of_work
from storage.repositories import sources as sources_repo
from tests.fakes.slack_api import text_of

Factory = sessionmaker[Session]
PASSWORD = "qp-s3cret-never-shown"
SSL_PASSWORD = "ssl-key-passphrase-42"


def _stored(factory: Factory) -> dict[str, object]:
    with factory() as s:
        return dict(s.execute(text("SELECT * FROM sql_sources")).mappings().one())


@pytest.mark.parametrize("how", ["env", "stdin"])
def test_a_query_string_password_is_encrypted_and_masked_everywhere(session_factory: Factory, acme: str,
                                                                    db_url: str, make, how: str) -> None:  # type: ignore[no-untyped-def]
    src = make("postgresql")
    src.insert_events([("u1", "2026-03-02 10:00:00")])
    # The local server trusts; the password rides along as a query parameter, as in the issue.
    url = f"{PG_URL}?password={PASSWORD}&sslmode=disable"
    env = {"DATABASE_URL": db_url, "PMFBOT_SECRET_KEY": SECRET}
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None, code: int = 0) -> str:
        result = runner.invoke(main, list(args), env=env, input=stdin)
        assert result.exit_code == code, result.output + result.stderr
        return result.stdout + result.stderr

    queries = ["--signups-query", src.signups_query, "--events-query", src.events_query]
    if how == "env":
        env["ACME_SOURCE_URL"] = url
        out = run("source", "add", "acme", "--url-env", "ACME_SOURCE_URL", *queries)
    else:
        out = run("source", "add", "acme", "--url", "-", *queries, stdin=url + "\n")
    out += run("source", "test", "acme") + run("source", "sync", "acme") + run("source", "list")
    assert PASSWORD not in out, out
    assert "password=***" in out and "rows read: 1" in out
    stored = _stored(session_factory)
    assert [k for k, v in stored.items() if PASSWORD in str(v)] == []
    assert str(stored["password_enc"]).startswith("enc1:") and "password=***" in str(stored["url"])
    # A failure (the stored host made unreachable) names its cause, still without the password.
    with session_factory() as s:
        s.execute(text("UPDATE sql_sources SET url = replace(url, '127.0.0.1:5432', '127.0.0.1:1')"))
        s.commit()
    out = run("source", "sync", "acme", code=2) + run("source", "list")
    assert "127.0.0.1:1" in out and "last error" in out and PASSWORD not in out


def test_source_add_refuses_an_ambiguous_or_missing_url(db_url: str, acme: str) -> None:
    env = {"DATABASE_URL": db_url, "PMFBOT_SECRET_KEY": SECRET}
    queries = ["--signups-query", "SELECT user_id, signed_up_at FROM s", "--events-query",
               "SELECT user_id, occurred_at FROM e"]
    for args, said in ((["--url", "sqlite:////x.db", "--url-env", "X"], "exactly one of"), ([], "exactly one of"),
                       (["--url-env", "NOT_SET_ANYWHERE"], "NOT_SET_ANYWHERE is not set")):
        result = CliRunner().invoke(main, ["source", "add", "acme", *args, *queries], env=env)
        assert result.exit_code == 2 and said in result.stderr, result.stderr


def test_secrets_never_reach_the_logs(session_factory: Factory, acme: str, caplog: pytest.LogCaptureFixture) -> None:
    add_source(session_factory, product_slug=acme, team_id=None,
               url=f"postgresql://reader:{PASSWORD}@127.0.0.1:1/app?sslpassword={SSL_PASSWORD}",
               signups_query="SELECT user_id, signed_up_at FROM s", events_query="SELECT user_id, occurred_at FROM e",
               secret=SECRET)
    stored = _stored(session_factory)
    assert not [k for k, v in stored.items() if PASSWORD in str(v) or SSL_PASSWORD in str(v)]
    ctx = SimpleNamespace(factory=session_factory, secret_key=SECRET, now=lambda: datetime(2026, 3, 10, tzinfo=UTC))
    with caplog.at_level(logging.DEBUG):
        assert sync_due_sources(ctx) == 0
    logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records)
    assert "sql source sync failed" in logged and "127.0.0.1" in logged
    assert PASSWORD not in logged and SSL_PASSWORD not in logged
    error = str(_stored(session_factory)["last_error"])
    assert PASSWORD not in error and SSL_PASSWORD not in error


def _home_text(harness, fake_slack, user: str) -> str:  # type: ignore[no-untyped-def]
    before = len(fake_slack.calls_to("views.publish", user_id=user))
    harness.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                   "event_ts": str(time.time())})
    view = fake_slack.wait_calls("views.publish", before + 1, user_id=user)[-1].json_param("view")
    return text_of(view)


def test_the_app_home_shows_where_a_source_is_only_to_its_managers(harness, fake_slack, seed_product,  # type: ignore[no-untyped-def]
                                                                   session_factory: Factory) -> None:
    product = seed_product("T1", "acme", "Acme", data=False)
    add_source(session_factory, product_slug="acme", team_id="T1",
               url=f"postgresql://reader@db.internal.example:5432/appdb?password={PASSWORD}&sslmode=require",
               signups_query="SELECT user_id, signed_up_at FROM s", events_query="SELECT user_id, occurred_at FROM e",
               secret=SECRET)
    with unit_of_work(session_factory) as s:
        sources_repo.record_error(s, product.id, "could not connect to db.internal.example:5432: OperationalError: "
                                                 "database \"appdb\" does not exist", datetime(2026, 12, 2, tzinfo=UTC))
    fake_slack.add_user("UMGR")
    fake_slack.add_user("UMEMBER")
    managers.add_manager(session_factory, product=product, user_id="UMGR", actor="cli")

    member = _home_text(harness, fake_slack, "UMEMBER")
    assert "SQL source (postgresql)" in member and "last sync failed" in member
    for hidden in ("db.internal.example", "appdb", "reader", PASSWORD):
        assert hidden not in member
    for manager in ("UMGR", "U1"):  # a listed manager; a workspace admin
        seen = _home_text(harness, fake_slack, manager)
        assert "reader@db.internal.example:5432/appdb?password=***" in seen and PASSWORD not in seen

    # A digest goes to a channel: the cause without where the source is.
    content = digest_content(session_factory, product=product, week=report_week(product, datetime.now(UTC)))
    assert content.source_problem is not None and "does not exist" in content.source_problem
    assert "db.internal.example" not in content.source_problem and "appdb" not in content.source_problem
