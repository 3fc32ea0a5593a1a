"""``/pmf-check lessons [PRODUCT]``: the survey's lessons (who loves it most, what they love, what
holds others back) of the channel's product or of PRODUCT, visible only to the invoker."""

from __future__ import annotations

from slack_bolt import App

from bot.context import AppContext
from bot.errors import UserError
from bot.render import blocks
from bot.render.lessons import lessons_message
from bot.surveys.lessons import channel_lessons
from handlers.commands.args import usage_text
from handlers.commands.router import CommandRequest, Router

LESSONS_USAGE = [("/pmf-check lessons [PRODUCT]", "The survey's lessons for this channel's product (or PRODUCT): "
                  "who loves it most, what they love, what holds others back; visible only to you")]


def lessons(req: CommandRequest) -> None:
    if len(req.words) > 1:
        raise UserError(f"`/pmf-check lessons` takes one product at most, not `{blocks.escape(' '.join(req.words))}`.",
                        usage=usage_text(LESSONS_USAGE))
    try:
        product, day, found = channel_lessons(req.ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                              single_workspace=req.ctx.single_workspace, now=req.ctx.now(),
                                              slug=req.words[0] if req.words else None)
    except UserError as err:
        err.usage = err.usage or usage_text(LESSONS_USAGE)
        raise
    req.respond(**lessons_message(found, product_name=product.name, as_of=day.isoformat()))


def register(app: App, ctx: AppContext, router: Router) -> None:
    router.add("lessons", lessons, LESSONS_USAGE, in_dm=True)
