"""Retention's n on every surface is what the level rests on (issue 21, item 4): the judged tail's
users and cohorts, with the total as context; checked against the cohort table itself."""

from __future__ import annotations

from bot.reports import service as reports
from tests.fakes.fixtures import AS_OF
from tests.fakes.slack_api import text_of


def _tail_words(session_factory, slug: str = "acme") -> tuple[str, int, int]:  # type: ignore[no-untyped-def]
    """("474 users in 3 cohorts; 6,340 in all", tail users, tail cohorts), from the cohort table."""
    report = reports.gate_report(session_factory, product_slug=slug, team_id="T1", as_of=AS_OF)
    table, _, _ = reports.cohort_table(session_factory, product_slug=slug, team_id="T1", as_of=AS_OF)
    r = report.retention
    assert r.plateau_level is not None and r.tail_cohorts, "the demo sample has a judged tail"
    sizes = {c.week: c.size for c in table.cohorts}
    tail_users = sum(sizes[w] for w in r.tail_cohorts)  # independent of the signal's own sum
    everyone = sum(sizes.values())
    assert tail_users < everyone
    n = len(r.tail_cohorts)
    return f"{tail_users:,} users in {n} cohort{'s' if n != 1 else ''}; {everyone:,} in all", tail_users, n


def test_the_slack_report_gives_the_tail_as_the_n(harness, seed_product, session_factory):  # type: ignore[no-untyped-def]
    seed_product("T1", "acme", "Acme")
    words, _, _ = _tail_words(session_factory)
    text = text_of(harness.pmf("status").reply())
    level = text.split("levels off at ", 1)[1].split(")")[0]
    assert words in level and "n=" not in level


def test_the_digest_chart_and_the_retention_chart_give_the_tail(seed_product, session_factory):  # type: ignore[no-untyped-def]
    from bot.digests.charts import _signal_rows
    from bot.reports.charts import _retention_subtitle

    seed_product("T1", "acme", "Acme")
    words, tail_users, cohorts = _tail_words(session_factory)
    report = reports.gate_report(session_factory, product_slug="acme", team_id="T1", as_of=AS_OF)
    assert _signal_rows(report, None)[0][2].endswith(words.split(";")[0])  # the panel is narrow: no total
    subtitle = _retention_subtitle(report.cohort_table, report.retention)  # type: ignore[arg-type]
    assert f"judged on {tail_users:,} users in {cohorts} cohorts" in subtitle
