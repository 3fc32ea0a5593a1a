"""Fixtures for the survey service tests: workspace ``T1`` with one product, Acme, and a
``start`` that opens and "posts" a survey (values and helpers in ``helpers.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.products import service as product_service
from bot.surveys import service as surveys
from bot.surveys.values import SurveyInfo
from tests.surveys.helpers import CHANNEL, T0, TEAM, ts


@pytest.fixture
def factory(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    product_service.create_product(session_factory, slug="acme", name="Acme", team_id=TEAM)
    return session_factory


@pytest.fixture
def start(factory: sessionmaker[Session]) -> Callable[..., SurveyInfo]:
    """Start (and "post") a survey: claims the channel and attaches a message ts."""

    def _start(*, anonymous: bool = False, days: int = 14, channel: str = CHANNEL, now: datetime = T0,
               message_ts: str | None = None) -> SurveyInfo:
        info = surveys.start_survey(factory, team_id=TEAM, channel_id=channel, target_channel_id=None, user_id="UOPENER",
                                    anonymous=anonymous, days=days, now=now, single_workspace=True)
        surveys.attach_message(factory, survey_id=info.id, message_ts=message_ts or ts(now))
        out = surveys.get_survey(factory, info.id)
        assert out is not None
        return out

    return _start
