"""Fixtures for the clock's tests: the fake Slack Web API (``fake_slack`` from
``tests/fakes/fixtures.py``), a product with data, and digest runners bound to both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.digests.runner import DigestRunner
from tests.fakes.slack_api import FakeSlack
from tests.jobs.helpers import make_ctx, make_product, tiny_png


@pytest.fixture
def product_id(session_factory: sessionmaker[Session]) -> int:
    return make_product(session_factory)


@pytest.fixture
def make_runner(session_factory: sessionmaker[Session], fake_slack: FakeSlack) -> Callable[..., DigestRunner]:
    def build(worker: str = "clock-1", *, timeout: int = 15, renderer: Callable[[Any], bytes] = tiny_png,
              client_wrapper: Callable[[Any], Any] | None = None, max_workers: int = 2) -> DigestRunner:
        ctx = make_ctx(session_factory, fake_slack.api_url, timeout=timeout)
        if client_wrapper is not None:
            inner = ctx.client_for_team
            ctx.client_for_team = lambda team_id: client_wrapper(inner(team_id))
        return DigestRunner(ctx, worker_id=worker, chart_renderer=renderer, max_workers=max_workers)

    return build
