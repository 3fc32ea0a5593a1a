"""Anonymous Slack answers keep their activity tier (SPEC §5 "Who answered"), through the real
Bolt app (signed requests, the fake Slack serving ``users.info`` with emails): each respondent is
matched at answer time by the keyed hash of their email against the signups, and their answer
keeps only that user's activity tier and active flag — so the gate weights it like a named one
(checked against a hand computation and statsmodels' Wilson on the Kish n), while no row holds
the respondent's Slack id, email or email hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from statsmodels.stats.proportion import proportion_confint

from bot.domain.weeks import last_complete_week, week_start
from bot.ingest.csv_import import import_csv
from bot.reports import service as services
from storage.models import Survey, SurveyResponse
from tests.fakes.fixtures import NOW
from tests.fakes.harness import SECRET_KEY
from tests.handlers.survey_helpers import click, ephemerals, slack_ts, survey_ts, text_of
from tests.ingest.ingest_helpers import write_csv
from tests.surveys.helpers import scan_for

AS_OF = NOW.date()
L = last_complete_week(AS_OF)
# Who answers, by tier (weeks active of the last 8): their Slack id, email and answer.
PEOPLE = {
    "heavy": [("UH0", "very"), ("UH1", "very"), ("UH2", "very"), ("UH3", "somewhat"), ("UH4", "very")],
    "regular": [("UR0", "very"), ("UR1", "somewhat"), ("UR2", "not"), ("UR3", "very"), ("UR4", "somewhat")],
    "light": [("UL0", "not"), ("UL1", "somewhat"), ("UL2", "not"), ("UL3", "very"), ("UL4", "not"),
              ("UL5", "not")],
}
INACTIVE = ("UX0", "very")  # matched to a user who is no longer active: left out


def _at(week: int) -> str:
    return datetime.combine(week_start(week), datetime.min.time(), tzinfo=UTC).replace(hour=10).isoformat()


def _population(tmp_path: Path, session_factory) -> None:  # type: ignore[no-untyped-def]
    weeks: dict[str, list[int]] = {}
    weeks.update({f"h{i}": list(range(L - 7, L + 1)) for i in range(10)})  # heavy: 8 of the last 8
    weeks.update({f"r{i}": [L - 6, L - 4, L - 2, L] for i in range(20)})  # regular: 4
    weeks.update({f"l{i}": [L - 20, L - 1] for i in range(30)})  # light: 1, active twice in all
    weeks["x0"] = [L - 12, L - 9]  # active twice, not within the last two weeks
    emails = {f"{tier[0]}{i}": f"{uid.lower()}@example.com" for tier, people in PEOPLE.items()
              for i, (uid, _) in enumerate(people)}
    emails["x0"] = "ux0@example.com"
    write_csv(tmp_path / "signups.csv", ["user_id", "signed_up_at", "channel", "email"],
              [[u, _at(min(ws)), "seo", emails.get(u, "")] for u, ws in weeks.items()])
    write_csv(tmp_path / "events.csv", ["user_id", "occurred_at"], [[u, _at(w)] for u, ws in weeks.items() for w in ws])
    import_csv(session_factory, kind="signups", path=tmp_path / "signups.csv", product_slug="acme", team_id="T1",
               secret=SECRET_KEY, progress=False)
    import_csv(session_factory, kind="events", path=tmp_path / "events.csv", product_slug="acme", team_id="T1",
               progress=False)


@pytest.fixture(autouse=True)
def no_throttle(harness) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    harness.ctx.tuning = replace(harness.ctx.tuning, count_update_interval=timedelta(0))


def test_anonymous_answers_are_weighted_by_tier_and_keep_no_identity(harness, fake_slack, seed_product,  # type: ignore[no-untyped-def]
                                                                     session_factory, tmp_path) -> None:
    seed_product("T1", "acme", "Acme", data=False)
    _population(tmp_path, session_factory)
    everyone = [p for people in PEOPLE.values() for p in people] + [INACTIVE]
    for uid, _ in everyone:
        fake_slack.add_user(uid, email=f"{uid.lower()}@Example.com")  # Slack's case: matched normalised
    assert "Survey posted" in text_of(harness.pmf("survey start anonymous").reply())
    ts = survey_ts(fake_slack)
    with session_factory() as s:
        survey_id = s.scalars(select(Survey.id)).one()
    for i, (uid, answer) in enumerate(everyone):
        assert click(harness, ts, uid, answer, slack_ts(60 + i), survey_id=survey_id).status == 200
    harness.wait(lambda: all(ephemerals(fake_slack, uid) for uid, _ in everyone), what="every answer confirmed")

    def stored() -> list[tuple[str, str | None, bool | None, str | None]]:
        with session_factory() as s:
            return [tuple(r) for r in s.execute(select(SurveyResponse.respondent_key, SurveyResponse.respondent_tier,
                                                       SurveyResponse.respondent_active, SurveyResponse.email_hash))]

    harness.wait(lambda: all(active is not None for _, _, active, _ in stored()), what="every respondent matched")
    rows = stored()
    # Only the tier and the active flag: the inactive respondent kept "not active" and no tier.
    from collections import Counter

    assert Counter((tier, active) for _, tier, active, _ in rows) == Counter(
        {("heavy", True): 5, ("regular", True): 5, ("light", True): 6, (None, False): 1})
    assert all(key.startswith("anon:") and email is None for key, _, _, email in rows)
    for uid, _ in everyone:
        assert scan_for(session_factory, uid) == [], uid
    assert scan_for(session_factory, "xample.com") == []

    with session_factory() as s:
        sig = services.gate_survey(s, services.cli_product(s, "acme", "T1"), AS_OF)
    # By hand: each tier's share of the 60 active users (10 heavy, 20 regular, 30 light) spread
    # over its answers; the inactive respondent is left out.
    share = {"heavy": 10 / 60, "regular": 20 / 60, "light": 30 / 60}
    m = sum(len(p) for p in PEOPLE.values())
    w = np.array([share[t] * m / len(p) for t, p in PEOPLE.items() for _ in p])
    y = np.array([a == "very" for p in PEOPLE.values() for _, a in p], dtype=float)
    score = float(w @ y / w.sum())
    kish = float(w.sum() ** 2 / (w @ w))
    assert sig.weighted and sig.unmatched == 0 and sig.inactive_excluded == 1
    assert sig.score == pytest.approx(score)
    assert sig.effective_responses == pytest.approx(kish)
    lo, hi = proportion_confint(score * kish, kish, alpha=0.05, method="wilson")
    assert sig.ci == pytest.approx((lo, hi), abs=1e-6)
    assert sig.response_rate == pytest.approx(m / 60) and sig.response_rate_base == "active_users"
