"""The demo's second sample product, "Beacon": one that passes all three signals under the
strict rules, so a newcomer sees what "ready" looks like and the next steps it brings (how to
scale, and why not to rewrite). Same CSV formats as ``bot.demo.generate``; seeded.

What makes it pass (SPEC §5): a core of users who come back nearly every week, so the tail of
the retention curve is flat two weeks running (not losing ≥ 2% of its users a week); 70% of
the classified signups organic at first, rising to 84%, so the Wilson lower bound clears 50%; and about 200 survey
answers from its own active users (respondent_id = user_id: matched, weighted by activity tier,
every sizeable tier heard) whose score rose over the quarter to about 60%, so the interval at
z = 2.7 clears 40%;
engineering managers love it clearly more than everyone else (a segment that stands out).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

# Both demos' sample signup channels (bot/demo.py imports them); how they classify is decided
# by bot/domain/channels.py, like any product's.
CHANNELS_ORGANIC = ("direct", "organic_search", "referral", "word_of_mouth", "community")
CHANNELS_PAID = ("cpc", "paid_social", "display")

SEGMENTS = ("Engineering manager", "Engineer", "Product manager", "Designer", "Founder")
SEG_LIFT = {"Engineering manager": 0.28, "Engineer": 0.0, "Product manager": -0.05, "Designer": -0.2, "Founder": 0.0}
BENEFITS = (
    "the weekly digest shows the whole team where we stand",
    "saves hours of status meetings every week",
    "one place for the team's weekly goals",
    "the weekly digest replaced our status meeting",
    "saves hours of chasing updates",
    "clear weekly goals for the whole team",
)
IMPROVE = (
    "a mobile app for the weekly digest",
    "calendar integration for the goals",
    "a mobile app would help",
    "calendar integration so goals show in our week",
    "faster search in old goals",
    "export the digest to slides",
)


def active_respondents(rng: np.random.Generator, activity: dict[str, set[int]], signup_week: dict[str, int],
                       n: int, last_week: int) -> list[str]:
    """``n`` survey respondents drawn from the product's active users (SPEC §5 "Who answered":
    active in 2+ weeks, one of them among the last two complete weeks, ``last_week`` being the
    last), keener users more often (chance in proportion to 1 + the weeks active of the last 8), so
    the demo's answers are matched to users, weighted and give a response rate."""
    ids = sorted(u for u, weeks in activity.items() if len(weeks) >= 2 and max(weeks) >= last_week - 1)
    keen = np.array([sum(1 for w in activity[u] if w > last_week - 8) for u in ids], dtype=float)
    weight = 1 + keen
    picked = rng.choice(len(ids), size=min(n, len(ids)), replace=False, p=weight / weight.sum())
    return sorted((ids[int(i)] for i in picked), key=lambda u: signup_week[u])


def answer_time(rng: np.random.Generator, as_of: date, signup_week: int, first_monday: date, max_days: int) -> datetime:
    """When a respondent answered: within the last ``max_days`` days, never before their signup week ended."""
    after_signup_week = (as_of - first_monday).days - 7 * (signup_week + 1)  # days from its end to as_of
    days_ago = int(rng.integers(1, max(min(max_days + 1, after_signup_week), 2)))
    return datetime.combine(as_of, datetime.min.time(), tzinfo=UTC) - timedelta(
        days=days_ago, seconds=int(rng.integers(0, 86400)))


@dataclass(frozen=True)
class ReadyData:
    events: Path
    signups: Path
    responses: Path
    users: int
    event_rows: int
    response_rows: int


def generate_ready(out: Path, as_of: date, *, weeks: int = 26, seed: int = 11) -> ReadyData:
    """Write signups, events and survey responses of a product with product-market fit."""
    rng = np.random.default_rng(seed)
    first_monday = as_of - timedelta(days=as_of.weekday() + 7 * weeks)
    out.mkdir(parents=True, exist_ok=True)
    signups, events, responses = out / "signups.csv", out / "events.csv", out / "responses.csv"
    n_users = n_events = 0
    activity: dict[str, set[int]] = {}
    signup_week: dict[str, int] = {}
    with open(signups, "w", newline="") as fs, open(events, "w", newline="") as fe:
        ws, we = csv.writer(fs), csv.writer(fe)
        ws.writerow(["user_id", "signed_up_at", "channel"])
        we.writerow(["user_id", "occurred_at", "event"])
        for w in range(weeks):
            week_start = datetime.combine(first_monday + timedelta(weeks=w), datetime.min.time(), tzinfo=UTC)
            for _ in range(int(rng.normal(120 + 6 * w, 10))):
                n_users += 1
                uid = f"b{n_users:06d}"
                signup = week_start + timedelta(seconds=int(rng.integers(0, 7 * 86400)))
                r = rng.random()
                channel = ("" if r < 0.03 else CHANNELS_ORGANIC[int(rng.integers(len(CHANNELS_ORGANIC)))]
                           if rng.random() < 0.70 + 0.14 * w / weeks else CHANNELS_PAID[int(rng.integers(len(CHANNELS_PAID)))])
                ws.writerow([uid, signup.isoformat(), channel])
                signup_week[uid], active = w, activity.setdefault(uid, {w})
                keeper = rng.random() < 0.45  # the team that runs its week on it
                for k in range(0, weeks - w):
                    p = 0.97 if keeper else 0.5 * np.exp(-k / 1.2)
                    if k == 0 or rng.random() < p:
                        base = signup if k == 0 else week_start + timedelta(weeks=k)
                        at = base + timedelta(seconds=int(rng.integers(0, 5 * 86400)))
                        if at.date() < as_of:
                            we.writerow([uid, at.isoformat(), "session"])
                            active.add(w + k)
                            n_events += 1
    n_resp = 0
    with open(responses, "w", newline="") as fr:
        wr = csv.writer(fr)
        wr.writerow(["respondent_id", "answered_at", "answer", "segment", "who_benefits", "main_benefit", "improve"])
        for uid in active_respondents(rng, activity, signup_week, 200, weeks - 1):
            at = answer_time(rng, as_of, signup_week[uid], first_monday, 75)
            days_ago = (as_of - at.date()).days
            seg = SEGMENTS[int(rng.integers(len(SEGMENTS)))]
            pv = 0.72 - 0.30 * days_ago / 75 + SEG_LIFT[seg]  # the score rose over the quarter
            u = rng.random()
            answer = ("Very disappointed" if u < pv else "Somewhat disappointed" if u < pv + 0.27
                      else "Not disappointed" if u < 0.97 else "N/A — I no longer use Beacon")
            benefit = BENEFITS[int(rng.integers(len(BENEFITS)))] if answer[0] in "VS" else ""
            improve = IMPROVE[int(rng.integers(len(IMPROVE)))] if answer.startswith("Somewhat") else ""
            wr.writerow([uid, at.isoformat(), answer, seg, "teams of 5-50", benefit, improve])
            n_resp += 1
    return ReadyData(events, signups, responses, n_users, n_events, n_resp)
