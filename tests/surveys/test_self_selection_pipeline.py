"""Self-selected respondents through the whole pipeline (CSV imports into the test database,
then ``compute_report``): heavy users answer 7× as often as light ones and like the product
more, so the raw score of a true 38% reads about 50%; weighted by activity tier it reads about
38% and the gate's survey signal never passes (SPEC §5 "Who answered"). Seeded and small: 600
users and 4 replicates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import survey as domain
from bot.domain.weeks import last_complete_week, week_start
from bot.ingest.csv_import import import_csv
from bot.products import service as product_service
from bot.reports import service as services
from storage.repositories.reports import survey_responses
from tests.ingest.ingest_helpers import write_csv
from tests.surveys.helpers import TEAM

AS_OF = date(2026, 11, 23)
L = last_complete_week(AS_OF)
PER_TIER = 200
# Weeks active besides the signup week (L - 10): 7, 4 and 1 of the last 8.
WEEKS = {"heavy": [L - 6, L - 5, L - 4, L - 3, L - 2, L - 1, L], "regular": [L - 6, L - 3, L - 1, L], "light": [L]}
VERY = {"heavy": 0.60, "regular": 0.38, "light": 0.16}  # equal tiers: a true 38% among active users
ANSWERS = {"heavy": 0.70, "regular": 0.30, "light": 0.10}  # heavy users answer 7× as often
TRUE_SCORE = sum(VERY.values()) / 3


def _at(d: date) -> str:
    return datetime.combine(d, datetime.min.time(), tzinfo=UTC).replace(hour=9).isoformat()


def _replicate(factory: sessionmaker[Session], tmp_path: Path, slug: str, rng: np.random.Generator) -> tuple:  # type: ignore[type-arg]
    product_service.create_product(factory, slug=slug, name=slug, team_id=TEAM)
    signups, events, responses = [], [], []
    answered_on = _at(AS_OF - timedelta(days=5))
    for tier, weeks in WEEKS.items():
        for i in range(PER_TIER):
            uid = f"{tier}{i}"
            signups.append([uid, _at(week_start(L - 10)), "seo"])
            events += [[uid, _at(week_start(w))] for w in weeks]
            if rng.random() < ANSWERS[tier]:
                very = rng.random() < VERY[tier]
                responses.append([uid, answered_on, "very" if very else rng.choice(["somewhat", "not"])])
    for kind, header, rows in (("signups", ["user_id", "signed_up_at", "channel"], signups),
                               ("events", ["user_id", "occurred_at"], events),
                               ("responses", ["respondent_id", "answered_at", "answer"], responses)):
        path = write_csv(tmp_path / f"{slug}-{kind}.csv", header, rows)
        import_csv(factory, kind=kind, path=path, product_slug=slug, team_id=TEAM)
    with factory() as s:
        product = services.cli_product(s, slug, TEAM)
        report = services.compute_report(s, product, AS_OF)
        raw = domain.survey_signal(survey_responses(s, product.id), AS_OF, product.settings.survey)
    return report.survey, raw


def test_keen_heavy_users_do_not_pass_a_true_38_percent(factory: sessionmaker[Session], tmp_path: Path) -> None:
    rng = np.random.default_rng(20261204)
    weighted, raw = zip(*(_replicate(factory, tmp_path, f"sim{k}", rng) for k in range(4)), strict=True)
    assert all(w.weighted and w.unmatched == 0 for w in weighted)
    assert not any(w.status == "pass" for w in weighted)
    assert abs(float(np.mean([w.score for w in weighted])) - TRUE_SCORE) < 0.05
    # Unweighted, the same answers read about 50% (heavy users' share of the answers).
    assert float(np.mean([r.score for r in raw])) > 0.45
    # 600 active users, about 220 of them answered; the report says so.
    for w in weighted:
        assert w.response_rate is not None and 0.30 < w.response_rate < 0.44
        assert f"{round(w.response_rate * 100)}% of active users answered" in w.summary
