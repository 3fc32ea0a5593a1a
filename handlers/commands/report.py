"""``/pmf-check`` and ``/pmf-check status`` (the report for the invoker, its chart in their DM
with the app) and ``/pmf-check share`` (report and chart posted in the channel)."""

from __future__ import annotations

from slack_bolt import App

from bot.context import AppContext
from bot.errors import UserError
from bot.products.managers import custom_rules
from bot.render import blocks
from bot.render.names import SIGNALS_CHART
from bot.reports.blocks import gate_report_message
from bot.reports.cache import ReportBundle
from bot.reports.service import channel_report, product_report
from bot.reports.slack import share_report
from bot.slack.files import chart_to_dm
from handlers.commands.args import expect_no_args, usage_text
from handlers.commands.router import CommandRequest, Router

STATUS_USAGE = [("/pmf-check [status] [PRODUCT]", "The PMF gate report for this channel's product (or PRODUCT), "
                 "visible only to you, with the chart of its three signals (sent to your DM with PMF Gate)")]
SHARE_USAGE = [("/pmf-check share", "Post the same report and chart in this channel")]


def _bundle(req: CommandRequest, slug: str | None = None) -> ReportBundle:
    if slug is not None:
        return product_report(req.ctx.factory, cache=req.ctx.reports, team_id=req.team_id, slug=slug,
                              single_workspace=req.ctx.single_workspace, now=req.ctx.now())
    return channel_report(req.ctx.factory, cache=req.ctx.reports, team_id=req.team_id, channel_id=req.channel_id,
                                         single_workspace=req.ctx.single_workspace, now=req.ctx.now())


def _rules(req: CommandRequest, b: ReportBundle) -> str | None:
    return custom_rules(req.ctx.factory, product=b.product)


def status(req: CommandRequest) -> None:
    if len(req.words) > 1:
        raise UserError(f"`/pmf-check status` takes one product at most, not `{blocks.escape(' '.join(req.words))}`.",
                        usage=usage_text(STATUS_USAGE))
    try:
        b = _bundle(req, req.words[0] if req.words else None)
    except UserError as err:
        err.usage = err.usage or usage_text(STATUS_USAGE)
        raise
    note = None
    if b.chart is not None:  # none without data: an empty chart says nothing the reply does not
        note = chart_to_dm(
            req.client, req.sent_charts, req.team_id, req.user_id, b.chart, filename=b.chart_filename,
            title=b.chart_title, what=f"{SIGNALS_CHART} chart",
            comment=f"The three PMF signals of *{blocks.escape(b.product.name)}* "
                    f"(your `/pmf-check` in <#{req.channel_id}>).")
    req.respond(**gate_report_message(b.report, chart_note=note, custom_rules=_rules(req, b)))


def share(req: CommandRequest) -> None:
    expect_no_args(req.words, usage_text(SHARE_USAGE))
    b = _bundle(req)
    note = f"Shared by <@{req.user_id}>" + (" · the chart of all three signals is below." if b.chart else ".")
    message = gate_report_message(b.report, chart_note=note, custom_rules=_rules(req, b))
    share_report(req.client, req.channel_id, message, b.chart, filename=b.chart_filename, title=b.chart_title,
                 steps=req.effects, delivery=req.effects.key or None, rerun=req.rerun)
    req.respond(text=f":white_check_mark: Posted the report for *{blocks.escape(b.product.name)}* in <#{req.channel_id}>.")


def register(app: App, ctx: AppContext, router: Router) -> None:
    router.add("status", status, STATUS_USAGE, aliases=("check", "report"), in_dm=True)
    router.add("share", share, SHARE_USAGE)
