"""PMF Gate: a Slack app that tells a startup, from its own data, whether it may scale."""

__version__ = "0.1.0"
