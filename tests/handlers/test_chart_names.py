"""One name per chart (issue 21, item 8): the /pmf-check chart is "PMF signals" in the link, the
file's title and the image's own title."""

from __future__ import annotations

from bot.render.names import SIGNALS_CHART
from tests.fakes.slack_api import text_of


def test_the_pmf_check_chart_has_one_name(harness, fake_slack, seed_product, monkeypatch):  # type: ignore[no-untyped-def]
    import bot.digests.charts as charts

    names: list[str] = []
    original = charts.digest_chart

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        names.append(kwargs.get("name", "(the default)"))
        return original(*args, **kwargs)

    # bot.reports.cache imports digest_chart when it draws (matplotlib is imported lazily): the spy
    # goes where that import finds it.
    monkeypatch.setattr(charts, "digest_chart", spy)
    seed_product("T1", "acme", "Acme")
    reply = text_of(harness.pmf("status").reply(timeout=30))
    assert f"{SIGNALS_CHART} chart: <" in reply
    fake_slack.wait_for(lambda: any(f.get("title") for f in fake_slack.files.values()), what="the chart")
    titles = {f["title"] for f in fake_slack.files.values()}
    assert titles == {f"Acme · {SIGNALS_CHART} · 2026-11-23"}
    assert names == [SIGNALS_CHART]  # the image is drawn with that name in its title
