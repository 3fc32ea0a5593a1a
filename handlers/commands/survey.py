"""``/pmf-check survey start|status|remind|close``: run an in-channel Sean Ellis survey.

``start [#channel] [anonymous] [days N]`` posts the survey (default: this channel, 14 days);
the others act on the open survey of the named channel, else of this channel, else the
product's only open survey. Parsing errors raise ``UserError`` with the usage; nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import App

from bot.context import AppContext
from bot.domain.suggest import did_you_mean
from bot.errors import UserError
from bot.products import access, managers
from bot.surveys import blocks as ui
from bot.surveys import service as surveys
from bot.surveys import slack as survey_slack
from bot.surveys.reminders import remind
from handlers.commands.args import is_channel, parse_channel, usage_text
from handlers.commands.router import CommandRequest, Router

SURVEY_USAGE = [
    ("/pmf-check survey start [#channel] [anonymous] [days N]",
     "Post a PMF survey (default: this channel, 14 days, named answers)"),
    ("/pmf-check survey status [#channel]",
     "Responses so far (also `results`; the distribution stays hidden until it closes)"),
    ("/pmf-check survey remind [#channel] [dm]",
     "Remind in its thread; with `dm`, only message members who haven't answered (named surveys)"),
    ("/pmf-check survey close [#channel]", "Close it now and post the results in its thread"),
]
USAGE = usage_text(SURVEY_USAGE)


@dataclass(frozen=True)
class Args:
    channel_id: str | None = None
    anonymous: bool = False
    days: int = surveys.DEFAULT_DAYS
    dm: bool = False


def parse(action: str, words: list[str]) -> Args:
    """The options of one survey subcommand, in any order."""
    allowed = {"start": {"anonymous", "anon", "days"}, "remind": {"dm"}}.get(action, set())
    out: dict[str, Any] = {}
    rest = list(words)
    while rest:
        word = rest.pop(0)
        low = word.lower()
        if is_channel(word) and "channel_id" not in out:
            out["channel_id"] = parse_channel(word, usage=USAGE)
        elif low in allowed and low in ("anonymous", "anon"):
            out["anonymous"] = True
        elif low in allowed and low == "dm":
            out["dm"] = True
        elif low in allowed and low == "days":
            if not rest or not rest[0].isdigit():
                raise UserError("`days` needs a whole number of days, e.g. `days 14`.", usage=USAGE)
            out["days"] = int(rest.pop(0))
        else:
            raise UserError(f"`/pmf-check survey {action}` does not understand `{ui.escape(word)}`.", usage=USAGE)
    return Args(**out)


ACTIONS = ("start", "status", "remind", "close")
# What people type for an action, beside its own name.
ACTION_ALIASES = {"results": "status", "result": "status", "post": "start", "run": "start", "end": "close",
                  "stop": "close", "reminder": "remind"}


def survey(req: CommandRequest) -> None:
    ctx = req.ctx
    word = req.words[0].lower() if req.words else ""
    action = ACTION_ALIASES.get(word, word)
    if action not in ACTIONS:
        hint = did_you_mean(word, [*ACTIONS, *ACTION_ALIASES]) if word else ""
        what = f"`/pmf-check survey` does not understand `{ui.escape(word)}`.{hint} " if word else ""
        raise UserError(f"{what}Say what to do with the survey: `start`, `status`, `remind` or `close`.",
                        usage=USAGE)
    args = parse(action, req.words[1:])
    if action == "start":
        target = managers.target_product(ctx.factory, team_id=req.team_id, single_workspace=ctx.single_workspace,
                                         channel_id=args.channel_id or req.channel_id, invoked_in=req.channel_id)
        access.require_manager(ctx, req.client, team_id=req.team_id, user_id=req.user_id, product=target,
                               what=f"start surveys for `{target.slug}`")
        info = surveys.start_survey(ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                    target_channel_id=args.channel_id, user_id=req.user_id, anonymous=args.anonymous,
                                    days=args.days, now=ctx.now(), single_workspace=ctx.single_workspace)
        req.respond(**ui.survey_started(survey_slack.post_survey(ctx, req.client, info)))
        return
    info = surveys.find_open_survey(ctx.factory, team_id=req.team_id, channel_id=req.channel_id,
                                    target_channel_id=args.channel_id, single_workspace=ctx.single_workspace)
    if action == "status":
        req.respond(**ui.survey_status(info))
        return
    product = managers.target_product(ctx.factory, team_id=req.team_id, single_workspace=ctx.single_workspace,
                                      channel_id=info.channel_id, slug=info.product_slug)
    access.require_manager(ctx, req.client, team_id=req.team_id, user_id=req.user_id, product=product,
                           what=f"{action} surveys of `{product.slug}`")
    if action == "remind":
        req.respond(**remind(ctx, req.client, info, dm=args.dm))
    else:
        results = survey_slack.close_and_post(ctx, req.client, info.id)
        if results is None:
            raise UserError("That survey was already closed (by another command or its deadline).")
        req.respond(**ui.survey_closing(results.survey))


def register(app: App, ctx: AppContext, router: Router) -> None:
    router.add("survey", survey, SURVEY_USAGE, aliases=("surveys",))
