"""Messages about products: the product list (with the channel's binding) and the settings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.active_events import ActiveEventsReport, top_event_lines
from bot.domain.settings import DEFAULT_SURVEY_THRESHOLD, SettingRow
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


def config_message(product_slug: str, rows: Sequence[SettingRow], *, changed: str | None = None,
                   events: ActiveEventsReport | None = None) -> dict[str, Any]:
    """A product's settings, each with its value, unit, default and meaning, and how to change
    one. ``changed`` (mrkdwn) leads the message when it answers a change, so a change gets one
    reply that shows the result in context. ``events``: the imported event names, most frequent
    first, and which ``retention.active_events`` counts."""
    slug = escape(product_slug)
    lines = [
        f"• `{escape(r.key)}` = *{escape(r.value)}* ({escape(r.unit)}; default {escape(r.default)})"
        + (" — changed" if r.value != r.default else "") + f"\n      _{escape(r.meaning)}_"
        for r in rows
    ]
    blocks = [_section(changed)] if changed else []
    blocks += _list_sections(f"Settings for `{slug}`", lines or ["_No settings._"])
    top = top_event_lines(events) if events is not None else []
    if top:
        blocks += _list_sections("Event names imported (`retention.active_events` decides which count as activity)",
                                 [f"• {escape(line)}" for line in top])
    blocks.append(_context("Change one: `/pmf-check config KEY VALUE`, e.g. "
                           f"`/pmf-check config survey.threshold {DEFAULT_SURVEY_THRESHOLD:g}`; "
                           "`channel.NAME organic|paid|direct|unknown` classifies a signup channel; "
                           "`organic.classify SOURCE organic|paid` says how an ambiguous source counts"))
    listing = ", ".join(f"{escape(r.key)}={escape(r.value)}" for r in rows)
    fallback = (f"{changed} " if changed else "") + f"Settings for {slug}: {listing}"
    return _message(limits.truncate(fallback, limits.FALLBACK_TEXT), blocks)




def _who(actor: str | None) -> str:
    return "the command line" if actor in (None, "cli") else f"<@{actor}>"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at is not None else "never"


_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")


def _change(kind: str, key: str, old: str | None, new: str | None) -> str:
    """One audited change as mrkdwn: managers and channels as mentions, values escaped."""
    if kind == "manager":
        def people(ids: str | None) -> str:
            mentions = [f"<@{u}>" for u in (ids or "").split() if _USER_ID.match(u)]
            return ", ".join(mentions) or "nobody"
        return f"managers: {people(old)} → {people(new)}"
    if kind == "binding":
        where = f"<#{key}>" if _CHANNEL_ID.match(key) else f"`{escape(key)}`"
        return f"channel {where}: `{escape(old or '(none)')}` → `{escape(new or '(none)')}`"
    if kind == "token":
        return f"token `{escape(key)}…`: {escape(old or 'new')} → {escape(new or '')}"
    return f"setting `{escape(key)}`: `{escape(old or '(default)')}` → `{escape(new or '(default)')}`"


def history_message(product_slug: str, changes: Sequence[tuple[datetime, str, str, str, str | None, str | None]],
                    custom_rules: str | None) -> dict[str, Any]:
    """``config history``: (when, who, kind, key, old, new) newest first, and the custom-rules
    line when the product's rules differ from the defaults."""
    slug = escape(product_slug)
    lines = [f"• {_when(at)} · {_who(actor)} · {_change(kind, key, old, new)}" for at, actor, kind, key, old, new in changes]
    blocks = _list_sections(f"Changes to `{slug}`", lines or ["_No changes recorded: every rule is the default._"])
    if custom_rules:
        blocks.append(_context(f":warning: {custom_rules}"))
    return _message(f"Changes to {slug}: {len(lines)}", blocks)


def managers_message(product_slug: str, users: Sequence[str]) -> dict[str, Any]:
    slug = escape(product_slug)
    names = ", ".join(f"<@{u}>" for u in users) or "_nobody listed_"
    blocks = [_section(f"*Managers of `{slug}`*: {names}, and every workspace admin or owner."),
              _context("Add or remove one: `/pmf-check product managers add|remove @user` (managers only)")]
    return _message(f"Managers of {slug}: {', '.join(users) or 'nobody listed'} and the workspace admins", blocks)


def tokens_message(tokens: Sequence[tuple[str, str, str | None, datetime, datetime | None, datetime | None]]
                   ) -> dict[str, Any]:
    """``token list``: (prefix, scope, creator, created, last used, revoked) per token."""
    lines = [f"• `{escape(prefix)}…` · {escape(scope)} · by {_who(by)} on {created:%Y-%m-%d} · last used "
             f"{_when(used)}" + (f" · :no_entry: revoked {revoked:%Y-%m-%d}" if revoked else "")
             for prefix, scope, by, created, used, revoked in tokens]
    blocks = _list_sections("Ingest tokens", lines or ["_No tokens yet: create one with `/pmf-check token`._"])
    blocks.append(_context("Revoke one: `/pmf-check token revoke PREFIX` (it answers 401 at once)"))
    return _message(f"{len(lines)} ingest token{'s' if len(lines) != 1 else ''}", blocks)
