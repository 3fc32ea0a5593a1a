"""Is the data up to date? An export that ends months before the report makes every later week
read as everyone leaving; the report says so first instead of reading it as churn.

A week with any activity or signup in the whole product is a week the data covered (a signup
week counts as activity). When the newest such week is ``STALE_AFTER_WEEKS`` or more complete
weeks before the report's last complete week, the data looks cut off: the report warns and its
first next step is to import newer data, or to read the report as of the week after the data
ends (``pmfbot check --as-of``).
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain import _text as t
from bot.domain.types import CohortTable, Warning_
from bot.domain.weeks import week_start

# Two whole weeks with no event and no signup from any user: a live product with enough users for
# a verdict does not go that quiet, a feed that stopped does.
STALE_AFTER_WEEKS = 2


def newest_active_week(table: CohortTable | None) -> int | None:
    """The newest week in which any user was active (None without activity)."""
    newest: int | None = None
    for c in table.cohorts if table is not None else ():
        for k in range(len(c.active) - 1, -1, -1):
            if c.active[k] > 0:
                newest = c.week + k if newest is None else max(newest, c.week + k)
                break
    return newest


def stale_data(table: CohortTable | None) -> tuple[Warning_, str] | None:
    """The "stale_data" warning and its next step, or None when the data reaches recent weeks."""
    newest = newest_active_week(table)
    if table is None or newest is None:
        return None
    quiet = table.last_complete_week - newest
    if quiet < STALE_AFTER_WEEKS:
        return None
    last_day = week_start(newest) + timedelta(days=6)
    then = week_start(newest + 1)
    warning = Warning_(
        code="stale_data",
        message=(
            f"The data ends in the week of {t.day(week_start(newest))}: no user was active in the "
            f"{t.plural(quiet, 'complete week')} since, up to this report (as of {t.day(table.as_of)}). "
            "Unless every user left at once, the import stopped there, and the weeks after it read as "
            "churn: this report cannot judge them."
        ),
    )
    step = (f"Import data up to this week (the newest activity is {t.day(last_day)} or before), or read "
            f"the report as of when the data ends: `pmfbot check --as-of {then.isoformat()}`.")
    return warning, step
