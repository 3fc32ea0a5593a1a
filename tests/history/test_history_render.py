"""The trajectory chart and the history's Block Kit and text, on hand-built histories (no database)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.domain.weeks import week_of_date
from bot.history.blocks import history_message, history_text
from bot.history.charts import trajectory_chart
from bot.history.values import History, HistoryWeek
from bot.render.limits import validate_message
from tests.domain.test_gate import AS_OF, report

PNG = b"\x89PNG\r\n\x1a\n"


def _history(n: int = 10) -> History:
    weeks = []
    last = week_of_date(AS_OF) - 1
    for i in range(n):
        r = report("pass" if i > 3 else "borderline", "pass" if i > 5 else "fail", "pass" if i > 6 else "borderline")
        score = 0.25 + 0.035 * i  # 25% → 56%: the number to move
        r = dataclasses.replace(
            r, as_of=AS_OF - timedelta(weeks=n - 1 - i),
            survey=dataclasses.replace(r.survey, score=score, ci=(score - 0.08, score + 0.08), responses=40 + 12 * i),
            organic=dataclasses.replace(r.organic, organic_share=0.4 + 0.02 * i,
                                        organic_share_ci=(0.37 + 0.02 * i, 0.43 + 0.02 * i)))
        weeks.append(HistoryWeek(last - (n - 1 - i), r))
    return History(product="acme", product_name="Acme", weeks=tuple(weeks))


def test_the_trajectory_chart_is_deterministic_and_differs_with_the_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = _history()
    a, b = trajectory_chart(h), trajectory_chart(h)
    assert a.startswith(PNG) and a == b and len(a) > 20_000
    (tmp_path / "trajectory.png").write_bytes(a)
    assert trajectory_chart(_history(6)) != a


def test_an_empty_history_draws_a_chart_that_says_so() -> None:
    png = trajectory_chart(History(product="new", product_name="New", weeks=()))
    assert png.startswith(PNG) and png == trajectory_chart(History(product="new", product_name="New", weeks=()))


def test_a_week_without_any_figure_is_left_out_of_the_lines_not_drawn_as_zero() -> None:
    h = _history(3)
    blank = dataclasses.replace(h.weeks[0].report, survey=dataclasses.replace(
        h.weeks[0].report.survey, score=None, ci=None, status="insufficient_data"))
    h = dataclasses.replace(h, weeks=(dataclasses.replace(h.weeks[0], report=blank), *h.weeks[1:]))
    assert trajectory_chart(h).startswith(PNG)


def test_the_history_message_lists_the_newest_week_first_with_intervals_and_fits_slack() -> None:
    h = _history()
    msg = history_message(h, chart_note=":bar_chart: Trajectory chart: <https://x|in your DM>")
    validate_message(msg)
    text = "\n".join(b["text"]["text"] for b in msg["blocks"] if b["type"] == "section")
    lines = [ln for ln in text.splitlines() if ln.startswith(":")]
    assert "week of 2025-11-17" in lines[0] and text.index("2025-11-17") < text.index("2025-09-15")
    assert "score 56.5% (95% CI 48.5–64.5%), n=148" in text
    context = " ".join(e["text"] for b in msg["blocks"] if b["type"] == "context" for e in b["elements"])
    assert "Ellis score 25.0% → 56.5% (bar 40%)" in context and "<https://x|in your DM>" in context
    many = _history(60)
    validate_message(history_message(many))


def test_the_history_text_has_one_block_per_week_oldest_first() -> None:
    text = history_text(_history(2))
    assert text.splitlines()[0] == "Acme · PMF week by week"
    assert text.count("    survey    ") == 2
