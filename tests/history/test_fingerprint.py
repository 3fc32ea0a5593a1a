"""The data fingerprint has one definition (``storage.repositories.fingerprint``) read two ways: a
week's fingerprint read straight from the tables (``ReportData``) equals the one cut from the
history's grouped reads (``HistoryData``), week by week, on several products and after imports
that change one thing each; and under a non-default ``retention.active_events`` a week's
fingerprint, and so its stored snapshot, follows the named events imported into it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.digests.service import snapshot_inputs, snapshot_report, stale_weeks
from bot.domain.active_events import ActiveEvents, parse_active_events
from bot.domain.weeks import week_of_date, week_start
from bot.history.data import HistoryData
from bot.history.service import product_history
from bot.ingest.csv_import import import_csv
from bot.products.service import cli_change_setting
from bot.reports.inputs import ReportData
from storage.bulk import BulkWriter
from storage.db import unit_of_work
from storage.models import ProductUser
from storage.repositories import fingerprint as fp
from storage.repositories.snapshots import get_snapshot
from storage.staging import ResponseRow, SignupRow
from tests.jobs.helpers import TEAM, make_product, product_ref_of

THROUGH = date(2026, 3, 22)  # a Sunday
LAST = week_of_date(THROUGH)
WEEKS = list(range(LAST - 9, LAST + 1))
Factory = sessionmaker[Session]


def _until(week: int) -> datetime:
    return datetime.combine(week_start(week + 1), time(0), tzinfo=UTC)


def _both_paths(factory: Factory, pid: int, rule: ActiveEvents | None = None) -> dict[int, fp.Fingerprint]:
    """Each week's fingerprint, asserting both paths give it."""
    out = {}
    with unit_of_work(factory) as s:
        direct, cut = ReportData(s, pid), HistoryData(s, pid, WEEKS[-1], first_week=WEEKS[0])
        for week in WEEKS:
            out[week] = direct.fingerprint(week, _until(week), rule)
            assert cut.fingerprint(week, _until(week), rule) == out[week], f"week {week}"
    return out


def _same_snapshot_inputs(factory: Factory, pid: int) -> None:
    """What a stored snapshot is keyed on is the same text from either path (types and all)."""
    product = product_ref_of(factory, pid)
    with unit_of_work(factory) as s:
        cut = HistoryData(s, pid, WEEKS[-1], first_week=WEEKS[0])
        for week in WEEKS:
            assert snapshot_inputs(s, product, week, cut) == snapshot_inputs(s, product, week), f"week {week}"


def _signup(factory: Factory, pid: int, external_id: str) -> SignupRow:
    with unit_of_work(factory) as s:
        u = s.scalars(select(ProductUser).where(ProductUser.product_id == pid,
                                                ProductUser.external_id == external_id)).one()
        assert u.signup_week is not None and u.signed_up_at is not None and u.channel_class is not None
        return SignupRow(u.external_id, u.signup_week, u.signed_up_at.replace(tzinfo=UTC), u.channel,
                         u.channel_class, u.channel_key)


def _write(factory: Factory, pid: int, *, signups: Sequence[SignupRow] = (),
           responses: Sequence[ResponseRow] = ()) -> None:
    with unit_of_work(factory) as s:
        w = BulkWriter(s, pid)
        w.signups(signups)
        w.responses(responses)
        w.close()


def _changed_from(before: dict[int, fp.Fingerprint], after: dict[int, fp.Fingerprint]) -> int | None:
    """The first week whose fingerprint changed; every later one must have changed too."""
    changed = [w for w in WEEKS if before[w] != after[w]]
    if not changed:
        return None
    assert changed == WEEKS[WEEKS.index(changed[0]):]
    return changed[0]


@pytest.mark.parametrize(("users", "seed"), [(300, 7), (120, 3)])
def test_both_paths_give_every_weeks_fingerprint_and_see_each_kind_of_change(
        session_factory: Factory, users: int, seed: int) -> None:
    pid = make_product(session_factory, users=users, through=THROUGH, weeks=14, seed=seed)
    before = _both_paths(session_factory, pid)
    old = WEEKS[3]
    with unit_of_work(session_factory) as s:
        paid, organic = (s.scalars(select(ProductUser.external_id).where(
            ProductUser.product_id == pid, ProductUser.cohort_week == old, ProductUser.channel_class == c)
            .order_by(ProductUser.id).limit(1)).one() for c in ("paid", "organic"))

    # Only a channel key: the paid signup's click id is now known.
    row = _signup(session_factory, pid, paid)
    _write(session_factory, pid, signups=[row._replace(channel_key="click:gclid")])
    after = _both_paths(session_factory, pid)
    assert _changed_from(before, after) == old

    # Only a signup channel: organic -> paid (no count of users, signups or classes moves).
    row = _signup(session_factory, pid, organic)
    _write(session_factory, pid, signups=[row._replace(channel="cpc", channel_class="paid")])
    again = _both_paths(session_factory, pid)
    assert _changed_from(after, again) == old

    # Only a survey answer, dated in an old week: that week's fingerprint on.
    answer = ResponseRow("import:r1", "r1", datetime.combine(week_start(old) + timedelta(days=2), time(9), tzinfo=UTC),
                         "very")
    _write(session_factory, pid, responses=[answer])
    last = _both_paths(session_factory, pid)
    assert _changed_from(again, last) == old
    assert last[WEEKS[-1]].answers == 1 and last[WEEKS[-1]].users > 0
    _same_snapshot_inputs(session_factory, pid)


