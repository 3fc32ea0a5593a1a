"""Slack listeners for views: each module with ``register(app, ctx, router)`` is discovered by ``handlers.register_all``."""
