"""``/pmf-check digest weekly|off|now|list``: a channel's weekly scaling-readiness digest.

``weekly [#channel] [mon…sun] [HH:MM] [Area/City]`` subscribes (defaults: this channel,
``bot.digests.schedule.default_when()``, the invoker's Slack time zone from ``users.info``);
``off`` stops it; ``now`` posts the digest at once; ``list`` shows every digest with its next
run in its own zone and its last delivery or error. Parsing errors raise ``UserError`` with the usage; nothing changes. All but
``list`` are for the product's managers unless the channel is the invoker's own DM (SPEC §8).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.digests import blocks as digest_blocks
from bot.digests import service as digests
from bot.digests.schedule import parse_channel_only, parse_weekly_args
from bot.digests.slack import send_digest_now
from bot.domain.suggest import did_you_mean
from bot.errors import UserError
from bot.products import access, managers
from bot.render.blocks import escape
from handlers.commands.args import expect_no_args, usage_text
from handlers.commands.router import CommandRequest, Router

log = logging.getLogger(__name__)
DIGEST_USAGE = digest_blocks.usage_lines()
USAGE = usage_text(DIGEST_USAGE)


def profile_tz(client: WebClient, user_id: str) -> str | None:
    """The invoker's Slack time zone; None when Slack does not say (the default is UTC then)."""
    try:
        tz = client.users_info(user=user_id)["user"].get("tz")
    except Exception as err:  # noqa: BLE001 - a missing zone must not stop the subscription
        log.info("users.info user=%s failed (%s): digest time zone defaults to UTC", user_id, type(err).__name__)
        return None
    try:
        return digests.validate_zone(tz) if tz else None
    except UserError:
        return None


def _require(req: CommandRequest, channel_id: str, products: list[Any]) -> None:
    """Managers only, except for a digest in the invoker's own DM with the app (SPEC §8)."""
    if channel_id == req.channel_id and channel_id.startswith("D"):
        return
    for product in products:
        access.require_manager(req.ctx, req.client, team_id=req.team_id, user_id=req.user_id, product=product,
                               what=f"change where the digest of `{product.slug}` goes")


def _target(req: CommandRequest, channel_id: str) -> Any:
    return managers.target_product(req.ctx.factory, team_id=req.team_id, single_workspace=req.ctx.single_workspace,
                                   channel_id=channel_id, invoked_in=req.channel_id)


ACTIONS = ("weekly", "off", "now", "list")
# What people type for an action, beside its own name.
ACTION_ALIASES = {"subscribe": "weekly", "sub": "weekly", "on": "weekly", "unsubscribe": "off", "unsub": "off",
                  "stop": "off", "cancel": "off", "send": "now", "ls": "list"}


def digest(req: CommandRequest) -> None:
    word = req.words[0].lower() if req.words else ""
    ctx, action, rest = req.ctx, ACTION_ALIASES.get(word, word), req.words[1:]
    scope: dict[str, Any] = {"team_id": req.team_id, "single_workspace": ctx.single_workspace}
    if action == "weekly":
        args = parse_weekly_args(rest)
        channel_id = args.channel_id or req.channel_id
        _require(req, channel_id, [_target(req, channel_id)])
        tz = args.timezone or profile_tz(req.client, req.user_id)
        info = digests.subscribe(ctx.factory, **scope, invoked_in=req.channel_id, user_id=req.user_id, args=args,
                                 default_tz=tz, now=ctx.now())
        req.respond(**digest_blocks.subscribed_message(info, tz_from_profile=args.timezone is None and tz is not None))
    elif action == "off":
        channel = parse_channel_only(rest, USAGE) or req.channel_id
        _require(req, channel, digests.subscribed_products(ctx.factory, **scope, channel_id=channel))
        subs = digests.unsubscribe(ctx.factory, **scope, channel_id=channel, user_id=req.user_id, now=ctx.now())
        req.respond(**digest_blocks.unsubscribed_message(subs))
    elif action == "now":
        channel = parse_channel_only(rest, USAGE) or req.channel_id
        product = digests.product_for_channel(ctx.factory, **scope, channel_id=channel, invoked_in=req.channel_id)
        _require(req, channel, [product])
        send_digest_now(ctx, team_id=req.team_id, channel_id=channel, product=product, client=req.client)
        req.respond(**digest_blocks.posted_now_message(channel, product.name))
    elif action == "list":
        expect_no_args(rest, USAGE)
        req.respond(**digest_blocks.subscriptions_message(digests.list_subscriptions(ctx.factory, **scope,
                                                                                     now=ctx.now())))
    else:
        hint = did_you_mean(word, [*ACTIONS, *(a for a in ACTION_ALIASES if len(a) > 2)]) if word else ""
        what = f"`/pmf-check digest` does not understand `{escape(word)}`.{hint} " if word else ""
        raise UserError(f"{what}Say what to do with the digest: `weekly`, `off`, `now` or `list`.", usage=USAGE)


def register(app: App, ctx: AppContext, router: Router) -> None:
    router.add("digest", digest, DIGEST_USAGE, aliases=("digests",), in_dm=True)
