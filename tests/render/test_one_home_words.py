"""The verdict's and the statuses' words have one home, bot/domain/gate.py (issue 21 "one fact,
one place"): change a word there and the Slack report, the CLI text, the digest, the history,
App Home and the default-rules line all say the new word; and no other module writes them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.digests.blocks import digest_message
from bot.domain import gate
from bot.domain.default_rules import default_rules_line
from bot.domain.types import CustomSetting, DefaultRulesGate, GateReport, Verdict
from bot.domain.weeks import week_of_date
from bot.history.blocks import history_message, history_text
from bot.history.values import History, HistoryWeek
from bot.home.blocks import home_view
from bot.render import blocks, text
from bot.reports.blocks import gate_report_message
from tests.domain.test_gate import AS_OF, report
from tests.literals import modules_saying

NEW_WORDS: dict[Verdict, str] = {"ready": "Go ahead and grow", "not_ready": "Hold the budget", "unclear": "Wait and measure"}


def _surfaces(r: GateReport) -> dict[str, str]:
    history = History(product="acme", product_name="Acme", weeks=(HistoryWeek(week_of_date(AS_OF) - 1, r),))
    both = replace(r, default_rules=DefaultRulesGate("unclear", r.retention.status, r.organic.status, "borderline",
                                                     (CustomSetting("survey.threshold", 0.3, 0.4),)))
    return {
        "slack report": json.dumps(gate_report_message(r), ensure_ascii=False),
        "cli": text.report_text(r),
        "digest": json.dumps(digest_message(r, previous=None), ensure_ascii=False),
        "history": history_text(history) + json.dumps(history_message(history), ensure_ascii=False),
        "app home": json.dumps(home_view([(r, "acme", "Acme")], subscriptions=[], open_surveys=[]),
                               ensure_ascii=False),
        "default-rules line": default_rules_line(both) or "",
    }


def test_every_surface_says_the_verdict_in_the_words_of_the_one_home(monkeypatch: pytest.MonkeyPatch) -> None:
    r = report("pass", "pass", "pass")
    assert r.verdict == "ready"
    for surface, shown in _surfaces(r).items():
        assert gate.VERDICT_TEXT["ready"] in shown, surface
    for verdict, words in NEW_WORDS.items():
        monkeypatch.setitem(gate.VERDICT_TEXT, verdict, words)
    for surface, shown in _surfaces(r).items():
        assert NEW_WORDS["ready"] in shown, surface
        assert "Ready to scale" not in shown, surface
    assert "with the default rules: Wait and measure" in _surfaces(r)["default-rules line"]


def test_a_signal_label_is_the_one_home_status_label(monkeypatch: pytest.MonkeyPatch) -> None:
    r = report("pass", "borderline", "pass")
    monkeypatch.setitem(gate.STATUS_LABEL, "borderline", "on the fence")
    assert "Organic · on the fence" in json.dumps(gate_report_message(r), ensure_ascii=False)
    assert blocks.STATUS_LABEL is gate.STATUS_LABEL and blocks.VERDICT_TEXT is gate.VERDICT_TEXT


def test_the_status_words_derive_from_one_table() -> None:
    assert text.STATUS_MARK == {s: w.upper() for s, w in gate.STATUS_WORD.items()}
    assert gate.STATUS_LABEL == {**gate.STATUS_WORD, "insufficient_data": "not enough data yet"}


@pytest.mark.parametrize("phrase", [*gate.VERDICT_TEXT.values(), gate.STATUS_WORD["insufficient_data"]])
def test_the_words_are_written_in_one_module(phrase: str) -> None:
    assert modules_saying(phrase) == {"bot/domain/gate.py"}
