"""Slack listeners only, by surface. Each listener acks, parses, calls a service, renders and
replies; ``register_all`` wires every surface onto a Bolt app.

Features add listeners by adding a module under ``handlers.commands``, ``handlers.actions``,
``handlers.events`` or ``handlers.views`` that defines ``register(app, ctx, router)``: it is
discovered here (pkgutil), so no central list needs editing. Bolt runs only the first listener
that matches an event, so each event type (e.g. ``message``) has exactly one owner module.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

from bot.context import AppContext
from handlers.commands.router import Router

log = logging.getLogger(__name__)
SURFACES = ("handlers.commands", "handlers.actions", "handlers.events", "handlers.views")


def discover() -> list[Any]:
    """Every listener module with a ``register`` function, surface by surface, by name."""
    found = []
    for package_name in SURFACES:
        package = importlib.import_module(package_name)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{package_name}.{info.name}")
            if callable(getattr(module, "register", None)):
                found.append(module)
    return found


def register_all(app: Any, ctx: AppContext, router: Router) -> list[str]:
    """Install the app-wide error handler, then every discovered listener module; returns the
    registered module names (logged at start-up)."""
    from handlers import errors

    errors.register(app, ctx, router)
    names = []
    for module in discover():
        module.register(app, ctx, router)
        names.append(module.__name__)
    log.debug("registered listener modules: %s", ", ".join(names))
    return names
