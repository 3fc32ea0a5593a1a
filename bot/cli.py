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
from pathlib import Path

import click

from bot import logs
from bot.cli_common import _factory, _settings, handles_errors, parse_as_of
from bot.cli_config import config
from bot.cli_sources import source
from bot.errors import UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pmf-gate")
def main() -> None:
    """PMF Gate: is it time to scale? Retention plateau, organic growth and the Sean Ellis test."""
    logs.configure(logging.WARNING, logs.CLI_FORMAT)


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
    from storage.db import redacted_url
    from storage.migrate import upgrade

    settings = _settings()
    before, after = upgrade(settings.database_url)
    where = redacted_url(settings.database_url)
    if before is None:
        click.echo(f"database created at revision {after} ({where})")
    elif before != after:
        click.echo(f"database upgraded from revision {before} to {after} ({where})")
    else:
        click.echo(f"database already at the latest revision {after}; nothing to do ({where})")


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


# The presets of bot.ingest.layout (kept literal here so `pmfbot --help` imports nothing heavy).
_PRESETS = {"events": ["posthog", "mixpanel", "amplitude", "segment"], "signups": ["stripe"],
            "responses": ["typeform"]}


def _import_command(kind: str) -> Callable[..., None]:
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--product", "product_slug", required=True, help="The product's slug.")
    @click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
    @click.option("--skip-invalid", is_flag=True, help="Import the valid rows; write rejected ones to FILE.rejected.csv.")
    @click.option("--from", "preset", type=click.Choice(_PRESETS[kind], case_sensitive=False),
                  help="The tool the file was exported from (knows its columns and time format).")
    @click.option("--map", "mapping", metavar="OURS=THEIRS,…",
                  help="Read our column OURS from the file's column THEIRS, e.g. user_id=distinct_id.")
    @click.option("--date-format", "date_format", metavar="FORMAT",
                  help="How non-ISO dates are written, in strftime codes, e.g. '%d/%m/%Y %H:%M'.")
    @handles_errors
    def command(file: Path, product_slug: str, workspace: str | None, skip_invalid: bool, preset: str | None,
                mapping: str | None, date_format: str | None) -> None:
        from bot.ingest.csv_import import import_csv

        settings = _settings()
        result = import_csv(
            _factory(settings), kind=kind, path=file, product_slug=product_slug, team_id=workspace,
            skip_invalid=skip_invalid, progress=sys.stderr.isatty(), secret=settings.secret_key,
            preset=preset, mapping=mapping, date_format=date_format,
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

    factory = _factory(_settings())
    checked = services.gate_check(factory, product_slug=product_slug, team_id=workspace, as_of=parse_as_of(as_of))
    report = checked.report
    if not as_json:
        click.echo(report_text(report, checked.changes))
        return
    from bot.surveys.lessons import cli_lessons

    # SPEC §10: "who loves it most" and the lessons, added beside the §4 keys (none renamed).
    lessons = cli_lessons(factory, product_slug=product_slug, team_id=workspace, as_of=report.as_of)[2]
    click.echo(json.dumps(report.to_json(checked.set_by) | {"lessons": lessons.to_json()}, indent=2))


@main.command()
@click.option("--product", "product_slug", required=True)
@click.option("--workspace")
@click.option("--weeks", type=click.IntRange(1, 104), default=12, show_default=True, help="Complete weeks to show.")
@click.option("--as-of", "as_of", help="History up to this date (YYYY-MM-DD); default today (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print the SPEC §10 JSON.")
@handles_errors
def history(product_slug: str, workspace: str | None, weeks: int, as_of: str | None, as_json: bool) -> None:
    """The gate week by week, from the stored weekly snapshots (computed where missing)."""
    from bot.history.blocks import history_text
    from bot.history.progress import week_bar
    from bot.history.service import cli_history

    with week_bar(sys.stderr.isatty()) as progress:
        h = cli_history(_factory(_settings()), product_slug=product_slug, team_id=workspace, weeks=weeks,
                        as_of=parse_as_of(as_of), progress=progress)
    click.echo(json.dumps(h.to_json(), indent=2) if as_json else history_text(h))


@main.group()
def survey() -> None:
    """What the Sean Ellis survey teaches."""


@survey.command("lessons")
@click.option("--product", "product_slug", required=True)
@click.option("--workspace")
@click.option("--as-of", "as_of", help="Answers counted as of this date (YYYY-MM-DD); default today (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print the lessons as JSON (SPEC §10).")
@handles_errors
def survey_lessons(product_slug: str, workspace: str | None, as_of: str | None, as_json: bool) -> None:
    """Who loves it most, what they love, what holds others back."""
    from bot.render.lessons import lessons_text
    from bot.surveys.lessons import cli_lessons

    product, day, lessons = cli_lessons(_factory(_settings()), product_slug=product_slug, team_id=workspace,
                                        as_of=parse_as_of(as_of))
    if as_json:
        click.echo(json.dumps({"product": product.slug, "as_of": day.isoformat()} | lessons.to_json(), indent=2))
    else:
        click.echo(lessons_text(lessons, product_name=product.name, as_of=day.isoformat()))


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


@token.command("list")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def token_list(workspace: str | None) -> None:
    """Tokens by prefix, scope, creator and last use."""
    from bot.products.tokens import list_cli_tokens

    for t in list_cli_tokens(_factory(_settings()), team_id=workspace):
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
        state = f"revoked {t.revoked_at.isoformat(timespec='seconds')}" if t.revoked_at else "live"
        click.echo(f"{t.prefix}\t{t.scope}\tby {t.created_by or '?'}\t"
                   f"created {t.created_at.isoformat(timespec='seconds')}\tlast used {used}\t{state}")


@token.command("revoke")
@click.argument("prefix")
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@handles_errors
def token_revoke(prefix: str, workspace: str | None) -> None:
    """Revoke the token whose prefix starts with PREFIX: it answers 401 at once."""
    from bot.products.tokens import CLI_ACTOR, revoke_token

    info = revoke_token(_factory(_settings()), team_id=workspace, prefix=prefix, actor=CLI_ACTOR,
                        single_workspace=True, cli=True)
    click.echo(f"revoked {info.prefix} ({info.scope})")


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
def worker() -> None:
    """Run queued jobs and the periodic ones (PostgreSQL; replaces the clock there)."""
    from bot.main import run_worker

    run_worker(_settings())


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


# ----------------------------------------------------------------------------- sources (bot.cli_sources)
main.add_command(source)
main.add_command(config)  # bot.cli_config
