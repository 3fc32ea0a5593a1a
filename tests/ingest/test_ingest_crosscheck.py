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

from bot import ingest
from bot.domain.weeks import EPOCH_MONDAY
from storage import repositories as repo
from storage.models import Product

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


def _reference(su: Path, ev: Path, tz: ZoneInfo) -> tuple[dict[int, int], Counter[tuple[int, int]]]:
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
    sizes: Counter[int] = Counter()
    counts: Counter[tuple[int, int]] = Counter()
    for user, weeks in active.items():
        cohort = signup.get(user, min(weeks))
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
        got_sizes = repo.cohort_sizes(s, pid, LAST)
        got_counts = Counter({(w, k): n for w, k, n in repo.cohort_activity(s, pid, LAST)})
    assert got_sizes == sizes
    assert got_counts == counts
    assert sum(sizes.values()) > 400 and len(counts) > 100
