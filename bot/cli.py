"""The ``pmfbot`` command line (SPEC §4).

Exit codes: 0 success, 2 bad usage or bad input (one message on stderr naming the problem,
nothing written), 1 anything unexpected. Each command is a thin shell around a service; heavy
modules are imported inside commands so ``pmfbot --help`` stays instant.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import ConfigError, Settings
from bot.errors import UserError

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int) -> None:
    click.echo(f"pmfbot: {message}", err=True)
    sys.exit(code)


def handles_errors(fn: F) -> F:
    """Bad input and bad configuration exit 2 with their message; anything else exits 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (UserError, ConfigError) as err:
            _fail(str(err), 2)
        except click.exceptions.ClickException:
            raise
        except KeyboardInterrupt:
            _fail("interrupted; nothing was committed by the interrupted step", 130)
        except Exception as err:  # noqa: BLE001 - the one place that reports unexpected errors
            logging.getLogger("pmfbot").debug("unexpected error", exc_info=True)
            _fail(f"unexpected error: {type(err).__name__}: {err}", 1)

    return wrapper  # type: ignore[return-value]


def parse_as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--as-of must be a date as YYYY-MM-DD, got {value!r}") from None


def _settings() -> Settings:
    return Settings.from_env()


def _factory(settings: Settings):  # type: ignore[no-untyped-def]
    from storage.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pmf-gate")
