"""`pmfbot config --product SLUG [KEY VALUE...]`: a product's settings from the command line, the
same change and audit as `/pmf-check config` (recorded as set from the command line)."""

from __future__ import annotations

import click

from bot.cli_common import _factory, _settings, handles_errors


@click.command("config", short_help="Show a product's settings, or change one (KEY VALUE).")
@click.option("--product", "product_slug", required=True)
@click.option("--workspace", help="Slack team id (default: the only workspace, or 'local').")
@click.argument("words", nargs=-1, metavar="[KEY VALUE...]")
@handles_errors
def config(product_slug: str, workspace: str | None, words: tuple[str, ...]) -> None:
    """Show the settings, or change one: KEY VALUE, e.g. `survey.threshold 0.4`,
    `organic.classify partner paid`, `organic.referrals_rewarded no`."""
    from bot.domain.active_events import top_event_lines
    from bot.domain.settings import describe
    from bot.errors import UserError
    from bot.products import service as product_service

    factory = _factory(_settings())
    if not words:
        settings = product_service.cli_settings(factory, product_slug=product_slug, team_id=workspace)
    elif len(words) == 1:
        raise UserError("Give a value after the key: `pmfbot config --product SLUG KEY VALUE`, e.g. "
                        "`organic.classify partner paid`.")
    else:
        settings = product_service.cli_change_setting(factory, product_slug=product_slug, team_id=workspace,
                                                      key=words[0], value=" ".join(words[1:]))
        click.echo(f"Changed {words[0]} of {product_slug} to {' '.join(words[1:])}.")
    for row in describe(settings):
        changed = "  (changed)" if row.value != row.default else ""
        click.echo(f"{row.key} = {row.value or '-'}  [{row.unit}; default {row.default or '-'}]{changed}")
    events = top_event_lines(product_service.cli_events(factory, product_slug=product_slug, team_id=workspace))
    if events:
        click.echo("\nEvent names imported (retention.active_events decides which count as activity):")
        click.echo("\n".join(f"  {line}" for line in events))
