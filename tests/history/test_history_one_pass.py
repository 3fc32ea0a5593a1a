"""History in one pass (issue 22): the inputs of every week are cut from one read of the
activity, and each week of the history equals ``check --as-of`` that week (``compute_report``
reading the database directly), every week of a product whose data has the awkward parts —
activity before a user's cohort week, matched survey answers (the activity tiers), cohorts
young and old, a tail that moves from week to week."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import retention
from bot.domain.weeks import week_of_date, week_start
from bot.history.data import HistoryData
from bot.history.service import product_history
from bot.reports.inputs import ReportData
from bot.reports.service import compute_report
from storage.db import unit_of_work
from storage.models import ActivityWeek, ProductUser, SurveyResponse
from storage.repositories import cohorts as cohorts_repo
from storage.repositories.products import ProductRef
from tests.jobs.helpers import make_product, product_ref_of

THROUGH = date(2026, 5, 31)  # a Sunday
AS_OF = date(2026, 6, 1)
WEEKS = 22



def _product(factory: sessionmaker[Session]) -> ProductRef:
    pid = make_product(factory, users=900, through=THROUGH, weeks=WEEKS, seed=11)
    rng = random.Random(5)
    with unit_of_work(factory) as s:
        users = s.execute(select(ProductUser.id, ProductUser.external_id, ProductUser.cohort_week)
                          .where(ProductUser.product_id == pid)).all()
        # Some users were active the week before they signed up (not in the cohort table, but
        # in the week's active users and the fingerprint).
        s.execute(insert(ActivityWeek), [{"user_id": uid, "product_id": pid, "cohort_week": cw, "week": cw - 1}
                                         for uid, _, cw in users if rng.random() < 0.1])
        # Imported answers by users of the product: matched, so the activity tiers are used.
        answers = []
        for i, (_, ext, _) in enumerate(rng.sample(users, 150)):
            day = THROUGH - timedelta(days=rng.randrange(0, 120))
            answers.append({"product_id": pid, "dedupe_key": f"a{i}", "respondent_key": ext, "source": "import",
                            "answered_at": datetime.combine(day, time(12), tzinfo=UTC),
                            "answer": rng.choice(["very", "very", "somewhat", "not"])})
        s.execute(insert(SurveyResponse), answers)
    return product_ref_of(factory, pid)


def test_every_week_of_a_cold_history_equals_the_report_as_of_that_week(
        session_factory: sessionmaker[Session]) -> None:
    product = _product(session_factory)
    h = product_history(session_factory, product, as_of=AS_OF, weeks=WEEKS)
    last = week_of_date(THROUGH)
    assert [w.week for w in h.weeks] == list(range(last - WEEKS + 1, last + 1))
    assert all(w.computed for w in h.weeks)
    tails = set()
    for w in h.weeks:
        with unit_of_work(session_factory) as s:
            # A week's row counts answers through its Sunday (SPEC §10), as the snapshot does.
            as_of = week_start(w.week + 1)
            direct = compute_report(s, product, as_of, answers_through=as_of - timedelta(days=1))
        assert w.report == direct, f"week {w.week}"
        tails.add(w.report.retention.tail_offsets)
    # The test means something: weeks with a tail (patterns bootstrapped), and tails that move.
    assert len(tails - {()}) >= 2
    assert any(w.report.retention.tail_slope_ci is not None for w in h.weeks)
    assert any(w.report.survey.responses for w in h.weeks)


@pytest.mark.parametrize("tails", ["prepared after", "read beside"])
def test_the_inputs_cut_from_one_read_equal_those_read_for_each_week(session_factory: sessionmaker[Session],
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     tails: str) -> None:
    product = _product(session_factory)
    last = week_of_date(THROUGH)
    weeks = list(range(last - WEEKS, last + 1))
    readers: list[str] = []
    read = cohorts_repo.pattern_groups

    def recorded(*args: object) -> list[tuple[int, int, int]]:
        readers.append(threading.current_thread().name)
        return read(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cohorts_repo, "pattern_groups", recorded)
    with unit_of_work(session_factory) as s:
        direct = ReportData(s, product.id)
        if tails == "read beside":
            data = HistoryData(s, product.id, last, first_week=weeks[0], tails=(weeks, product.settings.retention))
            # one read, on a thread (and a connection) of its own
            assert len(readers) == 1 and readers[0] != threading.current_thread().name
        else:
            data = HistoryData(s, product.id, last, first_week=weeks[0])
            data.prepare_tails(weeks, product.settings.retention)
            assert readers == [threading.current_thread().name]
        prepared = 0
        for week in weeks:
            as_of = week_start(week + 1)
            until = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)
            sizes = direct.cohort_sizes(week)
            assert data.cohort_sizes(week) == sizes
            assert sorted(data.cohort_activity(week)) == sorted(direct.cohort_activity(week))
            assert data.weekly_channels(week) == direct.weekly_channels(week)
            assert data.fingerprint(week, until) == direct.fingerprint(week, until)
            assert data.active_users(week) == direct.active_users(week)
            assert data.active_users_by_weeks(week) == direct.active_users_by_weeks(week)
            table = retention.build_cohort_table(as_of, sizes, direct.cohort_activity(week))
            offsets = retention.tail_offsets(table, product.settings.retention)
            # what lets the tails be read beside the activity: the sizes alone choose them
            assert retention.tail_offsets(retention.build_cohort_table(as_of, sizes, ()),
                                          product.settings.retention) == offsets
            if offsets:
                prepared += 1
                assert data._patterns is not None and set(offsets) <= set(data._patterns[0])  # no query of its own
                assert data.tail_patterns(week, offsets, sizes) == direct.tail_patterns(week, offsets, sizes)
                # any sub-tail too, as long as it is within what was read
                assert data.tail_patterns(week, offsets[1:], sizes) == direct.tail_patterns(week, offsets[1:], sizes)
        assert prepared >= 2
        assert len(readers) == 1
        with pytest.raises(ValueError):
            data.cohort_sizes(last + 1)
