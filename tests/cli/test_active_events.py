"""``retention.active_events`` (SPEC §5 "Activity") through the real import and the real CLI.

A seeded product whose churned users stop using it after week 2 but keep receiving
``email_opened`` (and a few ``notification_sent``) every week: with the default rule they count as
retained; with ``exclude:email_opened,notification_sent`` they do not. Each cohort table is checked
against an independent pandas computation from the very CSV rows imported, and the report's
details, the custom-rules disclosure and ``config`` are checked against the same rows."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.domain.weeks import EPOCH_MONDAY, week_of_date
from bot.ingest.csv_import import import_csv

AS_OF = date(2026, 11, 23)  # a Monday: the last complete week is the one before
PASSIVE = ("email_opened", "notification_sent")


def _write_product(folder: Path, seed: int = 7, named: bool = True) -> tuple[Path, Path, pd.DataFrame]:
    """Signups and events CSVs, and the events as a DataFrame (user, week, event)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    last = week_of_date(AS_OF) - 1
    signups, events = [], []
    for cohort in range(last - 15, last + 1):
        for i in range(int(rng.integers(55, 75))):
            uid = f"u{cohort}-{i}"
            start = EPOCH_MONDAY + timedelta(weeks=cohort)
            signups.append((uid, f"{start + timedelta(days=int(rng.integers(0, 7)))}T09:00:00Z"))
            keen = rng.random() < 0.35
            for week in range(cohort, last + 1):
                day = EPOCH_MONDAY + timedelta(weeks=week, days=int(rng.integers(0, 7)))
                k = week - cohort
                if (keen and rng.random() < 0.7) or (k <= 2 and rng.random() < 0.6):
                    for name in rng.choice(["login", "project_created", "comment"], size=int(rng.integers(1, 4))):
                        events.append((uid, f"{day}T10:00:00Z", str(name)))
                if k > 0 and rng.random() < 0.8:  # everyone keeps getting the newsletter
                    events.append((uid, f"{day}T11:00:00Z", "email_opened"))
                if k > 0 and rng.random() < 0.1:
                    events.append((uid, f"{day}T12:00:00+02:00", " notification_sent "))
    s_path, e_path = folder / "signups.csv", folder / "events.csv"
    with s_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "signed_up_at", "channel"])
        w.writerows((u, t, "organic") for u, t in signups)
    with e_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "occurred_at", "event"] if named else ["user_id", "occurred_at"])
        w.writerows(events if named else [r[:2] for r in events])
    frame = pd.DataFrame(events, columns=["user", "at", "event"])
    frame["event"] = frame["event"].str.strip()
    frame["week"] = [week_of_date(datetime.fromisoformat(t).astimezone(UTC).date()) for t in frame["at"]]
    cohort_of = {u: week_of_date(datetime.fromisoformat(t).date()) for u, t in signups}
    frame["cohort"] = frame["user"].map(cohort_of)
    frame.attrs["sizes"] = pd.Series(cohort_of).value_counts().sort_index()
    return s_path, e_path, frame


def _expected_table(frame: pd.DataFrame, excluded: tuple[str, ...] = ()) -> dict[int, list[int]]:
    """Per cohort week, the active users at each offset: the signup week always, later weeks by
    the events that count (pandas, from the CSV rows)."""
    last = week_of_date(AS_OF) - 1
    counted = frame[~frame["event"].isin(excluded) & (frame["week"] > frame["cohort"]) & (frame["week"] <= last)]
    active = counted.groupby(["cohort", "week"])["user"].nunique()
    sizes = frame.attrs["sizes"]
    return {int(c): [int(sizes[c])] + [int(active.get((c, c + k), 0)) for k in range(1, last - c + 1)]
            for c in sizes.index}


