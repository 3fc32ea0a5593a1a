"""Fixtures for listener tests come from ``tests/fakes/fixtures.py`` (registered for the whole
suite in ``tests/conftest.py``): ``fake_slack``, ``slack_settings``, ``harness``,
``oauth_harness``, ``demo_data``, ``seed_product``."""
