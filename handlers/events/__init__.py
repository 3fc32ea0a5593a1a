"""Slack listeners for events: each module with ``register(app, ctx, router)`` is discovered by ``handlers.register_all``."""