def main() -> None:
    """PMF Gate: is it time to scale? Retention plateau, organic growth and the Sean Ellis test."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# ----------------------------------------------------------------------------- demo
@main.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("pmf-demo"),
              show_default=True, help="Folder for the demo's database, charts and JSON.")
@handles_errors
def demo(out: Path) -> None:
    """Build a realistic sample product offline and run the whole pipeline on it."""
    from bot.demo import run_demo

    run_demo(out, echo=click.echo)


# ----------------------------------------------------------------------------- db
@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@handles_errors
def db_upgrade() -> None:
    """Run the Alembic migrations to head."""
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    click.echo("database is at the latest schema")


# ----------------------------------------------------------------------------- product
@main.group()
def product() -> None:
    """Products to track."""


@product.command("create")
@click.argument("slug")
@click.option("--name", help="Display name (defaults to the slug).")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def product_create(slug: str, name: str | None, workspace: str | None) -> None:
    """Create a product to track."""
    from bot.products import service as product_service

    settings = _settings()
    p = product_service.create_product(_factory(settings), slug=slug, name=name, team_id=workspace)
    click.echo(f"created product {p.slug} ({p.name}) in workspace {p.team_id}")


@product.command("list")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def product_list(workspace: str | None) -> None:
    """List the products of a workspace."""
    from bot.products import service as product_service

    for p in product_service.list_products(_factory(_settings()), team_id=workspace):
        click.echo(f"{p.slug}\t{p.name}")


# ----------------------------------------------------------------------------- import
@main.group("import")
def import_() -> None:
    """Import CSV files (header row required; see the README for the formats)."""


def _import_command(kind: str) -> Callable[..., None]:
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--product", "product_slug", required=True, help="The product's slug.")
    @click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
    @click.option("--skip-invalid", is_flag=True, help="Import the valid rows; write rejected ones to FILE.rejected.csv.")
    @handles_errors
    def command(file: Path, product_slug: str, workspace: str | None, skip_invalid: bool) -> None:
        from bot.ingest.csv_import import import_csv

        settings = _settings()
        result = import_csv(
            _factory(settings), kind=kind, path=file, product_slug=product_slug, team_id=workspace,
            skip_invalid=skip_invalid, progress=sys.stderr.isatty(),
        )
        click.echo(result.summary())

    command.__doc__ = f"Import {kind} from a CSV file."
    return command


for _kind in ("events", "signups", "responses"):
    import_.command(_kind)(_import_command(_kind))


# ----------------------------------------------------------------------------- reports
@main.command()
@click.option("--product", "product_slug", required=True)
@click.option("--workspace")
@click.option("--as-of", "as_of", help="Report as of this date (YYYY-MM-DD); default today (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print the SPEC §4 JSON.")
@handles_errors
def check(product_slug: str, workspace: str | None, as_of: str | None, as_json: bool) -> None:
    """The scaling-gate report."""
    from bot.render.text import report_text
    from bot.reports import service as services

    report = services.gate_report(_factory(_settings()), product_slug=product_slug, team_id=workspace,
                                  as_of=parse_as_of(as_of))
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else report_text(report))


@main.command()
@click.option("--product", "product_slug", required=True)
@click.option("--workspace")
@click.option("--as-of", "as_of", help="Table as of this date (YYYY-MM-DD); default today (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print the SPEC §4 JSON.")
@handles_errors
def cohorts(product_slug: str, workspace: str | None, as_of: str | None, as_json: bool) -> None:
    """The weekly cohort retention table."""
    from bot.render.text import cohorts_json, cohorts_text
    from bot.reports import service as services

    table, slug, tz = services.cohort_table(_factory(_settings()), product_slug=product_slug, team_id=workspace,
                                            as_of=parse_as_of(as_of))
    click.echo(json.dumps(cohorts_json(table, slug, tz), indent=2) if as_json else cohorts_text(table))


# ----------------------------------------------------------------------------- tokens
@main.group()
def token() -> None:
    """Ingest and tracking-API write keys (SPEC §8)."""


@token.command("create")
@click.option("--product", "product_slug", help="Scope the token to this product (a Segment write key).")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def token_create(product_slug: str | None, workspace: str | None) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from bot.products.tokens import create_cli_token

    value, scope = create_cli_token(_factory(_settings()), team_id=workspace, product_slug=product_slug)
    click.echo(value)
    click.echo(f"scoped to {scope}; shown once, only its hash is stored", err=True)


# ----------------------------------------------------------------------------- sources
@main.group()
def source() -> None:
    """SQL sources: signups and weekly activity pulled from your own database (docs/sql-sources.md)."""


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


@source.command("add")
@click.argument("product_slug", metavar="PRODUCT")
@click.option("--url", required=True, help="SQLAlchemy URL of the source (its password is stored encrypted).")
@click.option("--signups-query", "signups_query", required=True, help="SQL returning user_id, signed_up_at[, channel].")
@click.option("--events-query", "events_query", required=True, help="SQL returning user_id, occurred_at.")
@click.option("--timeout", "timeout", type=int, default=600, show_default=True,
              help="Statement timeout on the source, in seconds.")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def source_add(product_slug: str, url: str, signups_query: str, events_query: str, timeout: int,
               workspace: str | None) -> None:
    """Add (or replace) the SQL source of a product."""
    from bot.ingest.sql_source import add_source

    status = add_source(_factory(_settings()), product_slug=product_slug, team_id=workspace, url=url,
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
    from bot.ingest.sql_source import TEST_COUNT_CAP, test_source

    result = test_source(_factory(_settings()), product_slug=product_slug, team_id=workspace,
                         secret=_settings().secret_key)
    click.echo(f"{result.product}: {result.url} ({result.seconds:.1f} s)")
    for kind in ("signups", "events"):
        count = result.counts[kind]
        shown = f"at least {count:,}" if count >= TEST_COUNT_CAP else f"{count:,}"
        click.echo(f"{kind} query: {shown} rows; columns {', '.join(result.columns[kind])}")
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


# ----------------------------------------------------------------------------- processes
@main.command()
@handles_errors
def web() -> None:
    """Serve Slack (HTTP), OAuth, /healthz and the ingest API with gunicorn."""
    from bot.main import run_web

    run_web(_settings())


@main.command()
@handles_errors
def socket() -> None:
    """Connect to Slack over Socket Mode, with the scheduler in-process."""
    from bot.main import run_socket

    run_socket(_settings())


@main.command()
@handles_errors
def clock() -> None:
    """Run the scheduler: weekly digests and survey deadlines."""
    from bot.main import run_clock

    run_clock(_settings())


# ----------------------------------------------------------------------------- export
@main.group()
def export() -> None:
    """Export data as CSV in the import formats."""


@export.command("responses")
@click.option("--product", "product_slug", required=True, help="The product's slug.")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@click.option("--survey", "survey_id", type=int, help="Only this survey's answers (its id).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of standard output.")
@handles_errors
def export_responses(product_slug: str, workspace: str | None, survey_id: int | None, out: Path | None) -> None:
    """Survey responses (Slack and imported) as `pmfbot import responses` reads them; anonymous
    answers carry their keyed hash, never a Slack id."""
    from bot.surveys.export import export_responses as rows

    if out is not None and not out.resolve().parent.is_dir():
        raise UserError(f"--out {out}: the folder {out.resolve().parent} does not exist; create it first")
    lines = rows(_factory(_settings()), product_slug=product_slug, team_id=workspace, survey_id=survey_id)
    first = next(lines)  # resolves the product and survey before anything is written
    if out is None:
        click.echo(first, nl=False)
        for line in lines:
            click.echo(line, nl=False)
        return
    # Written beside the target and renamed, so a failure never leaves half a file behind.
    tmp = out.with_name(out.name + ".partial")
    count = 0
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(first)
            for line in lines:
                fh.write(line)
                count += 1
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"exported {count} responses to {out}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
