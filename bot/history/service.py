"""The gate's history as use cases: a product's report week by week, read from the stored weekly
snapshots (``bot.digests.service.snapshot_report``) and computed for the weeks that have none —
each week in its own short transaction, so a long history stores what it has computed as it
goes and never holds a connection for minutes. Shared by ``pmfbot history``, ``/pmf-check
history``, the weekly digest and the demo. No Slack here.

A week's figures are the report as of the Monday that ends it, exactly what
``bot.reports.service.compute_report`` gives for that date (snapshots are caches of it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.digests.service import snapshot_report, stale_weeks
from bot.domain.weeks import last_complete_week, week_of
from bot.history.data import HistoryData
from bot.history.values import History, HistoryWeek
from bot.products.service import channel_product, cli_product, slack_workspace
from bot.reports.service import today_in
from storage.db import Factory, unit_of_work
from storage.repositories.access import history as audit_history
from storage.repositories.history import first_cohort_week, stored_weeks
from storage.repositories.products import ProductRef

DEFAULT_WEEKS = 12
MAX_WEEKS = 104

# Called after each week with (weeks done, weeks in all): the CLI's progress bar.
Progress = Callable[[int, int], None]


def history_weeks(session: Session, product: ProductRef, *, last_week: int, weeks: int) -> list[int]:
    """The week indexes to show: the last ``weeks`` complete weeks up to ``last_week``, none
    before the product's first cohort week."""
    first = first_cohort_week(session, product.id)
    if first is None or weeks < 1:
        return []
    return list(range(max(first, last_week - weeks + 1), last_week + 1))


def rule_changes(session: Session, product: ProductRef, first: int) -> tuple[tuple[int, str], ...]:
    """The product's rule changes (settings, from the audit) from week ``first`` on, oldest
    first, each as (week index in the product's zone, "key: old → new"). Changes after the last
    week shown are kept too: every week shown is computed with today's rules, so a change made
    since is disclosed (the chart marks it at its right edge)."""
    tz = ZoneInfo(product.settings.timezone)
    out = []
    for entry in audit_history(session, product.workspace_id, product.id, limit=200):
        if entry.kind != "setting" or entry.product_id != product.id:
            continue
        week = week_of(entry.at, tz)
        if first <= week:
            out.append((week, f"{entry.key}: {entry.old_value or 'default'} → {entry.new_value or 'default'}"))
    return tuple(sorted(out))


def product_history(factory: Factory, product: ProductRef, *, as_of: date, weeks: int = DEFAULT_WEEKS,
                    progress: Progress | None = None) -> History:
    """The product's gate over the last ``weeks`` complete weeks as of ``as_of``, oldest first."""
    weeks = max(1, min(int(weeks), MAX_WEEKS))
    last = last_complete_week(as_of)
    with unit_of_work(factory) as s:
        indexes = history_weeks(s, product, last_week=last, weeks=weeks)
        stored = stored_weeks(s, product.id, indexes[0], indexes[-1]) if indexes else set()
        changes = rule_changes(s, product, indexes[0]) if indexes else ()
        # One read of the activity for every week (the cohort matrices are nested), and of the
        # tail patterns of the weeks to compute, when any snapshot is missing or stale.
        tails = (sorted({w for week in indexes for w in (week - 1, week)}), product.settings.retention)
        # A week with no snapshot will be computed: its tails are read beside the other reads.
        missing = set(indexes) - stored
        data = (HistoryData(s, product.id, indexes[-1], first_week=indexes[0], tails=tails if missing else None)
                if indexes else None)
        if data is not None and not missing and stale_weeks(s, product, indexes, data):
            data.prepare_tails(*tails)
    rows: list[HistoryWeek] = []
    for done, week in enumerate(indexes, start=1):
        with unit_of_work(factory) as s:
            assert data is not None
            data.session = s  # each week in its own short transaction; the read above is kept
            report, _ = snapshot_report(s, product, week, data)
        rows.append(HistoryWeek(week, report, computed=week not in stored))
        if progress is not None:
            progress(done, len(indexes))
    return History(product=product.slug, product_name=product.name, weeks=tuple(rows),
                   threshold=product.settings.survey.threshold, min_share=product.settings.organic.min_share,
                   rule_changes=changes)


def cli_history(factory: Factory, *, product_slug: str, team_id: str | None = None, weeks: int = DEFAULT_WEEKS,
                as_of: date | None = None, progress: Progress | None = None) -> History:
    """``pmfbot history``: the named product's history (as of today in its time zone by default)."""
    with unit_of_work(factory) as s:
        product = cli_product(s, product_slug, team_id)
    return product_history(factory, product, as_of=as_of or today_in(product.settings.timezone),
                           weeks=weeks, progress=progress)


def channel_history(factory: Factory, *, team_id: str, channel_id: str, single_workspace: bool, now: datetime,
                    weeks: int = DEFAULT_WEEKS, team_name: str | None = None) -> History:
    """``/pmf-check history``: the history of the channel's product (SPEC §6 "which product")."""
    with unit_of_work(factory) as s:
        product = channel_product(s, slack_workspace(s, team_id, single_workspace=single_workspace, name=team_name),
                                  channel_id)
    return product_history(factory, product, as_of=today_in(product.settings.timezone, now), weeks=weeks)
