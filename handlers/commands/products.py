"""``/pmf-check product …`` (list, create, bind this channel), ``config`` (show / change a
product setting) and ``token`` (an ingest API token, shown once)."""

from __future__ import annotations

from typing import Any

from bot.context import AppContext
from bot.errors import UserError
from bot.products.blocks import config_message, product_list_message
from bot.products.channels import change_setting, create_product, product_settings, products_for_channel, use_product
from bot.products.tokens import create_ingest_token
from bot.render import blocks
from handlers.commands.args import expect_no_args, usage_text
from handlers.commands.router import CommandRequest, Router

PRODUCT_USAGE = [
    ("/pmf-check product", "List this workspace's products"),
    ("/pmf-check product create SLUG [NAME]", "Track a new product (binds this channel if it has none)"),
    ("/pmf-check product use SLUG", "Make this channel's commands about product SLUG"),
]
CONFIG_USAGE = [
    ("/pmf-check config", "Show the settings of this channel's product"),
    ("/pmf-check config KEY VALUE", "Change one, e.g. `survey.threshold 0.4`, `timezone Europe/Berlin`, "
                                    "`channel.newsletter organic`"),
]
TOKEN_USAGE = [("/pmf-check token", "Create a token for the HTTP ingest API (shown once)")]


def product(req: CommandRequest) -> None:
    ctx, usage = req.ctx, usage_text(PRODUCT_USAGE)
    action, args = (req.words[0].lower(), req.words[1:]) if req.words else ("list", [])
    if action == "list" and not args:
        products = products_for_channel(ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                                       single_workspace=ctx.single_workspace)
        req.respond(**product_list_message(products))
    elif action == "create" and args:
        p, bound = create_product(ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                                 slug=args[0], name=" ".join(args[1:]) or None,
                                                 single_workspace=ctx.single_workspace)
        where = f" and bound <#{req.channel_id}> to it" if bound else ""
        req.respond(text=f":white_check_mark: Now tracking *{blocks.escape(p.name)}* (`{p.slug}`){where}. "
                         f"Import data with `pmfbot import signups FILE --product {p.slug}` and `pmfbot import "
                         f"events FILE --product {p.slug}`, or the ingest API (`/pmf-check token`).")
    elif action == "use" and len(args) == 1:
        p = use_product(ctx.factory, team_id=req.team_id, channel_id=req.channel_id, slug=args[0],
                                       single_workspace=ctx.single_workspace)
        req.respond(text=f":pushpin: <#{req.channel_id}> is now about *{blocks.escape(p.name)}* (`{p.slug}`).")
    else:
        raise UserError("`/pmf-check product` takes `create SLUG [NAME]`, `use SLUG` or nothing.", usage=usage)


def config(req: CommandRequest) -> None:
    ctx = req.ctx
    if not req.words:
        slug, items = product_settings(ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                                      single_workspace=ctx.single_workspace)
        req.respond(**config_message(slug, items))
    elif len(req.words) == 2:
        key, value = req.words
        slug, items = change_setting(ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                                    key=key, value=value, single_workspace=ctx.single_workspace)
        changed = f":white_check_mark: Changed `{blocks.escape(key)}` of `{slug}` to `{blocks.escape(value)}`."
        req.respond(**config_message(slug, items, changed=changed))
    else:
        raise UserError("`/pmf-check config` takes nothing (show) or exactly `KEY VALUE` (change).",
                        usage=usage_text(CONFIG_USAGE))


def token(req: CommandRequest) -> None:
    expect_no_args(req.words, usage_text(TOKEN_USAGE))
    secret = create_ingest_token(req.ctx.factory, team_id=req.team_id, user_id=req.user_id,
                                                single_workspace=req.ctx.single_workspace)
    req.respond(text=(
        f":key: Your ingest token (shown only this once; it can write data for every product of this workspace):\n"
        f"```{secret}```\nSend data with `POST /api/v1/ingest`, header `Authorization: Bearer <token>`, JSON body "
        '`{"product": "SLUG", "events": [{"user_id": "u1", "occurred_at": "2026-11-02T10:00:00Z"}], '
        '"signups": [{"user_id": "u1", "signed_up_at": "2026-11-02", "channel": "referral"}]}` '
        "(at most 10,000 items a request)."
    ))


def register(app: Any, ctx: AppContext, router: Router) -> None:
    router.add("product", product, PRODUCT_USAGE, aliases=("products",))
    router.add("config", config, CONFIG_USAGE, aliases=("settings",))
    router.add("token", token, TOKEN_USAGE)
