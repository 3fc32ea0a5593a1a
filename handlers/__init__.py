"""Slack listeners only, by surface (commands/, actions/, events/, views/); ``handlers.registry``
registers them on a Bolt app from one explicit list."""
