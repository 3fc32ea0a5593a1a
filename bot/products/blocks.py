"""Messages about products: the product list (with the channel's binding) and the settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.settings import SettingRow
from bot.render import limits
from bot.render.blocks import _context, _list_sections, _message, _section, escape


def product_list_message(products: list[tuple[str, str, bool]]) -> dict[str, Any]:
    """The workspace's products as (slug, name, bound to this channel), with how to bind or
    create one; with none, how to get started."""
    if not products:
        text = (
            "No products yet. Create one with `/pmf-check product create SLUG [NAME]`, then import "
            "data: `pmfbot import signups FILE --product SLUG` and `pmfbot import events FILE "
            "--product SLUG`."
        )
        return _message(text.replace("`", ""), [_section(text)])
    lines = [
        f"• *{escape(name)}* `{escape(slug)}`" + (" — :pushpin: bound to this channel" if bound else "")
        for slug, name, bound in products
    ]
    blocks = _list_sections("Products in this workspace", lines)
    blocks.append(_context(
        "Bind this channel to one: `/pmf-check product use SLUG` · "
        "create one: `/pmf-check product create SLUG [NAME]`"
    ))
    fallback = "Products: " + ", ".join(
        f"{escape(name)} ({escape(slug)}{', bound to this channel' if bound else ''})"
        for slug, name, bound in products
    )
    return _message(fallback, blocks)


def config_message(product_slug: str, rows: Sequence[SettingRow], *, changed: str | None = None) -> dict[str, Any]:
    """A product's settings, each with its value, unit, default and meaning, and how to change
    one. ``changed`` (mrkdwn) leads the message when it answers a change, so a change gets one
    reply that shows the result in context."""
    slug = escape(product_slug)
    lines = [
        f"• `{escape(r.key)}` = *{escape(r.value)}* ({escape(r.unit)}; default {escape(r.default)})"
        + (" — changed" if r.value != r.default else "") + f"\n      _{escape(r.meaning)}_"
        for r in rows
    ]
    blocks = [_section(changed)] if changed else []
    blocks += _list_sections(f"Settings for `{slug}`", lines or ["_No settings._"])
    blocks.append(_context("Change one: `/pmf-check config KEY VALUE`, e.g. `/pmf-check config survey.threshold 0.4`; "
                           "`channel.NAME organic|paid|direct|unknown` classifies a signup channel"))
    listing = ", ".join(f"{escape(r.key)}={escape(r.value)}" for r in rows)
    fallback = (f"{changed} " if changed else "") + f"Settings for {slug}: {listing}"
    return _message(limits.truncate(fallback, limits.FALLBACK_TEXT), blocks)
