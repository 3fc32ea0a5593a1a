"""Cross-check: the cohort table from imported CSVs equals one computed straight from the files.

The reference reads the same CSV files with the csv module and applies SPEC §5 literally (weeks
start Monday in the product's timezone; a user's cohort is the signup week, else the first active
week; a signup counts as activity; active[k] counts members active in week cohort + k), with
none of the import code. Small chunks make users straddle chunk boundaries.
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ingest_helpers import Factory, set_timezone
from sqlalchemy import text

from bot.domain.retention import build_cohort_table, tail_offsets, tail_patterns_from_users
from bot.domain.settings import RetentionSettings
from bot.domain.weeks import EPOCH_MONDAY
from bot.ingest import csv_import as ingest
from storage.models import Product
from storage.repositories.reports import cohort_activity, cohort_sizes, tail_patterns

AS_OF = date(2026, 6, 1)
LAST = (AS_OF - EPOCH_MONDAY).days // 7 - 1


def _generate(tmp: Path, rng: random.Random) -> tuple[Path, Path]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    styles = [
        lambda t: t.isoformat().replace("+00:00", "Z"),
        lambda t: t.replace(tzinfo=None).isoformat(),  # naive = UTC
        lambda t: t.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
        lambda t: t.astimezone(ZoneInfo("America/Los_Angeles")).isoformat(),
    ]
    signups, events = [], []
    for i in range(600):
        uid = f"user-{i}"
        t0 = start + timedelta(seconds=rng.randrange(150 * 86400))
        if rng.random() < 0.8:
            # A bare date is a calendar day in the product's timezone.
            when = t0.astimezone(ZoneInfo("America/New_York")).date().isoformat() if rng.random() < 0.2 \
                else rng.choice(styles)(t0)
            signups.append([uid, when, rng.choice(["seo", "cpc", "referral", "", "ads"])])
        t = t0 + timedelta(hours=rng.randrange(1, 48))
        while t < start + timedelta(days=170) and rng.random() < 0.9:
            events.append([uid, rng.choice(styles)(t), "open"])
            t += timedelta(hours=rng.randrange(1, 24 * 12))
    rng.shuffle(events)
    rng.shuffle(signups)
    su, ev = tmp / "signups.csv", tmp / "events.csv"
    for path, header, rows in ((su, ["user_id", "signed_up_at", "channel"], signups),
                               (ev, ["user_id", "occurred_at", "event"], events)):
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
    return su, ev


def _reference_users(su: Path, ev: Path, tz: ZoneInfo) -> dict[str, tuple[int, set[int]]]:
    """Each user's (cohort week, active weeks), straight from the files."""
    def week(raw: str) -> int:
        if len(raw) == 10:
            local = date.fromisoformat(raw)
        else:
            t = datetime.fromisoformat(raw)
            t = t if t.tzinfo else t.replace(tzinfo=UTC)
            local = t.astimezone(tz).date()
        monday = local - timedelta(days=local.weekday())
        return (monday - EPOCH_MONDAY).days // 7

    active: dict[str, set[int]] = defaultdict(set)
    signup: dict[str, int] = {}
    with su.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            signup[row["user_id"]] = week(row["signed_up_at"])
            active[row["user_id"]].add(signup[row["user_id"]])
    with ev.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            active[row["user_id"]].add(week(row["occurred_at"]))
    return {user: (signup.get(user, min(weeks)), weeks) for user, weeks in active.items()}


def _reference(su: Path, ev: Path, tz: ZoneInfo) -> tuple[dict[int, int], Counter[tuple[int, int]]]:
    sizes: Counter[int] = Counter()
    counts: Counter[tuple[int, int]] = Counter()
    for cohort, weeks in _reference_users(su, ev, tz).values():
        if cohort > LAST:
            continue
        sizes[cohort] += 1
        for w in weeks:
            if cohort <= w <= LAST:
                counts[(cohort, w - cohort)] += 1
    return dict(sizes), counts


@pytest.mark.parametrize("threaded", [False, True])
def test_cohort_table_matches_an_independent_computation(session_factory: Factory, product: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, threaded: bool) -> None:
    monkeypatch.setattr(ingest, "PARSE_IN_THREAD", threaded)
    set_timezone(session_factory, product, "America/New_York")
    su, ev = _generate(tmp_path, random.Random(11))
    # Events first, then signups: the signup must take over the cohort of users already known.
    ingest.import_csv(session_factory, kind="events", path=ev, product_slug=product, chunk_rows=97)
    ingest.import_csv(session_factory, kind="signups", path=su, product_slug=product, chunk_rows=53)
    sizes, counts = _reference(su, ev, ZoneInfo("America/New_York"))
    with session_factory() as s:
        pid = s.query(Product.id).filter_by(slug=product).scalar()
        got_sizes = cohort_sizes(s, pid, LAST)
        got_counts = Counter({(w, k): n for w, k, n in cohort_activity(s, pid, LAST)})
    assert got_sizes == sizes
    assert got_counts == counts
    assert sum(sizes.values()) > 400 and len(counts) > 100


