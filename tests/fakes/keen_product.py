"""A product whose first signup cohorts are keen and later ones are not, as CSV files for
``pmfbot import``: the case the audit found a manager could hide by setting
``retention.drift_ratio`` to 0. Under the default rules newer users retain confidently worse than
the early ones (drift), so retention is held back and the verdict is "not sure yet"; with the drift
rule off, the flat tail of the keen cohorts passes, and organic growth and the survey pass too, so
the verdict reads "ready". Seeded; the survey is answered by active users under their own ids
(so every answer is matched and weighted)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

ORGANIC = ("seo", "community", "word_of_mouth", "organic_search")
PAID = ("cpc",)


@dataclass(frozen=True)
class KeenFiles:
    signups: Path
    events: Path
    responses: Path
    users: int


def write_keen_product(out: Path, as_of: date, *, weeks: int = 22, keen_cohorts: int = 4, seed: int = 5) -> KeenFiles:
    """Signups, events and survey answers up to ``as_of`` (a Monday): ``weeks`` cohorts of about
    110 users, 75% of them from organic channels; half of the first ``keen_cohorts`` cohorts and
    a sixth of the later ones come back nearly every week; 300 active users answer, 65% "very
    disappointed"."""
    rng = np.random.default_rng(seed)
    first_monday = as_of - timedelta(days=as_of.weekday() + 7 * weeks)
    last_complete = weeks - 1  # week index (from first_monday) of the last complete week
    out.mkdir(parents=True, exist_ok=True)
    signups, events, responses = out / "signups.csv", out / "events.csv", out / "responses.csv"
    active_weeks: dict[str, set[int]] = {}
    with open(signups, "w", newline="") as fs, open(events, "w", newline="") as fe:
        ws, we = csv.writer(fs), csv.writer(fe)
        ws.writerow(["user_id", "signed_up_at", "channel"])
        we.writerow(["user_id", "occurred_at", "event"])
        for w in range(weeks):
            start = datetime.combine(first_monday + timedelta(weeks=w), datetime.min.time(), tzinfo=UTC)
            keen_share = 0.5 if w < keen_cohorts else 1 / 6
            for _ in range(int(rng.normal(110, 4))):
                uid = f"k{len(active_weeks):05d}"
                signup = start + timedelta(seconds=int(rng.integers(0, 5 * 86400)))
                channel = (ORGANIC[int(rng.integers(len(ORGANIC)))] if rng.random() < 0.75
                           else PAID[int(rng.integers(len(PAID)))])
                ws.writerow([uid, signup.isoformat(), channel])
                keeper = rng.random() < keen_share
                mine = {w}
                for k in range(1, weeks - w):
                    if rng.random() < (0.92 if keeper else 0.45 * np.exp(-k / 1.2)):
                        mine.add(w + k)
                for week in sorted(mine):
                    at = start + timedelta(weeks=week - w, seconds=int(rng.integers(0, 5 * 86400)))
                    if week == w:
                        at = signup
                    we.writerow([uid, at.isoformat(), "session"])
                active_weeks[uid] = mine
    # Active as Ellis means it: in at least two weeks, one of them within the last two complete.
    active = sorted(u for u, mine in active_weeks.items()
                    if len(mine) >= 2 and max(mine) >= last_complete - 1)
    chosen = rng.choice(len(active), size=min(300, len(active)), replace=False)
    with open(responses, "w", newline="") as fr:
        wr = csv.writer(fr)
        wr.writerow(["respondent_id", "answered_at", "answer"])
        for i in sorted(chosen):
            at = datetime.combine(as_of, datetime.min.time(), tzinfo=UTC) - timedelta(
                days=int(rng.integers(2, 50)), seconds=int(rng.integers(0, 86400)))
            u = rng.random()
            answer = "very" if u < 0.65 else "somewhat" if u < 0.92 else "not"
            wr.writerow([active[i], at.isoformat(), answer])
    return KeenFiles(signups, events, responses, len(active_weeks))
