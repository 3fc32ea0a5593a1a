"""The plateau rules of issue 11, case by case: the fixed set of cohorts, the relative tolerance,
the drift check and the two-week confirmation. Tables are built by hand or from exact patterns
(every member of a cohort behaves alike), so the expected numbers can be worked out on paper."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain.retention import build_cohort_table, choose_tail, early_offset, plateau_test, rising_line, tail_offsets
from bot.domain.settings import ProductSettings, RetentionSettings, SettingError
from bot.domain.types import CohortTable, Status, TailPatterns
from bot.domain.weeks import week_start

SETTINGS = RetentionSettings(min_weeks=8, tail_weeks=4, min_users=50, min_cohorts=3)
FIRST = 3000


def exact(curves: list[list[float]], size: int | list[int] = 1000) -> tuple[CohortTable, TailPatterns]:
    """One cohort a week; cohort i has ``curves[i]`` as its retention (week 0 first) over its
    complete weeks. Members are nested (whoever is active at k is active at every earlier k),
    so the activity patterns follow from the counts exactly."""
    n = len(curves)
    sizes = [size] * n if isinstance(size, int) else size
    rows = [(FIRST + i, k, round(sizes[i] * r)) for i, c in enumerate(curves) for k, r in enumerate(c)]
    table = build_cohort_table(week_start(FIRST + n), {FIRST + i: sizes[i] for i in range(n)}, rows)
    tail = tail_offsets(table, SETTINGS)  # the tail and the drift check's early offset
    counts: dict[int, dict[int, int]] = {}
    for i, c in enumerate(curves):
        active = [round(sizes[i] * c[k]) if k < len(c) else 0 for k in tail]
        # Nested members: the j-th member is active at offset k iff j < active[k].
        masks: dict[int, int] = {}
        for j in range(sizes[i]):
            m = sum(1 << b for b, a in enumerate(active) if j < a)
            masks[m] = masks.get(m, 0) + 1
        counts[FIRST + i] = masks
    return table, TailPatterns(offsets=tail, counts=counts)


def history(n: int, curve: list[float]) -> list[list[float]]:
    """``n`` cohorts with the same curve, each cut at its complete weeks."""
    return [curve[: n - i] for i in range(n)]


FLAT = [1.0, 0.5, 0.35] + [0.30] * 20


def test_the_tail_follows_one_fixed_set_of_cohorts() -> None:
    table, patterns = exact(history(12, FLAT))
    # 12 cohorts: offset 11 has 1 cohort, 10 has 2, 9 has 3 -> the tail is weeks 6-9 over the
    # 3 oldest cohorts, and every tail point is averaged over exactly those.
    s = plateau_test(table, patterns, SETTINGS, previous_status="pass")
    assert s.tail_offsets == (6, 7, 8, 9)
    assert s.tail_cohorts == (FIRST, FIRST + 1, FIRST + 2)
    assert s.tail_users == 3000
    assert "followed through the same 3 signup cohorts" in s.summary and "3,000 users" in s.summary
    assert s.status == "pass" and s.tail_slope == pytest.approx(0.0) and s.plateau_level == pytest.approx(0.30)


def test_cohorts_entering_the_average_do_not_bend_the_fixed_set() -> None:
    # Older cohorts hold 40%, newer ones only 20% at the same weeks: the all-cohort average
    # rises along the tail as the weak young cohorts drop out of it. The fixed set sees no slope.
    curves = [([1.0, 0.5] + [0.40] * 20)[: 12 - i] if i < 3 else ([1.0, 0.5] + [0.20] * 20)[: 12 - i]
              for i in range(12)]
    table, patterns = exact(curves)
    average = {p.week_offset: p.retention for p in table.average}
    assert average[9] > average[6] + 0.05  # the mixed average climbs
    s = plateau_test(table, patterns, SETTINGS, previous_status="pass")
    assert s.tail_slope == pytest.approx(0.0) and s.plateau_level == pytest.approx(0.40)
    # ...and the drift check sees that the newer users retain half as well.
    assert s.drifting and s.drift_ratio == pytest.approx(0.5)
    assert s.status == "borderline"
    # Both the first tail week (6, cohorts 3-5) and the early weeks (4-5, cohorts 6-7: too young
    # for week 6) see it; the early one is reported.
    assert s.summary.startswith("Newer users retain less than your first ones: over weeks 4\u20135 the 2,000 newer "
                                "users keep 50% of the first cohorts' retention")


@pytest.mark.parametrize(
    ("min_cohorts", "min_users", "tail"),
    [(1, 50, (8, 9, 10, 11)), (2, 50, (7, 8, 9, 10)), (3, 50, (6, 7, 8, 9)), (3, 3500, (5, 6, 7, 8)),
     (9, 50, ()), (3, 10**6, ())],
    ids=["1-cohort", "2-cohorts", "3-cohorts", "3500-users", "more-cohorts-than-any-tail", "too-many-users"],
)
def test_the_tail_steps_back_until_its_set_is_big_enough(min_cohorts: int, min_users: int,
                                                        tail: tuple[int, ...]) -> None:
    # 12 cohorts of 1,000: offset k is reached by 12 - k of them. With 3,500 users needed, only
    # offsets up to 8 are usable, and 4 cohorts reached offset 8.
    table, _ = exact(history(12, FLAT))
    chosen, members = choose_tail(table, dataclasses.replace(SETTINGS, min_cohorts=min_cohorts, min_users=min_users))
    assert chosen == tail
    assert len(members) == (12 - tail[-1] if tail else 0)
    if tail:
        assert len(members) >= min_cohorts and sum(c.size for c in members) >= min_users


def test_no_tail_with_enough_cohorts_is_insufficient_data() -> None:
    table, patterns = exact(history(12, FLAT))
    s = plateau_test(table, patterns, dataclasses.replace(SETTINGS, min_cohorts=9))
    assert s.status == "insufficient_data" and s.tail_offsets == ()
    assert s.summary.startswith("No stretch of 4 weeks is followed by at least 9 signup cohorts with 50+ users yet")


@pytest.mark.parametrize(
    ("level", "loss", "expected"),
    [
        # At a 10% level, losing 5% of the remaining users a week is only -0.5 points a week: gentle in
        # points (within flat_tolerance) but steady decay. The relative slope fails it.
        (0.10, 0.05, "fail"),
        (0.10, 0.03, "fail"),
        (0.40, 0.03, "fail"),  # -1.2 points a week: fails on both
        (0.10, 0.005, "pass"),  # 0.5% a week is inside the 2% relative tolerance
    ],
    ids=["10pct-losing-5pct", "10pct-losing-3pct", "40pct-losing-3pct", "10pct-losing-half-a-pct"],
)
def test_relative_tolerance(level: float, loss: float, expected: Status) -> None:
    curve = [1.0, 0.5] + [level * (1 - loss) ** k for k in range(20)]
    table, patterns = exact(history(12, curve), size=4000)
    s = plateau_test(table, patterns, SETTINGS, previous_status="pass")
    assert s.status == expected, s.summary
    assert s.relative_slope is not None and s.tail_slope is not None and s.plateau_level is not None
    assert s.relative_slope == pytest.approx(s.tail_slope / s.plateau_level)
    assert s.relative_slope == pytest.approx(-loss, rel=0.25, abs=0.002)
    if expected == "fail" and s.tail_slope > -SETTINGS.flat_tolerance:
        assert "of the remaining users a week" in s.summary


def test_relative_tolerance_is_a_setting() -> None:
    curve = [1.0, 0.5] + [0.10 * 0.97 ** k for k in range(20)]
    table, patterns = exact(history(12, curve), size=4000)
    loose = dataclasses.replace(SETTINGS, relative_tolerance=0.10)
    assert plateau_test(table, patterns, SETTINGS, previous_status="pass").status == "fail"
    assert plateau_test(table, patterns, loose, previous_status="pass").status == "pass"


@pytest.mark.parametrize(
    ("newer_level", "newer_size", "drifting"),
    [(0.15, 1000, True), (0.27, 1000, False), (0.15, 7, False)],
    ids=["half-as-good", "nearly-as-good", "too-few-newer-users-to-compare"],
)
def test_drift_check(newer_level: float, newer_size: int, drifting: bool) -> None:
    old = [1.0, 0.5] + [0.30] * 20
    new = [1.0, 0.5] + [newer_level] * 20
    curves = [(old if i < 3 else new)[: 12 - i] for i in range(12)]
    # Tail weeks 6-9 over the 3 old cohorts; 6 newer cohorts reached week 6: with 7 users each
    # that is 42 users, under min_users, too few to compare.
    table, patterns = exact(curves, [1000] * 3 + [newer_size] * 9)
    s = plateau_test(table, patterns, SETTINGS, previous_status="pass")
    assert s.drifting is drifting, s.summary
    assert s.status == ("borderline" if drifting else "pass"), s.summary
    if drifting:
        assert s.drift_ratio == pytest.approx(newer_level / 0.30)
        assert s.drift_ratio_upper is not None and s.drift_ratio < s.drift_ratio_upper < 0.8
        assert "Newer users retain less than your first ones" in s.summary
    elif newer_size < 50:
        assert s.drift_ratio_upper is None and s.drift_users == 0


@pytest.mark.parametrize(
    ("previous", "confirm_weeks", "expected"),
    [(None, 2, "borderline"), ("borderline", 2, "borderline"), ("insufficient_data", 2, "borderline"),
     ("pass", 2, "pass"), (None, 1, "pass")],
    ids=["first-check", "last-week-borderline", "last-week-no-data", "held-two-weeks", "confirmation-off"],
)
def test_a_pass_must_hold_two_weekly_checks(previous: Status | None, confirm_weeks: int, expected: Status) -> None:
    table, patterns = exact(history(12, FLAT))
    s = plateau_test(table, patterns, dataclasses.replace(SETTINGS, confirm_weeks=confirm_weeks),
                     previous_status=previous)
    assert s.unconfirmed_status == "pass"
    assert s.status == expected
    assert s.awaiting_confirmation is (expected != "pass")
    assert s.summary.startswith("Passes if it holds next week: ") is (expected != "pass")
    assert s.to_json()["awaiting_confirmation"] is (expected != "pass")


def test_only_a_pass_waits_for_confirmation() -> None:
    table, patterns = exact(history(12, [1.0, 0.5] + [0.30 * 0.9 ** k for k in range(20)]))
    s = plateau_test(table, patterns, SETTINGS)
    assert s.status == s.unconfirmed_status == "fail" and not s.awaiting_confirmation


def test_new_settings_have_their_defaults_and_are_validated() -> None:
    r = RetentionSettings()
    assert (r.relative_tolerance, r.drift_ratio, r.confirm_weeks, r.min_cohorts) == (0.02, 0.95, 2, 6)
    s = ProductSettings().with_value("retention.relative_tolerance", "0.05").with_value("retention.confirm_weeks", "1")
    assert s.retention.relative_tolerance == 0.05 and s.retention.confirm_weeks == 1
    assert ProductSettings.from_dict(s.to_dict()) == s
    for key, bad in (("retention.confirm_weeks", "3"), ("retention.drift_ratio", "1.5"),
                     ("retention.relative_tolerance", "-0.1"), ("retention.confirm_weeks", "two")):
        with pytest.raises(SettingError):
            ProductSettings().with_value(key, bad)


# --------------------------------------------------------------------------- round 2 (issue 18)


@pytest.mark.parametrize(("first", "early"), [(3, None), (4, None), (5, 4), (6, 4), (9, 5), (10, 5), (11, 6), (20, 10)])
def test_the_early_offset_is_half_the_first_tail_week_and_at_least_4(first: int, early: int | None) -> None:
    assert early_offset((first, first + 1, first + 2)) == early
    assert early_offset(()) is None


def test_drift_is_also_looked_for_at_the_early_offset() -> None:
    # The 3 tail cohorts and the next 3 hold 30%; cohorts 6+ hold only 10%. At the first tail week
    # (6) only cohorts 3-5 have arrived (ratio 1); from the early offset max(4, 6/2) = 4 up to the
    # tail, the cohorts too young for week 6 are compared at every week they reached: cohort 6 at
    # weeks 4 and 5, cohort 7 at week 4, 300 active where the set's 30% would give 900: 1/3.
    good, bad = [1.0, 0.5] + [0.30] * 20, [1.0, 0.5] + [0.10] * 20
    curves = [(good if i < 6 else bad)[: 12 - i] for i in range(12)]
    table, patterns = exact(curves)
    s = plateau_test(table, patterns, SETTINGS, previous_status="pass")
    assert s.tail_offsets == (6, 7, 8, 9) and patterns.offsets == (4, 5, 6, 7, 8, 9)
    assert s.drifting and s.drift_offset == 4 and s.status == "borderline"
    assert s.drift_ratio == pytest.approx(0.10 / 0.30) and s.drift_users == 2000
    assert s.summary.startswith("Newer users retain less than your first ones: over weeks 4\u20135 the 2,000 "
                                "newer users")
    # Without the early offset's patterns the same data passes: the first tail week sees no drift.
    tail_only = TailPatterns(offsets=(6, 7, 8, 9), counts=exact(curves)[1].counts)
    assert plateau_test(table, _drop_bit(tail_only, patterns), SETTINGS, previous_status="pass").status == "pass"


def _drop_bit(target: TailPatterns, full: TailPatterns) -> TailPatterns:
    """``full``'s patterns without its first offsets (the low bits), under ``target``'s offsets."""
    shift = len(full.offsets) - len(target.offsets)
    return TailPatterns(offsets=target.offsets, counts={
        w: _merge({m >> shift: 0 for m in c}, c, shift) for w, c in full.counts.items()})


def _merge(keys: dict[int, int], counts: dict[int, int], shift: int) -> dict[int, int]:
    for m, n in counts.items():
        keys[m >> shift] += n
    return keys


def test_a_confidently_rising_tail_is_at_best_borderline_and_says_why() -> None:
    # The same users come back 2 points a week over the tail (a win-back campaign, a season).
    rising = [1.0, 0.5, 0.3, 0.3, 0.3, 0.3, 0.32, 0.34, 0.36, 0.38, 0.40, 0.42]
    table, patterns = exact(history(12, rising))
    s = plateau_test(table, patterns, SETTINGS, previous_status="pass")
    assert s.tail_slope == pytest.approx(0.02)
    assert s.tail_slope_ci is not None and s.tail_slope_ci[0] > 0
    assert s.rising and s.status == s.unconfirmed_status == "borderline"
    line = rising_line(4)
    assert line == ("your retention rose over the last 4 weeks \u2014 a plateau must hold without a lift; "
                    "it is judged once it settles")
    assert s.summary.startswith("Your retention rose over the last 4 weeks \u2014 ")
    assert s.to_json()["rising"] is True
    # Flat at the same level is not rising and passes.
    flat = plateau_test(*exact(history(12, rising[:6] + [0.3] * 6)), SETTINGS, previous_status="pass")
    assert not flat.rising and flat.status == "pass"
