"""Slack listeners only, by surface. Each listener acks, parses, calls a service, renders and
replies; ``register_all`` wires every surface onto a Bolt app."""
