"""``/pmf-check token [PRODUCT]`` (a write key shown once, scoped to the product named or bound
to this channel, else to the whole workspace), ``token list`` and ``token revoke PREFIX``. All
for managers (SPEC §8): a product's managers for its tokens; workspace-wide tokens need a
workspace admin (or someone who manages every product)."""

from __future__ import annotations

from typing import Any

from bot.context import AppContext
from bot.errors import NotFound, UserError
from bot.products import access, managers
from bot.products import tokens as token_service
from bot.products.blocks import tokens_message
from bot.render import blocks
from handlers.commands.args import usage_text
from handlers.commands.router import CommandRequest, Router

TOKEN_USAGE = [
    ("/pmf-check token [PRODUCT]", "Create a write key for the ingest and tracking APIs (shown once), scoped to the "
                                   "product named or bound to this channel, else to the workspace (managers)"),
    ("/pmf-check token list", "Tokens by prefix, scope, creator and last use (managers)"),
    ("/pmf-check token revoke PREFIX", "Revoke a token: it answers 401 at once (managers)"),
]
USAGE = usage_text(TOKEN_USAGE)


def _create(req: CommandRequest, slug: str | None) -> None:
    ctx = req.ctx
    product: Any
    if slug:
        try:
            product = managers.target_product(ctx.factory, team_id=req.team_id,
                                              single_workspace=ctx.single_workspace, channel_id=req.channel_id,
                                              slug=slug)
        except NotFound as err:
            raise UserError(str(err), usage=USAGE) from None
    else:
        product = managers.bound_product_of(ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                            single_workspace=ctx.single_workspace)
    if product is not None:
        access.require_manager(ctx, req.client, team_id=req.team_id, user_id=req.user_id, product=product,
                               what=f"create tokens for `{product.slug}`")
        scope = f"only product `{product.slug}`"
    else:
        access.require_all_products(ctx, req.client, team_id=req.team_id, user_id=req.user_id,
                                    what="create a workspace-wide token")
        scope = "every product of this workspace"
    secret = token_service.create_ingest_token(ctx.factory, team_id=req.team_id, user_id=req.user_id,
                                               single_workspace=ctx.single_workspace, product=product)
    # The example is meant to be copied: this token's own product and this app's full address.
    slug = product.slug if product is not None else "SLUG"
    url = f"{req.base_url or 'https://YOUR-PMF-GATE-HOST'}/api/v1/ingest"
    req.respond(text=(
        f":key: Your ingest token (shown only this once; it can write data for {scope}):\n"
        f"```{secret}```\nSend data with `POST {url}`, header `Authorization: Bearer <token>`, JSON body "
        f'`{{"product": "{slug}", "events": [{{"user_id": "u1", "occurred_at": "2026-11-02T10:00:00Z"}}], '
        '"signups": [{"user_id": "u1", "signed_up_at": "2026-11-02", "channel": "referral"}]}` '
        "(at most 10,000 items a request)"
        + (", or use it as a Segment write key." if product is not None else ".")
        + f" List or revoke it with `/pmf-check token list` (prefix `{secret[:16]}`)."
    ))


def _visible(req: CommandRequest) -> tuple[bool, set[int]]:
    admin, mine = access.managed(req.ctx, req.client, team_id=req.team_id, user_id=req.user_id)
    if not admin and not mine:
        raise managers.refusal(req.ctx.factory, product=None, what="see or revoke tokens")
    return admin, mine


def token(req: CommandRequest) -> None:
    ctx = req.ctx
    action = req.words[0].lower() if req.words else ""
    if action == "list" and len(req.words) == 1:
        admin, mine = _visible(req)
        rows = [t for t in token_service.list_tokens(ctx.factory, team_id=req.team_id,
                                                     single_workspace=ctx.single_workspace)
                if admin or t.product_id in mine]
        req.respond(**tokens_message([(t.prefix, t.scope, t.created_by, t.created_at, t.last_used_at, t.revoked_at)
                                      for t in rows]))
    elif action == "revoke":
        if len(req.words) != 2:
            raise UserError("Say which token: `/pmf-check token revoke PREFIX` (see `token list`).", usage=USAGE)
        admin, mine = _visible(req)
        info = token_service.find_for_revoke(ctx.factory, team_id=req.team_id, prefix=req.words[1],
                                             single_workspace=ctx.single_workspace)
        if not admin and info.product_id not in mine:
            raise managers.refusal(ctx.factory, product=None, what=f"revoke a token for {info.scope}")
        token_service.revoke_token(ctx.factory, team_id=req.team_id, prefix=info.prefix, actor=req.user_id,
                                   single_workspace=ctx.single_workspace)
        req.respond(text=f":no_entry: Revoked `{blocks.escape(info.prefix)}…` ({blocks.escape(info.scope)}): "
                         "it is refused from now on.")
    elif len(req.words) <= 1:
        _create(req, req.words[0] if req.words else None)
    else:
        raise UserError("`/pmf-check token` takes a product, `list` or `revoke PREFIX`.", usage=USAGE)


def register(app: Any, ctx: AppContext, router: Router) -> None:
    router.add("token", token, TOKEN_USAGE, aliases=("tokens",))
