"""``/pmf-check product …`` (list, create, bind this channel, its managers) and ``config`` (show,
change a product setting, its history). Changes are for the product's managers (SPEC §8): the
check runs here, after the ack, before anything changes."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.context import AppContext
from bot.domain.settings import ACTIVE_EVENTS, CLASSIFY, DEFAULT_SURVEY_THRESHOLD
from bot.errors import UserError
from bot.products import access, managers
from bot.products.blocks import config_message, history_message, managers_message, product_list_message
from bot.products.channels import change_setting, create_product, product_settings, products_for_channel, use_product
from bot.render import blocks
from handlers.commands.args import expect_no_args, parse_user, usage_text
from handlers.commands.router import CommandRequest, Router

PRODUCT_USAGE = [
    ("/pmf-check product", "List this workspace's products"),
    ("/pmf-check product create SLUG [NAME]", "Track a new product (binds this channel if it has none); you become "
                                              "its first manager"),
    ("/pmf-check product use SLUG", "Make this channel's commands about product SLUG (managers)"),
    ("/pmf-check product managers [add|remove @user]", "Who manages this channel's product / add or remove one "
                                                       "(managers)"),
]
CONFIG_USAGE = [
    ("/pmf-check config", "Show the settings of this channel's product"),
    ("/pmf-check config KEY VALUE", f"Change one (managers), e.g. `survey.threshold {DEFAULT_SURVEY_THRESHOLD:g}`, "
                                    "`timezone Europe/Berlin`, "
                                    "`channel.newsletter organic`"),
    ("/pmf-check config organic.classify SOURCE organic|paid", "Say once how an ambiguous source (partner, "
                                                               "podcast, a bare google ...) counts (managers)"),
    ("/pmf-check config history", "Every change of a setting, binding, manager or token: who, when, old → new"),
]


def _channel_product(req: CommandRequest, slug: str | None = None) -> Any:
    return managers.target_product(req.ctx.factory, team_id=req.team_id, single_workspace=req.ctx.single_workspace,
                                   channel_id=req.channel_id, slug=slug)


def _require(req: CommandRequest, product: Any, what: str) -> None:
    access.require_manager(req.ctx, req.client, team_id=req.team_id, user_id=req.user_id, product=product, what=what)


def product(req: CommandRequest) -> None:
    ctx, usage = req.ctx, usage_text(PRODUCT_USAGE)
    action, args = (req.words[0].lower(), req.words[1:]) if req.words else ("list", [])
    if action == "list" and not args:
        products = products_for_channel(ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                        single_workspace=ctx.single_workspace)
        req.respond(**product_list_message(products))
    elif action == "create" and args:
        access.may_create_product(ctx, req.client, team_id=req.team_id, user_id=req.user_id)
        p, bound = create_product(ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                  slug=args[0], name=" ".join(args[1:]) or None,
                                  single_workspace=ctx.single_workspace, user_id=req.user_id)
        where = f" and bound <#{req.channel_id}> to it" if bound else ""
        req.respond(text=f":white_check_mark: Now tracking *{blocks.escape(p.name)}* (`{p.slug}`){where}; you are "
                         f"its first manager. Import data with `pmfbot import signups FILE --product {p.slug}` and "
                         f"`pmfbot import events FILE --product {p.slug}`, or the ingest API (`/pmf-check token`).")
    elif action == "use" and len(args) == 1:
        target = _channel_product(req, slug=args[0])
        _require(req, target, f"bind channels to `{target.slug}`")
        try:
            current = _channel_product(req)
        except UserError:
            current = None
        if current is not None and current.id != target.id:
            _require(req, current, f"move <#{req.channel_id}> away from `{current.slug}`")
        p = use_product(ctx.factory, team_id=req.team_id, channel_id=req.channel_id, slug=args[0],
                        single_workspace=ctx.single_workspace, user_id=req.user_id)
        req.respond(text=f":pushpin: <#{req.channel_id}> is now about *{blocks.escape(p.name)}* (`{p.slug}`).")
    elif action in ("managers", "manager"):
        product_managers(req, args)
    else:
        raise UserError("`/pmf-check product` takes `create SLUG [NAME]`, `use SLUG`, `managers` or nothing.",
                        usage=usage)


def product_managers(req: CommandRequest, args: list[str]) -> None:
    usage = usage_text(PRODUCT_USAGE[3:])
    p = _channel_product(req)
    if not args:
        _require(req, p, f"see who manages `{p.slug}`")
        req.respond(**managers_message(p.slug, managers.list_managers(req.ctx.factory, product_id=p.id)))
        return
    if len(args) != 2 or args[0].lower() not in ("add", "remove"):
        raise UserError("Say `add @user` or `remove @user`.", usage=usage)
    user = parse_user(args[1], usage=usage)
    _require(req, p, f"change who manages `{p.slug}`")
    if args[0].lower() == "add":
        changed = managers.add_manager(req.ctx.factory, product=p, user_id=user, actor=req.user_id)
        text = f"<@{user}> now manages `{p.slug}`." if changed else f"<@{user}> already manages `{p.slug}`."
    else:
        changed = managers.remove_manager(req.ctx.factory, product=p, user_id=user, actor=req.user_id)
        text = (f"<@{user}> no longer manages `{p.slug}` (workspace admins always do)." if changed
                else f"<@{user}> was not on the manager list of `{p.slug}`.")
    req.respond(text=(":white_check_mark: " if changed else "") + text)


def config(req: CommandRequest) -> None:
    ctx = req.ctx
    if not req.words:
        slug, items, events = product_settings(ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                               single_workspace=ctx.single_workspace)
        req.respond(**config_message(slug, items, events=events))
    elif req.words[0].lower() == "history":
        expect_no_args(req.words[1:], usage_text(CONFIG_USAGE))
        p = _channel_product(req)
        changes = managers.history(ctx.factory, product=p)
        req.respond(**history_message(p.slug, [(c.at, c.actor, c.kind, c.key, c.old, c.new) for c in changes],
                                      managers.custom_rules(ctx.factory, product=p)))
    elif len(req.words) == 2 or (len(req.words) >= 3 and req.words[0].lower() in (CLASSIFY, ACTIVE_EVENTS)):
        # organic.classify takes a source (perhaps of several words) and a class; an event list may
        # be written with spaces ("exclude: email_opened, notification_sent").
        key, value = req.words[0], " ".join(req.words[1:])
        p = _channel_product(req)
        _require(req, p, f"change the settings of `{p.slug}`")
        slug, items, events = change_setting(ctx.factory, product=p, key=key, value=value, user_id=req.user_id)
        changed = f":white_check_mark: Changed `{blocks.escape(key)}` of `{slug}` to `{blocks.escape(value)}`."
        req.respond(**config_message(slug, items, changed=changed, events=events))
    else:
        raise UserError("`/pmf-check config` takes nothing (show), `history`, or exactly `KEY VALUE` (change; "
                        f"`{CLASSIFY} SOURCE organic|paid` takes a source and a class).",
                        usage=usage_text(CONFIG_USAGE))


def register(app: App, ctx: AppContext, router: Router) -> None:
    router.add("product", product, PRODUCT_USAGE, aliases=("products",))
    router.add("config", config, CONFIG_USAGE, aliases=("settings",))
