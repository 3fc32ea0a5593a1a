"""The product's survey lessons as a use case (``pmfbot survey lessons``, ``pmfbot check --json``,
the App Home, the demo): who loves it most, what they love, what holds back the somewhat
disappointed who share that love — over the same answers the gate counts (the survey window,
one answer per respondent, Slack and imports together). The rules are ``bot.domain.lessons``.

When any counted answer came from an anonymous Slack survey, the whole list follows the
anonymous rules (no quote unless 5 people contributed to it). No Slack here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.domain import survey as domain
from bot.domain.lessons import Lessons, survey_lessons
from bot.products.service import channel_product, cli_product, load_product, slack_workspace
from bot.reports.service import today_in
from storage.db import Factory, unit_of_work
from storage.repositories.history import any_anonymous_answer
from storage.repositories.products import ProductRef
from storage.repositories.reports import survey_responses


def product_lessons(session: Session, product: ProductRef, as_of: date) -> Lessons:
    """The lessons from the answers the gate counts as of ``as_of``."""
    s = product.settings.survey
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    since = end - timedelta(days=s.window_days + 2)  # the domain applies the exact window
    counted = domain.latest_per_respondent(survey_responses(session, product.id, since=since, until=end),
                                           as_of, s.window_days)
    return survey_lessons(counted, anonymous=any_anonymous_answer(session, product.id, since, end))


def channel_lessons(factory: Factory, *, team_id: str, channel_id: str, single_workspace: bool, now: datetime,
                    slug: str | None = None) -> tuple[ProductRef, date, Lessons]:
    """``/pmf-check lessons [PRODUCT]``: the lessons of PRODUCT, else of the channel's product."""
    with unit_of_work(factory) as s:
        ws = slack_workspace(s, team_id, single_workspace=single_workspace)
        product = load_product(s, ws, slug) if slug else channel_product(s, ws, channel_id)
        day = today_in(product.settings.timezone, now)
        return product, day, product_lessons(s, product, day)


def cli_lessons(factory: Factory, *, product_slug: str, team_id: str | None = None,
                as_of: date | None = None) -> tuple[ProductRef, date, Lessons]:
    with unit_of_work(factory) as s:
        product = cli_product(s, product_slug, team_id)
        day = as_of or today_in(product.settings.timezone)
        return product, day, product_lessons(s, product, day)
