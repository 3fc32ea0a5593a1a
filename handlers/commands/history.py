"""``/pmf-check history [WEEKS]``: the gate week by week for the channel's product (visible
only to the invoker), with the trajectory chart sent to their DM with the app."""

from __future__ import annotations

from typing import Any

from bot.context import AppContext
from bot.errors import UserError
from bot.history.blocks import history_message
from bot.history.service import DEFAULT_WEEKS, MAX_WEEKS, channel_history
from bot.render import blocks
from bot.render.names import TRAJECTORY_CHART
from bot.slack.files import chart_to_dm
from handlers.commands.args import usage_text
from handlers.commands.router import CommandRequest, Router

HISTORY_USAGE = [("/pmf-check history [WEEKS]",
                  f"The gate week by week (last {DEFAULT_WEEKS} complete weeks by default, at most {MAX_WEEKS}), "
                  "visible only to you, with the trajectory chart (sent to your DM with PMF Gate)")]


def _weeks(words: list[str]) -> int:
    if not words:
        return DEFAULT_WEEKS
    if len(words) == 1 and words[0].isdigit() and 1 <= int(words[0]) <= MAX_WEEKS:
        return int(words[0])
    raise UserError(f"`{blocks.escape(' '.join(words))}` is not a number of weeks (1–{MAX_WEEKS}).",
                    usage=usage_text(HISTORY_USAGE))


def history(req: CommandRequest) -> None:
    weeks = _weeks(req.words)
    h = channel_history(req.ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                        single_workspace=req.ctx.single_workspace, now=req.ctx.now(), weeks=weeks)
    note = None
    if h.weeks:
        from bot.history.charts import trajectory_chart  # matplotlib: only when there is a chart to draw

        note = chart_to_dm(req.client, req.sent_charts, req.team_id, req.user_id, trajectory_chart(h),
                           filename=f"pmf-trajectory-{h.product}.png", title=f"{h.product_name} · {TRAJECTORY_CHART}",
                           comment=f"{TRAJECTORY_CHART} for *{blocks.escape(h.product_name)}* "
                                   f"(your `/pmf-check history` in <#{req.channel_id}>).",
                           what=f"{TRAJECTORY_CHART} chart")
    req.respond(**history_message(h, chart_note=note))


def register(app: Any, ctx: AppContext, router: Router) -> None:
    router.add("history", history, HISTORY_USAGE, aliases=("trajectory",), in_dm=True)
