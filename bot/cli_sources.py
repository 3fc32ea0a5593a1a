"""`pmfbot source add|list|test|sync|remove`: SQL sources aggregated at the source (SPEC §9)."""

from __future__ import annotations

from typing import Any

import click

from bot.cli_common import _factory, _settings, handles_errors


# ----------------------------------------------------------------------------- sources
@click.group()
def source() -> None:
    """SQL sources: signups and weekly activity pulled from your own database (docs/sql-sources.md)."""


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


def _read_url(url: str | None, url_env: str | None) -> str:
    """The source URL from ``--url``, ``--url -`` (standard input) or ``--url-env NAME``: the last
    two keep its password out of ``ps`` and the shell's history."""
    import os
    import sys

    from bot.errors import UserError

    if (url is None) == (url_env is None):
        raise UserError("give the source's URL with exactly one of --url URL, --url - (read from standard input) "
                        "or --url-env NAME (read from that environment variable)")
    if url_env is not None:
        value = os.environ.get(url_env, "").strip()
        if not value:
            raise UserError(f"the environment variable {url_env} is not set or empty (--url-env names the variable "
                            "holding the URL)")
        return value
    if url == "-":
        value = sys.stdin.readline().strip()
        if not value:
            raise UserError("--url - reads the URL from standard input, which was empty")
        return value
    return str(url)


@source.command("add")
@click.argument("product_slug", metavar="PRODUCT")
@click.option("--url", help="SQLAlchemy URL of the source, or - to read it from standard input "
                            "(its password is stored encrypted).")
@click.option("--url-env", "url_env", metavar="NAME",
              help="Read the URL from this environment variable (keeps the password out of ps and history).")
@click.option("--signups-query", "signups_query", required=True,
              help="One SELECT returning user_id, signed_up_at and optionally channel, utm_source, utm_medium, "
                   "utm_campaign, landing_url, referrer, email.")
@click.option("--events-query", "events_query", required=True,
              help="One SELECT returning user_id, occurred_at and optionally event.")
@click.option("--timeout", "timeout", type=int, default=600, show_default=True,
              help="Statement timeout on the source, in seconds.")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def source_add(product_slug: str, url: str | None, url_env: str | None, signups_query: str, events_query: str,
               timeout: int, workspace: str | None) -> None:
    """Add (or replace) the SQL source of a product."""
    from bot.ingest.sql_source import add_source

    status = add_source(_factory(_settings()), product_slug=product_slug, team_id=workspace,
                        url=_read_url(url, url_env),
                        signups_query=signups_query, events_query=events_query, secret=_settings().secret_key,
                        timeout_seconds=timeout)
    click.echo(f"source of {status.product}: {status.url}; try it with `pmfbot source test {status.product}`")


@source.command("list")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def source_list(workspace: str | None) -> None:
    """The SQL sources with their last sync, rows read, weeks covered and last error."""
    from bot.domain.weeks import week_start
    from bot.ingest.sql_source import list_sources

    sources = list_sources(_factory(_settings()), team_id=workspace)
    if not sources:
        click.echo("no SQL sources; add one with `pmfbot source add PRODUCT --url ...`")
    for s in sources:
        weeks = "-" if s.weeks_covered is None else str(s.weeks_covered)
        if s.first_week is not None and s.last_synced_week is not None:
            weeks += f" (weeks of {week_start(s.first_week)} .. {week_start(s.last_synced_week)})"
        rows = "-" if s.rows_read is None else f"{s.rows_read:,}"
        click.echo(f"{s.product}\t{s.url}\n  last sync: {_when(s.last_sync_at)}; rows read: {rows}; "
                   f"weeks covered: {weeks}")
        if s.last_error:
            click.echo(f"  last error ({_when(s.last_error_at)}): {s.last_error}")


@source.command("test")
@click.argument("product_slug", metavar="PRODUCT")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def source_test(product_slug: str, workspace: str | None) -> None:
    """Run both queries with a limit: columns, a sample and row counts. Writes nothing."""
    from bot.ingest.source_probe import TEST_COUNT_CAP, test_source

    result = test_source(_factory(_settings()), product_slug=product_slug, team_id=workspace,
                         secret=_settings().secret_key)
    click.echo(f"{result.product}: {result.url} ({result.seconds:.1f} s)")
    for kind in ("signups", "events"):
        count = result.counts[kind]
        shown = f"at least {count:,}" if count >= TEST_COUNT_CAP else f"{count:,}"
        optional = ", ".join(result.optional[kind]) or "none"
        click.echo(f"{kind} query: {shown} rows; optional columns found: {optional}")
        if kind == "events" and result.samples[kind]:
            click.echo("  sample: user_id, occurred_at, the Monday of its week (computed by the source)")
        for row in result.samples[kind]:
            click.echo("  " + "\t".join("" if v is None else str(v) for v in row))


@source.command("sync")
@click.argument("product_slug", metavar="PRODUCT")
@click.option("--full", is_flag=True, help="Read everything again, not only the weeks since the last sync.")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def source_sync(product_slug: str, full: bool, workspace: str | None) -> None:
    """Pull the new (user, week) pairs and signups now (the clock does it daily)."""
    from bot.ingest.sql_source import sync_source

    result = sync_source(_factory(_settings()), product_slug=product_slug, team_id=workspace,
                         secret=_settings().secret_key, full=full)
    click.echo(result.summary())


@source.command("remove")
@click.argument("product_slug", metavar="PRODUCT")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def source_remove(product_slug: str, workspace: str | None) -> None:
    """Forget a product's SQL source (the data it brought stays)."""
    from bot.ingest.sql_source import remove_source

    remove_source(_factory(_settings()), product_slug=product_slug, team_id=workspace)
    click.echo(f"removed the SQL source of {product_slug}")


