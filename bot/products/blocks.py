"""Messages about products: the product list (with the channel's binding) and the settings."""

from __future__ import annotations

from typing import Any

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


def config_message(product_slug: str, items: list[tuple[str, str]]) -> dict[str, Any]:
    """A product's settings as (key, value) pairs, with how to change one."""
    slug = escape(product_slug)
    lines = [f"`{escape(key)}` = `{escape(value)}`" for key, value in items]
    blocks = _list_sections(f"Settings for `{slug}`", lines or ["_No settings._"])
    blocks.append(_context("Change one: `/pmf-check config KEY VALUE`, e.g. `/pmf-check config survey.threshold 0.4`"))
    fallback = f"Settings for {slug}: " + ", ".join(f"{escape(k)}={escape(v)}" for k, v in items)
    return _message(fallback, blocks)


