"""The gate's history: each week equals the report computed directly for that week, snapshots
are reused, the range starts at the first cohort, and the SPEC §10 JSON carries exactly its keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.survey import wilson
from bot.domain.weeks import week_of_date, week_start
from bot.history.service import product_history
from bot.products.service import create_product
from bot.reports.service import compute_report
from storage.db import unit_of_work
from storage.models import SurveyResponse, WeeklySnapshot
from tests.jobs.helpers import TEAM, make_product, product_ref_of

THROUGH = date(2026, 3, 22)  # a Sunday: the data ends with the week of 16 Mar
AS_OF = date(2026, 3, 23)



def _answers(factory: sessionmaker[Session], pid: int, plan: list[tuple[date, str]]) -> None:
    with unit_of_work(factory) as s:
        s.execute(insert(SurveyResponse), [
            {"product_id": pid, "dedupe_key": f"r{i}", "respondent_key": f"r{i}", "source": "import",
             "answered_at": datetime.combine(day, time(12), tzinfo=UTC), "answer": a}
            for i, (day, a) in enumerate(plan)])


def _plan() -> list[tuple[date, str]]:
    # 60 answers over the last six weeks: 30 very, 20 somewhat, 10 not (no N/A).
    kinds = ["very"] * 30 + ["somewhat"] * 20 + ["not"] * 10
    return [(THROUGH - timedelta(days=(i * 7) % 41), a) for i, a in enumerate(kinds)]


def test_each_week_is_the_report_computed_directly_for_that_week(session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory, users=400, through=THROUGH, weeks=16)
    _answers(session_factory, pid, _plan())
    product = product_ref_of(session_factory, pid)
    h = product_history(session_factory, product, as_of=AS_OF, weeks=6)
    last = week_of_date(THROUGH)
    assert [w.week for w in h.weeks] == list(range(last - 5, last + 1))
    assert all(w.computed for w in h.weeks)
    for w in h.weeks:
        with unit_of_work(session_factory) as s:
            # Answers through the week's Sunday (SPEC §10: the Monday it is dated is the next row's).
            direct = compute_report(s, product, week_start(w.week + 1), answers_through=week_start(w.week + 1)
                                    - timedelta(days=1))
        assert w.report == direct  # every signal, verdict, warning and next step
    # The last week, cross-checked by hand: all 60 answers count, score 30/60 with its Wilson interval.
    js = h.to_json()["weeks"][-1]
    lo, hi = wilson(30, 60)
    assert js["survey"] == {"status": js["survey"]["status"], "score": 0.5, "ci": [round(lo, 4), round(hi, 4)],
                            "responses": 60}
    assert js["week"] == "2026-03-16" and js["as_of"] == "2026-03-23"


def test_stored_snapshots_are_read_back_not_recomputed(session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory, users=300, through=THROUGH, weeks=12)
    product = product_ref_of(session_factory, pid)
    calls: list[tuple[int, int]] = []
    first = product_history(session_factory, product, as_of=AS_OF, weeks=4, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]  # what drives the CLI's progress bar
    with unit_of_work(session_factory) as s:
        stored = s.scalar(select(func.count()).select_from(WeeklySnapshot).where(WeeklySnapshot.product_id == pid))
    assert stored == 4
    again = product_history(session_factory, product, as_of=AS_OF, weeks=4)
    assert not any(w.computed for w in again.weeks)
    assert again.to_json() == first.to_json()


def test_the_history_starts_at_the_first_cohort_and_is_empty_without_data(
        session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory, users=200, through=THROUGH, weeks=5)
    h = product_history(session_factory, product_ref_of(session_factory, pid), as_of=AS_OF, weeks=52)
    assert len(h.weeks) == 5 and h.weeks[0].week == week_of_date(THROUGH) - 4
    empty = create_product(session_factory, slug="empty", name="Empty", team_id=TEAM)
    assert product_history(session_factory, empty, as_of=AS_OF).to_json() == {
        "product": "empty", "weeks": [], "rule_changes": [], "custom_rules": []}


def test_the_json_has_exactly_the_keys_of_the_spec(session_factory: sessionmaker[Session]) -> None:
    pid = make_product(session_factory, users=300, through=THROUGH, weeks=10)
    js = product_history(session_factory, product_ref_of(session_factory, pid), as_of=AS_OF, weeks=3).to_json()
    assert set(js) == {"product", "weeks", "rule_changes", "custom_rules"} and len(js["weeks"]) == 3
    for w in js["weeks"]:
        assert set(w) == {"week", "as_of", "verdict", "retention", "organic", "survey"}
        assert set(w["retention"]) == {"status", "plateau_level", "plateau_level_ci"}
        assert set(w["organic"]) == {"status", "organic_share", "organic_share_ci"}
        assert set(w["survey"]) == {"status", "score", "ci", "responses"}
        assert date.fromisoformat(w["as_of"]) - date.fromisoformat(w["week"]) == timedelta(days=7)


def test_the_progress_bar_is_off_outside_a_terminal() -> None:
    from bot.history.progress import week_bar

    with week_bar(False) as progress:
        assert progress is None


def test_a_rule_change_in_the_weeks_shown_is_marked_on_the_trajectory(session_factory: sessionmaker[Session]) -> None:
    """A setting changed (from the audit) in a week shown: listed in the JSON with its week, and
    drawn on the chart (the bytes differ from the same history without it); one outside the
    weeks shown, or of another product, is not."""
    from dataclasses import replace

    from bot.history.charts import trajectory_chart
    from storage.models import AuditEntry

    pid = make_product(session_factory, users=300, through=THROUGH, weeks=10)
    product = product_ref_of(session_factory, pid)
    changed_on = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)  # in the week of 9 Mar
    with unit_of_work(session_factory) as s:
        s.add(AuditEntry(workspace_id=product.workspace_id, product_id=pid, actor="U1", kind="setting",
                         key="survey.threshold", old_value=None, new_value="0.3", at=changed_on))
        s.add(AuditEntry(workspace_id=product.workspace_id, product_id=pid, actor="U1", kind="setting",
                         key="organic.min_share", old_value=None, new_value="0.4", at=datetime(2025, 1, 6, tzinfo=UTC)))
    h = product_history(session_factory, product, as_of=AS_OF, weeks=4)
    assert h.rule_changes == ((week_of_date(date(2026, 3, 11)), "survey.threshold: default → 0.3"),)
    assert h.to_json()["rule_changes"] == [{"week": "2026-03-09", "change": "survey.threshold: default → 0.3"}]
    assert trajectory_chart(h) != trajectory_chart(replace(h, rule_changes=()))
