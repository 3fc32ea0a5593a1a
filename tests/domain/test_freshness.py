"""bot/domain/freshness.py on hand-built cohort tables."""

from __future__ import annotations

from datetime import date

from bot.domain.freshness import STALE_AFTER_WEEKS, newest_active_week, stale_data
from bot.domain.types import Cohort, CohortTable


def _table(last_complete: int, cohorts: tuple[Cohort, ...]) -> CohortTable:
    return CohortTable(as_of=date(2026, 12, 7), last_complete_week=last_complete, cohorts=cohorts, average=())


def test_newest_active_week_is_the_latest_nonzero_cell_of_any_cohort() -> None:
    # Cohort 100 active through offset 3 (week 103, then zeros); cohort 102 through offset 2 (week 104).
    table = _table(110, (Cohort(100, 10, (10, 4, 0, 2, 0, 0)), Cohort(102, 5, (5, 1, 1, 0, 0))))
    assert newest_active_week(table) == 104
    assert newest_active_week(_table(110, (Cohort(100, 3, (0, 0)),))) is None
    assert newest_active_week(None) is None


def test_stale_from_the_rules_number_of_quiet_complete_weeks() -> None:
    for quiet in range(0, STALE_AFTER_WEEKS + 3):
        table = _table(104 + quiet, (Cohort(100, 10, (10, 4, 3, 2, 2) + (0,) * quiet),))
        found = stale_data(table)
        assert (found is not None) is (quiet >= STALE_AFTER_WEEKS), quiet
        if found is not None:
            assert found[0].code == "stale_data"
            assert "week of" in found[0].message and "--as-of" in found[1]
