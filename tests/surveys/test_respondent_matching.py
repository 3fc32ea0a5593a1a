"""Who answered, through the database: respondents matched by id (imports) and by the keyed hash
of their email (named Slack answers), inactive matched users left out, the score weighted by
activity tier as a hand computation and statsmodels' Wilson on the Kish effective n give it, and
unmatched answers counted at weight 1 with the "unweighted" wording. The email is never stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from statsmodels.stats.proportion import proportion_confint

from bot.domain.matching import email_hash
from bot.domain.survey import who_answered
from bot.domain.weeks import last_complete_week, week_start
from bot.errors import UserError
from bot.ingest.csv_import import import_csv
from bot.reports import service as services
from bot.slack.users import UserEmails
from bot.surveys.answers import store_email_hash
from bot.surveys.values import SurveyInfo
from storage.models import ProductUser, SurveyResponse
from tests.ingest.ingest_helpers import write_csv
from tests.surveys.helpers import SECRET, TEAM, click, scan_for

AS_OF = date(2026, 11, 23)  # a Monday: the week of 16 November is the last complete one
L = last_complete_week(AS_OF)
Start = Callable[..., SurveyInfo]


def _at(week: int) -> str:
    return datetime.combine(week_start(week), datetime.min.time(), tzinfo=UTC).replace(hour=10).isoformat()


def _people(factory: sessionmaker[Session], tmp_path: Path, weeks: dict[str, list[int]],
            emails: dict[str, str]) -> None:
    """Users signed up in their first active week (a signup counts as activity), active in the
    given weeks, with emails for some."""
    write_csv(tmp_path / "signups.csv", ["user_id", "signed_up_at", "channel", "email"],
              [[u, _at(min(ws)), "seo", emails.get(u, "")] for u, ws in weeks.items()])
    write_csv(tmp_path / "events.csv", ["user_id", "occurred_at"], [[u, _at(w)] for u, ws in weeks.items() for w in ws])
    import_csv(factory, kind="signups", path=tmp_path / "signups.csv", product_slug="acme", team_id=TEAM, secret=SECRET)
    import_csv(factory, kind="events", path=tmp_path / "events.csv", product_slug="acme", team_id=TEAM)


def _population() -> dict[str, list[int]]:
    weeks: dict[str, list[int]] = {}
    weeks.update({f"h{i}": list(range(L - 7, L + 1)) for i in range(10)})  # heavy: 8 of the last 8
    weeks.update({f"r{i}": [L - 6, L - 4, L - 2, L] for i in range(20)})  # regular: 4
    weeks.update({f"l{i}": [L - 20, L - 1] for i in range(30)})  # light: 1, and active twice in all
    weeks["x0"] = [L - 12, L - 9]  # active twice, but not in the last two weeks: not active
    weeks["once"] = [L]  # active once only: not active either
    return weeks


def _import_responses(factory: sessionmaker[Session], tmp_path: Path, rows: list[tuple[str, str]]) -> None:
    day = (AS_OF - timedelta(days=3)).isoformat()
    write_csv(tmp_path / "responses.csv", ["respondent_id", "answered_at", "answer"], [[r, day, a] for r, a in rows])
    import_csv(factory, kind="responses", path=tmp_path / "responses.csv", product_slug="acme", team_id=TEAM)


def _slack_answer(factory: sessionmaker[Session], survey: SurveyInfo, user: str, answer: str, email: str | None) -> None:
    at = datetime.combine(AS_OF - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    assert click(factory, survey, user, answer, at).status == "recorded"
    if email is not None:
        store_email_hash(factory, survey_id=survey.id, user_id=user, email=email, secret=SECRET)


def _start_at(start: Start) -> SurveyInfo:
    return start(now=datetime.combine(AS_OF - timedelta(days=4), datetime.min.time(), tzinfo=UTC), days=14)


def test_matched_by_id_and_email_hash_weighted_as_by_hand(factory: sessionmaker[Session], start: Start,
                                                          tmp_path: Path) -> None:
    emails = {"r1": "Rita@Example.com", "l1": "lea@example.com"}
    _people(factory, tmp_path, _population(), emails)
    _import_responses(factory, tmp_path, [("h0", "very"), ("h1", "very"), ("h2", "somewhat"), ("r0", "very"),
                                          ("l0", "not"), ("x0", "very"), ("once", "very")])
    survey = _start_at(start)
    _slack_answer(factory, survey, "UR1", "not", " rita@example.COM ")  # matched to r1 by the email's hash
    _slack_answer(factory, survey, "UL1", "somewhat", "lea@example.com")  # l1

    with factory() as s:
        sig = services.gate_survey(s, services.cli_product(s, "acme", TEAM), AS_OF)
    # By hand: tiers' shares among the 60 active users (10 heavy, 20 regular, 30 light) spread
    # over their answers; x0 and "once" are matched but not active, so left out.
    answers = {"heavy": [1, 1, 0], "regular": [1, 0], "light": [0, 0]}
    share = {"heavy": 10 / 60, "regular": 20 / 60, "light": 30 / 60}
    m = sum(len(v) for v in answers.values())
    w = np.array([share[t] * m / len(v) for t, v in answers.items() for _ in v])
    y = np.array([a for v in answers.values() for a in v], dtype=float)
    score = float(w @ y / w.sum())
    kish = float(w.sum() ** 2 / (w @ w))
    assert sig.weighted and sig.unmatched == 0 and sig.inactive_excluded == 2
    assert sig.score == pytest.approx(score) == pytest.approx(1 / 6 * 2 / 3 + 2 / 6 * 1 / 2)
    assert sig.effective_responses == pytest.approx(kish)
    lo, hi = proportion_confint(score * kish, kish, alpha=0.05, method="wilson")
    assert sig.ci == pytest.approx((lo, hi), abs=1e-6)
    assert sig.response_rate == pytest.approx(7 / 60) and sig.response_rate_base == "active_users"
    assert who_answered(sig).startswith("weighted by how active respondents are; 12% of active users answered")
    assert "2 answers from users no longer active left out" in sig.summary

    # The email went no further than its hash: not in any column of any table.
    for needle in ("example.com", "Example.com", "rita", "lea@"):
        assert scan_for(factory, needle) == []
    with factory() as s:
        stored = dict(s.execute(select(ProductUser.external_id, ProductUser.email_hash)
                                .where(ProductUser.email_hash.is_not(None))).all())
        pid = s.scalar(select(ProductUser.product_id).limit(1))
        assert pid is not None
        assert stored == {"r1": email_hash(SECRET, pid, "rita@example.com"), "l1": email_hash(SECRET, pid, "lea@example.com")}
        slack = dict(s.execute(select(SurveyResponse.respondent_key, SurveyResponse.email_hash)
                               .where(SurveyResponse.source == "slack")).all())
        assert slack == {"UR1": stored["r1"], "UL1": stored["l1"]}


def test_the_report_and_the_results_post_agree(factory: sessionmaker[Session], start: Start, tmp_path: Path) -> None:
    _people(factory, tmp_path, _population(), {"r1": "rita@example.com"})
    _import_responses(factory, tmp_path, [("h0", "very"), ("l0", "not")])
    survey = _start_at(start)
    _slack_answer(factory, survey, "UR1", "very", "rita@example.com")
    report = services.gate_report(factory, product_slug="acme", team_id=TEAM, as_of=AS_OF)
    with factory() as s:
        assert report.survey == services.gate_survey(s, services.cli_product(s, "acme", TEAM), AS_OF)
    assert report.survey.weighted and "weighted by how active respondents are" in report.survey.summary


def test_unmatched_answers_count_unweighted_with_the_channel_rate(factory: sessionmaker[Session], start: Start,
                                                                  tmp_path: Path) -> None:
    from bot.surveys import service as surveys

    _people(factory, tmp_path, _population(), {})
    survey = _start_at(start)
    surveys.attach_message(factory, survey_id=survey.id, message_ts=survey.message_ts or "", channel_members=40)
    for i, a in enumerate(["very", "not", "somewhat", "very"]):
        _slack_answer(factory, survey, f"UX{i}", a, f"nobody{i}@example.org")  # no signup has these emails
    with factory() as s:
        sig = services.gate_survey(s, services.cli_product(s, "acme", TEAM), AS_OF)
    assert (sig.weighted, sig.unmatched, sig.score, sig.effective_responses) == (False, 4, 0.5, 4.0)
    assert sig.response_rate == pytest.approx(0.1) and sig.response_rate_base == "channel_members"
    assert who_answered(sig) == "unweighted; response rate 10% of channel members"
    assert sig.summary.endswith("unweighted; response rate 10% of channel members.")


def test_anonymous_answers_stay_unmatched(factory: sessionmaker[Session], start: Start, tmp_path: Path) -> None:
    _people(factory, tmp_path, _population(), {"r1": "rita@example.com"})
    survey = start(anonymous=True, now=datetime.combine(AS_OF - timedelta(days=4), datetime.min.time(), tzinfo=UTC))
    at = datetime.combine(AS_OF - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    click(factory, survey, "UR1", "very", at)
    assert store_email_hash(factory, survey_id=survey.id, user_id="UR1", email="rita@example.com", secret=SECRET) is False
    with factory() as s:
        assert s.scalars(select(SurveyResponse.email_hash)).all() == [None]
        sig = services.gate_survey(s, services.cli_product(s, "acme", TEAM), AS_OF)
    assert sig.unmatched == 1 and not sig.weighted


def test_an_email_column_needs_the_secret_key(factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", ["user_id", "signed_up_at", "channel", "email"],
                     [["u1", "2026-11-02", "seo", "a@b.c"]])
    with pytest.raises(UserError, match="PMFBOT_SECRET_KEY"):
        import_csv(factory, kind="signups", path=path, product_slug="acme", team_id=TEAM)
    bad = write_csv(tmp_path / "bad.csv", ["user_id", "signed_up_at", "channel", "email"],
                    [["u1", "2026-11-02", "seo", "not an email"]])
    with pytest.raises(UserError, match="email"):
        import_csv(factory, kind="signups", path=bad, product_slug="acme", team_id=TEAM, secret=SECRET)
    assert scan_for(factory, "a@b.c") == [] and scan_for(factory, "not an email") == []


class _Client:
    """A WebClient stand-in that records users.info calls."""

    def __init__(self, users: dict[str, dict[str, Any]]) -> None:
        self.users, self.calls = users, 0

    def users_info(self, *, user: str) -> dict[str, Any]:
        self.calls += 1
        return {"ok": True, "user": self.users[user]}


def test_users_info_is_cached_per_person() -> None:
    now = [0.0]
    cache = UserEmails(size=2, ttl=60, clock=lambda: now[0])
    client = _Client({"U1": {"profile": {"email": "a@example.com"}}, "UB": {"is_bot": True, "profile": {}}})
    assert cache.email(client, "T1", "U1") == "a@example.com"  # type: ignore[arg-type]
    assert cache.email(client, "T1", "U1") == "a@example.com"  # type: ignore[arg-type]
    assert cache.email(client, "T1", "UB") is None  # type: ignore[arg-type]
    assert client.calls == 2
    now[0] = 61.0
    cache.email(client, "T1", "U1")  # type: ignore[arg-type]
    assert client.calls == 3
