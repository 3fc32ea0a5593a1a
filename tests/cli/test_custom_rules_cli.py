"""Custom rules never hide (SPEC §5 "Gate verdict", §8 "Audit"), through the real CLI: the
audit's case — a manager sets ``retention.drift_ratio`` to 0 on a product whose newer users
retain worse than its first ones — and ``pmfbot check`` (text and JSON) and ``pmfbot history``
(text and JSON, and the trajectory chart) each disclose the custom rule and the verdict the
default rules give. The default-rules verdict is checked against the same commands run before
the change (the product on the defaults), not against hard-coded values."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.settings import RetentionSettings
from bot.domain.weeks import week_of_date
from bot.history.charts import trajectory_chart
from bot.history.service import cli_history
from bot.products.service import cli_product, update_setting
from storage.db import unit_of_work
from storage.models import AuditEntry
from tests.fakes.keen_product import write_keen_product

DRIFT = RetentionSettings().drift_ratio  # the default, as the reports show it
AS_OF = date(2026, 11, 23)  # a Monday
CHANGED_AT = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)  # two days after: after every week shown
LINE = ("Ready to scale with your custom rules; with the default rules: Not sure yet, so not yet — retention "
        f"reads borderline under the defaults, pass under retention.drift_ratio 0 (default {DRIFT:g}). To judge by the "
        f"defaults again: `/pmf-check config retention.drift_ratio {DRIFT:g}`.")


@pytest.fixture
def keen(run, tmp_path: Path):  # type: ignore[no-untyped-def]
    files = write_keen_product(tmp_path / "data", AS_OF)
    assert run("product", "create", "acme", "--name", "Acme")[0] == 0
    for kind in ("signups", "events", "responses"):
        code, _, err = run("import", kind, str(getattr(files, kind)), "--product", "acme")
        assert code == 0, err
    return files


def _set_drift_zero(factory: sessionmaker[Session]) -> None:
    """What ``/pmf-check config retention.drift_ratio 0`` by manager U0MGR does, dated CHANGED_AT."""
    with unit_of_work(factory) as s:
        update_setting(s, cli_product(s, "acme", None), "retention.drift_ratio", "0", actor="U0MGR")
        s.execute(update(AuditEntry).where(AuditEntry.key == "retention.drift_ratio").values(at=CHANGED_AT))


def _check(run, *extra: str) -> str:  # type: ignore[no-untyped-def]
    code, out, err = run("check", "--product", "acme", "--as-of", AS_OF.isoformat(), *extra)
    assert code == 0, err
    return str(out)


def test_drift_ratio_zero_is_disclosed_by_check_text_and_json(run, keen, session_factory) -> None:  # type: ignore[no-untyped-def]
    before = json.loads(_check(run, "--json"))
    before_text = _check(run)
    # On the defaults: newer users retain worse, so retention is held back; nothing custom.
    assert before["verdict"] == "unclear" and before["signals"]["retention"]["status"] == "borderline"
    assert (before["default_rules_verdict"], before["default_rules_signals"], before["custom_rules"]) == (None, None, [])
    assert "custom rules" not in before_text.lower()

    _set_drift_zero(session_factory)
    after = json.loads(_check(run, "--json"))
    text = _check(run)

    # The custom rule lets the same data read "ready" ...
    assert after["verdict"] == "ready" and after["signals"]["retention"]["status"] == "pass"
    # ... and the JSON says what the defaults give: exactly the report computed before the change.
    assert after["default_rules_verdict"] == before["verdict"]
    assert after["default_rules_signals"] == {k: v["status"] for k, v in before["signals"].items()}
    assert after["custom_rules"] == [{"key": "retention.drift_ratio", "value": 0.0, "default": DRIFT,
                                      "set_by": "U0MGR", "set_at": CHANGED_AT.isoformat()}]
    # The text: the verdict, then both verdicts with the way back, then who set the rule and when.
    lines = text.splitlines()
    assert lines[1] == "Verdict: Ready to scale"
    assert lines[2] == LINE
    assert lines[3] == f"Custom rules: retention.drift_ratio 0 (default {DRIFT:g}), set by U0MGR on 25 Nov"


def test_drift_ratio_zero_is_disclosed_by_history_text_json_and_chart(run, keen, session_factory) -> None:  # type: ignore[no-untyped-def]
    args = ("history", "--product", "acme", "--as-of", AS_OF.isoformat(), "--weeks", "3")
    code, out, err = run(*args, "--json")
    assert code == 0, err
    before = json.loads(out)
    assert before["custom_rules"] == [] and before["rule_changes"] == []
    assert all("default_rules_verdict" not in w for w in before["weeks"])

    _set_drift_zero(session_factory)
    code, out, err = run(*args, "--json")
    assert code == 0, err
    after = json.loads(out)
    code, text, err = run(*args)
    assert code == 0, err

    # Every week is recomputed with the custom rule (no stale snapshot), and where its verdict
    # differs, the week carries the verdict of the defaults: the one it had before the change.
    assert [w["week"] for w in after["weeks"]] == [w["week"] for w in before["weeks"]]
    differing = [(w, b) for w, b in zip(after["weeks"], before["weeks"], strict=True) if w["verdict"] != b["verdict"]]
    assert differing, "the custom rule changes no week's verdict: the case is not exercised"
    for w, b in zip(after["weeks"], before["weeks"], strict=True):
        assert w.get("default_rules_verdict") == (b["verdict"] if w["verdict"] != b["verdict"] else None)
    assert after["custom_rules"] == [{"key": "retention.drift_ratio", "value": 0.0, "default": DRIFT}]
    assert after["rule_changes"] == [{"week": "2026-11-23", "change": f"retention.drift_ratio: {DRIFT:g} → 0.0"}]

    assert (f"Every week is computed with your custom rules (retention.drift_ratio 0 (default {DRIFT:g})); with the "
            f"default rules the verdict reads otherwise in {len(differing)} of 3 weeks (marked).") in text
    assert (f"Rules changed in the week of 2026-11-23: retention.drift_ratio: {DRIFT:g} → 0.0 (after the weeks shown: "
            "every week here is computed with the new rules)") in text
    marked = [line for line in text.splitlines() if line.endswith("(with the default rules: Not sure yet, so not yet)")]
    assert len(marked) == len(differing)

    # The trajectory marks the change on its time axis: the chart differs from the same history
    # without it, and from one with the change placed at another week.
    h = cli_history(session_factory, product_slug="acme", weeks=3, as_of=AS_OF)
    assert h.rule_changes == ((week_of_date(CHANGED_AT.date()), f"retention.drift_ratio: {DRIFT:g} → 0.0"),)
    chart = trajectory_chart(h)
    assert chart != trajectory_chart(replace(h, rule_changes=()))
    assert chart != trajectory_chart(replace(h, rule_changes=((h.weeks[0].week, f"retention.drift_ratio: {DRIFT:g} → 0.0"),)))