def test_an_aggregate_added_to_the_definition_reaches_both_paths(session_factory: Factory,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing outside storage.repositories.fingerprint lists the users' figures."""
    pid = make_product(session_factory, users=80, through=THROUGH, weeks=12, seed=5)
    plain = _both_paths(session_factory, pid)
    extra = fp.Aggregate("signup_week_sum", func.sum(ProductUser.signup_week), fp._total)
    monkeypatch.setattr(fp, "USERS", (*fp.USERS, extra))
    widened = _both_paths(session_factory, pid)
    assert all(len(widened[w]) == len(plain[w]) + 1 for w in WEEKS)
    assert isinstance(added := widened[WEEKS[-1]][len(fp.USERS) - 1], int) and added > 0


# ----------------------------------------------------------------------------- active_events
def _named_events(tmp: Path, rows: list[tuple[str, date, str]]) -> Path:
    path = tmp / "events.csv"
    path.write_text("user_id,occurred_at,event\n" + "".join(f"{u},{d.isoformat()}T10:00:00Z,{e}\n" for u, d, e in rows))
    return path


def test_named_events_imported_into_an_old_week_refresh_its_snapshot_under_a_custom_rule(
        session_factory: Factory, tmp_path: Path) -> None:
    pid = make_product(session_factory, users=150, through=THROUGH, weeks=14, seed=9)
    product = product_ref_of(session_factory, pid)
    old = WEEKS[2]
    with unit_of_work(session_factory) as s:
        users = s.scalars(select(ProductUser.external_id).where(
            ProductUser.product_id == pid, ProductUser.cohort_week < old).order_by(ProductUser.id).limit(20)).all()
    # Named events in the user-weeks already active (signup weeks): activity_weeks gains nothing.
    with unit_of_work(session_factory) as s:
        signup_of = {u: at.date() for u, at in s.execute(select(ProductUser.external_id, ProductUser.signed_up_at)
                                                         .where(ProductUser.product_id == pid)) if at is not None}
    first = [(u, signup_of[u], "login") for u in users]
    import_csv(session_factory, kind="events", path=_named_events(tmp_path, first), product_slug=product.slug,
               team_id=TEAM)
    cli_change_setting(session_factory, product_slug=product.slug, team_id=TEAM, key="retention.active_events",
                       value="exclude:email_opened")
    product = product_ref_of(session_factory, pid)
    rule = parse_active_events(product.settings.retention.active_events)
    assert not rule.is_default
    product_history(session_factory, product, as_of=week_start(LAST + 1), weeks=len(WEEKS))
    with unit_of_work(session_factory) as s:
        assert stale_weeks(s, product, WEEKS, HistoryData(s, pid, WEEKS[-1], first_week=WEEKS[0])) == []
        stored = {w: get_snapshot(s, pid, w) for w in WEEKS}
        inputs = {w: r.report["inputs"] for w, r in stored.items() if r is not None}
    assert set(inputs) == set(WEEKS)
    before = _both_paths(session_factory, pid, rule)
    default_before = _both_paths(session_factory, pid)

    # Counted events in the old week, for users active then (activity_weeks unchanged).
    with unit_of_work(session_factory) as s:
        active = s.execute(select(ProductUser.external_id).where(ProductUser.product_id == pid,
                                                                 ProductUser.cohort_week == old)).scalars().all()
    day = week_start(old) + timedelta(days=1)
    import_csv(session_factory, kind="events", path=_named_events(tmp_path, [(u, day, "project_created")
                                                                             for u in active]),
               product_slug=product.slug, team_id=TEAM)
    after = _both_paths(session_factory, pid, rule)
    assert [w for w in WEEKS if after[w] != before[w]] == [w for w in WEEKS if w >= old]
    assert _both_paths(session_factory, pid) == default_before  # the default rule reads no events
    _same_snapshot_inputs(session_factory, pid)

    # The stored snapshots of those weeks are stale, and recomputed by the history and digest.
    with unit_of_work(session_factory) as s:
        data = HistoryData(s, pid, WEEKS[-1], first_week=WEEKS[0])
        assert stale_weeks(s, product, WEEKS, data) == [w for w in WEEKS if w >= old]
        snapshot_report(s, product, old)
        row = get_snapshot(s, pid, old)
        assert row is not None and row.report["inputs"] == snapshot_inputs(s, product, old)
        assert snapshot_inputs(s, product, old) != inputs[old]
        assert snapshot_inputs(s, product, old - 1) == inputs[old - 1]
    product_history(session_factory, product, as_of=week_start(LAST + 1), weeks=len(WEEKS))
    with unit_of_work(session_factory) as s:
        assert stale_weeks(s, product, WEEKS, HistoryData(s, pid, WEEKS[-1], first_week=WEEKS[0])) == []


def test_a_product_with_only_survey_answers_has_data(session_factory: Factory) -> None:
    """``PendingReport.has_data`` reads the users' and the answers' counts by name (it read the
    activity's count, by position, once the users' figures had grown)."""
    from bot.products.service import create_product
    from bot.reports.service import PendingReport

    product = create_product(session_factory, slug="beacon", team_id=TEAM)
    with unit_of_work(session_factory) as s:
        assert not PendingReport(product, THROUGH, fp.data_fingerprint(s, product.id)).has_data
    _write(session_factory, product.id,
           responses=[ResponseRow("import:r1", "r1", datetime(2026, 3, 2, 9, tzinfo=UTC), "very")])
    with unit_of_work(session_factory) as s:
        figures = fp.data_fingerprint(s, product.id)
        assert (figures.users, figures.answers) == (0, 1)
        assert PendingReport(product, THROUGH, figures).has_data