def _shift_some_signups(su: Path, out: Path, rng: random.Random) -> None:
    """A second signups file: every user again, a fifth of them signed up one to three weeks
    earlier or later (re-importing a corrected export)."""
    with su.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        if rng.random() < 0.2:
            t = datetime.fromisoformat(row[1]) if len(row[1]) > 10 else datetime.fromisoformat(row[1] + "T12:00:00")
            t = t if t.tzinfo else t.replace(tzinfo=UTC)
            row[1] = (t + timedelta(weeks=rng.choice([-3, -2, -1, 1, 2, 3]))).isoformat()
    with out.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


@pytest.mark.parametrize("order", ["signups-events-changed", "events-signups-changed"])
def test_cohort_weeks_follow_every_import_order(session_factory: Factory, product: str, tmp_path: Path,
                                                order: str) -> None:
    """Activity rows carry their user's cohort week (so the cohort queries need no join): it must
    follow a signup imported after the events, an earlier event imported late, and a signup
    moved by a later file. Checked row by row, and through the cohort table and the tail
    patterns against the reference."""
    tz = ZoneInfo("America/New_York")
    set_timezone(session_factory, product, "America/New_York")
    rng = random.Random(5)
    su, ev = _generate(tmp_path, rng)
    changed = tmp_path / "signups-changed.csv"
    _shift_some_signups(su, changed, rng)
    files = {"signups": su, "events": ev, "changed": changed}
    for step in order.split("-"):
        kind = "events" if step == "events" else "signups"
        ingest.import_csv(session_factory, kind=kind, path=files[step], product_slug=product, chunk_rows=61)
    # The reference: the changed signups replace the first ones, and the activity of both stays.
    users = _reference_users(changed, ev, tz)
    first = _reference_users(su, ev, tz)
    users = {u: (cohort, weeks | first[u][1]) for u, (cohort, weeks) in users.items()}

    with session_factory() as s:
        pid = s.query(Product.id).filter_by(slug=product).scalar()
        stored = s.execute(text(
            "SELECT u.external_id, u.cohort_week, u.signup_week, u.first_week, a.week, a.cohort_week AS row_cohort, a.product_id "
            "FROM product_users u JOIN activity_weeks a ON a.user_id = u.id WHERE u.product_id = :pid"), {"pid": pid}).all()
        sizes = cohort_sizes(s, pid, LAST)
        activity = cohort_activity(s, pid, LAST)
        table = build_cohort_table(AS_OF, sizes, activity)
        offsets = tail_offsets(table, RetentionSettings(min_weeks=4, tail_weeks=4, min_users=1))
        got_patterns = tail_patterns(s, pid, LAST, offsets)
    assert len(offsets) >= 4  # the tail, and since issue 18 the weeks from the early drift offset
    # Row by row: every activity row has its user's product and cohort week, which is the signup
    # week, else the first active week.
    assert {r.external_id for r in stored} == set(users)
    for r in stored:
        assert r.cohort_week == (r.signup_week if r.signup_week is not None else r.first_week) == users[r.external_id][0]
        assert r.row_cohort == r.cohort_week and r.product_id == pid
    assert {(r.external_id, r.week) for r in stored} == {(u, w) for u, (_, ws) in users.items() for w in ws}
    # The aggregates against the reference.
    ref_sizes = Counter(c for c, _ in users.values() if c <= LAST)
    assert sizes == dict(ref_sizes)
    ref_counts = Counter((c, w - c) for c, ws in users.values() if c <= LAST for w in ws if c <= w <= LAST)
    assert Counter({(w, k): n for w, k, n in activity}) == ref_counts
    ref_patterns = tail_patterns_from_users(((c, [w - c for w in ws]) for c, ws in users.values()), table, offsets)
    assert got_patterns.offsets == ref_patterns.offsets
    assert {w: {m: n for m, n in c.items() if n} for w, c in got_patterns.counts.items()} == ref_patterns.counts
    assert sum(1 for c in ref_patterns.counts.values() for m in c if m) >= 5  # the tail is not empty