def _cohorts(run) -> dict[int, list[int]]:  # type: ignore[no-untyped-def]
    code, out, err = run("cohorts", "--product", "acme", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    return {week_of_date(date.fromisoformat(c["week"])): c["active"] for c in json.loads(out)["cohorts"]}


def _check_json(run) -> dict:  # type: ignore[no-untyped-def,type-arg]
    code, out, err = run("check", "--product", "acme", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.fixture
def product(run, tmp_path: Path):  # type: ignore[no-untyped-def]
    s_path, e_path, frame = _write_product(tmp_path / "data")
    assert run("product", "create", "acme", "--name", "Acme")[0] == 0
    for kind, path in (("signups", s_path), ("events", e_path)):
        code, _, err = run("import", kind, str(path), "--product", "acme")
        assert code == 0, err
    return frame


def test_excluding_passive_events_drops_churned_users_from_retention(run, product) -> None:  # type: ignore[no-untyped-def]
    frame = product
    default = _cohorts(run)
    assert default == _expected_table(frame)
    code, out, err = run("config", "--product", "acme", "retention.active_events", "exclude:email_opened, notification_sent")
    assert code == 0, err
    assert "retention.active_events = exclude:email_opened,notification_sent" in out
    filtered = _cohorts(run)
    assert filtered == _expected_table(frame, PASSIVE)
    # The churned users were "retained" by the newsletter alone: late offsets drop sharply.
    late = [c for c in default if len(default[c]) > 8]
    assert sum(filtered[c][8] for c in late) < 0.7 * sum(default[c][8] for c in late)
    # The old value is gone from an include list too.
    assert run("config", "--product", "acme", "retention.active_events", "include:login,project_created,comment")[0] == 0
    assert _cohorts(run) == _expected_table(frame, PASSIVE)


def test_report_details_custom_rule_and_config_show_the_events_counted(run, product) -> None:  # type: ignore[no-untyped-def]
    frame = product
    user_weeks = frame.drop_duplicates(["user", "week", "event"])["event"].value_counts()
    before = _check_json(run)
    details = before["signals"]["retention"]["active_events"]
    assert details["rule"] == "default" and details["excluded"] == []
    assert {d["event"]: d["user_weeks"] for d in details["counted"]} == user_weeks.to_dict()
    assert [d["user_weeks"] for d in details["counted"]] == sorted(user_weeks.to_list(), reverse=True)
    assert before["custom_rules"] == []

    assert run("config", "--product", "acme", "retention.active_events", "exclude:email_opened")[0] == 0
    after = _check_json(run)
    details = after["signals"]["retention"]["active_events"]
    assert details["rule"] == "exclude:email_opened" and details["applies"] is True
    assert details["excluded"] == [{"event": "email_opened", "user_weeks": int(user_weeks["email_opened"])}]
    assert "email_opened" not in {d["event"] for d in details["counted"]}
    assert [c["key"] for c in after["custom_rules"]] == ["retention.active_events"]
    assert after["custom_rules"][0]["default"] == "default"

    code, text, err = run("check", "--product", "acme", "--as-of", AS_OF.isoformat())
    assert code == 0, err
    assert "retention.active_events" in text  # the custom-rules line
    top = user_weeks.drop("email_opened").index[0]
    assert f"{top} ({int(user_weeks[top]):,} user-weeks)" in text
    assert "not counted: email_opened" in text

    code, out, err = run("config", "--product", "acme")
    assert code == 0, err
    assert f"{top}: {int(user_weeks[top]):,} user-weeks" in out
    assert f"email_opened: {int(user_weeks['email_opened']):,} user-weeks (not counted)" in out


def test_a_rule_on_events_without_names_says_it_cannot_apply(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s_path, e_path, frame = _write_product(tmp_path / "data", named=False)
    assert run("product", "create", "acme", "--name", "Acme")[0] == 0
    for kind, path in (("signups", s_path), ("events", e_path)):
        assert run("import", kind, str(path), "--product", "acme")[0] == 0
    assert run("config", "--product", "acme", "retention.active_events", "exclude:email_opened")[0] == 0
    assert _cohorts(run) == _expected_table(frame)  # every event still counts ...
    details = _check_json(run)["signals"]["retention"]["active_events"]
    assert details["applies"] is False and "cannot apply" in details["note"]  # ... and the report says so


def test_bad_values_are_refused_with_the_syntax(run, product) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("config", "--product", "acme", "retention.active_events", "email_opened")
    assert code != 0
    assert "include: or exclude:" in err + out and "exclude:email_opened,notification_sent" in err + out
    code, out, err = run("config", "--product", "acme", "retention.active_events", "exclude:")
    assert code != 0 and "Name at least one event" in err + out


def test_row_by_row_and_vectorised_imports_keep_the_same_event_weeks(session_factory, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The csv-module path (used for blocks the vectorised reader hands back) and the Arrow path
    write the same activity_event_weeks."""
    from sqlalchemy import select

    from storage.models import ActivityEventWeek, EventName, Product, ProductUser

    s_path, e_path, frame = _write_product(tmp_path / "data", seed=11)
    tables = []
    for fast, slug in ((True, "fast"), (False, "rows")):
        assert run("product", "create", slug, "--name", slug)[0] == 0
        import_csv(session_factory, kind="signups", path=s_path, product_slug=slug)
        import_csv(session_factory, kind="events", path=e_path, product_slug=slug, fast_events=fast, chunk_rows=5000)
        # Twice: a re-import adds nothing and counts nothing twice.
        import_csv(session_factory, kind="events", path=e_path, product_slug=slug, fast_events=fast, chunk_rows=5000)
        with session_factory() as s:
            pid = s.scalar(select(Product.id).where(Product.slug == slug))
            rows = s.execute(select(ProductUser.external_id, ActivityEventWeek.week, EventName.name)
                             .join(ProductUser, ProductUser.id == ActivityEventWeek.user_id)
                             .join(EventName, EventName.id == ActivityEventWeek.event_id)
                             .where(ActivityEventWeek.product_id == pid)).all()
            counts = dict(s.execute(select(EventName.name, EventName.user_weeks).where(EventName.product_id == pid)).all())
        tables.append(set(rows))
        expected_counts = frame.drop_duplicates(["user", "week", "event"])["event"].value_counts().to_dict()
        assert counts == expected_counts
    expected = set(frame[["user", "week", "event"]].itertuples(index=False, name=None))
    assert tables[0] == tables[1] == expected


def test_tail_patterns_under_an_exclusion_match_pandas(run, product, session_factory) -> None:  # type: ignore[no-untyped-def]
    """The bootstrap's input (each user's activity pattern over the tail weeks) under the rule,
    against the same masks built with pandas from the CSV rows."""
    from bot.domain.active_events import parse_active_events
    from bot.products.service import cli_product
    from storage.repositories import activity_events
    from storage.repositories.reports import cohort_sizes

    frame = product
    last = week_of_date(AS_OF) - 1
    offsets = (5, 6, 7, 8)
    rule = parse_active_events("exclude:email_opened,notification_sent")
    with session_factory() as s:
        pid = cli_product(s, "acme", None).id
        sizes = cohort_sizes(s, pid, last)
        got = activity_events.tail_patterns(s, pid, last, offsets, sizes, rule)
    counted = frame[~frame["event"].isin(PASSIVE)].drop_duplicates(["user", "week"]).copy()
    counted["k"] = counted["week"] - counted["cohort"]
    counted = counted[counted["k"].isin(offsets) & (counted["week"] <= last)]
    counted["bit"] = [1 << offsets.index(k) for k in counted["k"]]
    masks = counted.groupby(["cohort", "user"])["bit"].sum().groupby(level=0).value_counts()
    expected: dict[int, dict[int, int]] = {}
    for (cohort, mask), n in masks.items():
        if cohort <= last - min(offsets):
            expected.setdefault(int(cohort), {})[int(mask)] = int(n)
    sizes_series = frame.attrs["sizes"]
    for cohort in sizes_series.index:
        row = expected.setdefault(int(cohort), {})
        rest = int(sizes_series[cohort]) - sum(row.values())
        if rest:
            row[0] = rest
    assert {w: c for w, c in got.counts.items() if c} == {w: c for w, c in expected.items() if c}
    assert any(mask for row in expected.values() for mask in row)  # some users are active in the tail
