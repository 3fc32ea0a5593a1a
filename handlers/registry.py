"""Slack listeners only, by surface. Each listener acks, parses, calls a service, renders and
replies; ``register_all`` wires every surface onto a Bolt app.

The listener modules are registered from the explicit list ``LISTENERS`` below, so the owner of
each event type is visible in one place (Bolt runs only the first listener that matches an
event, so each event type, e.g. ``message``, has exactly one owner module). A new surface
adds a module defining ``register(app, ctx, router)`` and one line here.
"""

from __future__ import annotations

import logging
from types import ModuleType

from slack_bolt import App

from bot.context import AppContext
from handlers import errors, shape
from handlers.actions import digest as digest_actions
from handlers.actions import home as home_actions
from handlers.actions import home_survey as home_survey_actions
from handlers.actions import survey as survey_actions
from handlers.commands import digest as digest_commands
from handlers.commands import help as help_command
from handlers.commands import history as history_commands
from handlers.commands import lessons as lessons_commands
from handlers.commands import pmf_check
from handlers.commands import products as product_commands
from handlers.commands import report as report_commands
from handlers.commands import survey as survey_commands
from handlers.commands import tokens as token_commands
from handlers.commands.router import Router
from handlers.events import home as home_events
from handlers.events import lifecycle as lifecycle_events
from handlers.events import survey_messages
from handlers.views import survey as survey_views

log = logging.getLogger(__name__)

LISTENERS: tuple[ModuleType, ...] = (
    # /pmf-check: the command (pmf_check) and its subcommands (routed by the router).
    pmf_check, help_command, report_commands, history_commands, lessons_commands, product_commands, token_commands,
    survey_commands, digest_commands,
    # Buttons: App Home, digests, surveys.
    home_actions, home_survey_actions, digest_actions, survey_actions,
    # Events: app_home_opened; app_uninstalled/tokens_revoked; message (survey thread replies).
    home_events, lifecycle_events, survey_messages,
    # Modals: the survey follow-up and the App Home's "Start survey".
    survey_views,
)


def register_all(app: App, ctx: AppContext) -> Router:
    """Install the app-wide error handler, then every listener module; returns the
    ``/pmf-check`` router they filled (tests read its subcommands)."""
    router = Router()
    errors.register(app, ctx, router)
    shape.register(app, ctx)  # first: a payload no listener can use is answered before any runs
    names = []
    for module in LISTENERS:
        module.register(app, ctx, router)
        names.append(module.__name__)
    log.debug("registered listener modules: %s", ", ".join(names))
    return router
