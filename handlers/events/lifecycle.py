"""``app_uninstalled`` and ``tokens_revoked``: forget the workspace — its tokens (slack_sdk's
installation rows) and all of its data — once per delivery, in one transaction."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.context import AppContext
from bot.workspaces.service import forget_user_tokens, forget_workspace
from handlers.commands.router import Router

log = logging.getLogger(__name__)


def register(app: App, ctx: AppContext, router: Router) -> None:
    @app.event("app_uninstalled")
    def uninstalled(body: dict[str, Any], context: BoltContext) -> None:
        team_id = context.team_id or body["team_id"]
        if forget_workspace(ctx.factory, team_id=team_id, event_id=body.get("event_id")):
            log.info("app uninstalled from team %s: its tokens and data are deleted", team_id)

    @app.event("tokens_revoked")
    def revoked(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        team_id = context.team_id or body["team_id"]
        tokens = event.get("tokens") or {}
        if tokens.get("bot"):
            if forget_workspace(ctx.factory, team_id=team_id, event_id=body.get("event_id")):
                log.info("bot token revoked in team %s: its tokens and data are deleted", team_id)
        elif tokens.get("oauth"):
            forget_user_tokens(ctx.factory, team_id=team_id, user_ids=list(tokens["oauth"]),
                                              event_id=body.get("event_id"))
