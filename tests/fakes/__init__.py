"""Test doubles that record: a fake Slack Web API server and a harness that drives the real app."""
