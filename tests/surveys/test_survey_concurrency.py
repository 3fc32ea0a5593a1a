"""Answers under concurrency, on the engine under test: rapid clicks by one person settle on
their latest click whatever the arrival order, many people at once lose nothing, and a close
racing with answers posts results that contain exactly the answers that were accepted."""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.surveys.results import close_survey
from bot.surveys.values import SurveyInfo
from storage.models import SurveyResponse
from tests.surveys.helpers import click, later

Start = Callable[..., SurveyInfo]
ANSWERS = ["very", "somewhat", "not", "na"]


def test_ten_rapid_clicks_in_any_order_keep_the_last_one(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    rng = random.Random(7)
    clicks = [(ANSWERS[i % 4], later(1) + timedelta(milliseconds=150 * i)) for i in range(10)]
    arrival = clicks[:]
    rng.shuffle(arrival)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: click(factory, survey, "U1", c[0], c[1], now=later(2)), arrival))
    with factory() as s:
        rows = s.execute(select(SurveyResponse.answer, SurveyResponse.answered_at)).all()
    assert rows == [(clicks[-1][0], clicks[-1][1])]


def test_many_people_at_once_lose_no_answer(factory: sessionmaker[Session], start: Start) -> None:
    survey = start()
    people = 60
    jobs = [(f"U{i:03d}", ANSWERS[(i + k) % 4], later(1) + timedelta(seconds=i, milliseconds=k))
            for i in range(people) for k in range(3)]
    random.Random(3).shuffle(jobs)
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(lambda j: click(factory, survey, j[0], j[1], j[2], now=later(5)), jobs))
    assert {o.status for o in outcomes} <= {"recorded", "ignored"}
    with factory() as s:
        final = dict(s.execute(select(SurveyResponse.respondent_key, SurveyResponse.answer)).all())
    assert len(final) == people
    for i in range(people):
        assert final[f"U{i:03d}"] == ANSWERS[(i + 2) % 4]  # each person's latest click


def test_a_close_racing_with_answers_posts_exactly_the_accepted_ones(factory: sessionmaker[Session],
                                                                     start: Start) -> None:
    survey = start()
    users = [f"U{i:03d}" for i in range(80)]

    def answer(user: str) -> str:
        return click(factory, survey, user, "very", later(1), now=later(2)).status

    with ThreadPoolExecutor(10) as pool:
        futures = [pool.submit(answer, u) for u in users[:40]]
        closing = pool.submit(close_survey, factory, survey_id=survey.id, now=later(2))
        futures += [pool.submit(answer, u) for u in users[40:]]
        statuses = [f.result() for f in futures]
        results = closing.result()
    assert results is not None
    with factory() as s:
        stored = s.scalar(select(func.count()).select_from(SurveyResponse))
    assert statuses.count("recorded") == stored == results.respondents
    assert set(statuses) <= {"recorded", "closed"}
