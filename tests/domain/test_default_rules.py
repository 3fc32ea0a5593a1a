"""Custom rules never hide (SPEC §5): which settings are custom, which signals they can move, the
one line every surface shows when the verdicts differ, and the report carrying the default-rules
gate through the snapshot codec unchanged."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.digests.codec import decode_report, encode_report
from bot.domain import default_rules as dr
from bot.domain.settings import DEFAULT_CHANNEL_MAP, ProductSettings
from bot.domain.types import CustomSetting, DefaultRulesGate
from tests.render.conftest import make_report


def _settings(**changes: str) -> ProductSettings:
    s = ProductSettings()
    for key, value in changes.items():
        s = s.with_value(key.replace("__", "."), value)
    return s


def test_defaults_and_the_time_zone_alone_are_no_custom_rules() -> None:
    assert dr.custom_settings(ProductSettings()) == ()
    assert dr.custom_settings(_settings(timezone="Europe/Berlin")) == ()  # where weeks start, not a rule
    berlin = _settings(timezone="Europe/Berlin", survey__threshold="0.3")
    assert dr.default_settings(berlin) == ProductSettings(timezone="Europe/Berlin")


@pytest.mark.parametrize("changes, expected, signals", [
    ({"survey__threshold": "0.3"}, [("survey.threshold", 0.3, ProductSettings().survey.threshold)], {"survey"}),
    ({"retention__drift_ratio": "0"}, [("retention.drift_ratio", 0.0, ProductSettings().retention.drift_ratio)],
     {"retention"}),
    ({"channel__tiktok_ads": "organic"}, [("channel.tiktok_ads", "organic", None)], {"organic"}),
    ({"channel__seo": "paid", "organic__min_share": "0.4", "retention__min_weeks": "5"},
     [("retention.min_weeks", 5, ProductSettings().retention.min_weeks),
      ("organic.min_share", 0.4, ProductSettings().organic.min_share),
      ("channel.seo", "paid", DEFAULT_CHANNEL_MAP["seo"])], {"retention", "organic"}),
])
def test_custom_settings_name_value_default_and_the_signals_they_move(changes, expected, signals) -> None:
    custom = dr.custom_settings(_settings(**changes))
    assert [(c.key, c.value, c.default) for c in custom] == expected
    assert dr.affected_signals(custom) == frozenset(signals)


def test_a_key_of_no_known_group_could_move_every_signal() -> None:
    assert dr.signal_of("gate.something") == frozenset(dr.SIGNALS)


def _custom(report, verdict, **statuses):  # type: ignore[no-untyped-def]
    base = {"retention": report.retention.status, "organic": report.organic.status, "survey": report.survey.status}
    base.update(statuses)
    custom = (CustomSetting("survey.threshold", 0.3, 0.4), CustomSetting("channel.tiktok_ads", "organic", None))
    return replace(report, default_rules=DefaultRulesGate(verdict, base["retention"], base["organic"], base["survey"],
                                                          custom))


def test_the_line_names_both_verdicts_what_moved_and_the_way_back() -> None:
    report = replace(make_report(), verdict="ready")
    report = replace(report, survey=replace(report.survey, status="pass"))
    moved = _custom(report, "not_ready", survey="fail")
    assert dr.default_rules_line(moved) == (
        "Ready to scale with your custom rules; with the default rules: Not ready to scale — survey reads fail "
        "under the defaults, pass under survey.threshold 0.3 (default 0.4). To judge by the defaults again: "
        "`/pmf-check config survey.threshold 0.4`.")
    assert dr.default_rules_short(moved) == "with the default rules: Not ready to scale"
    assert dr.same_verdict_note(moved) is None


def test_same_verdict_under_custom_rules_says_so_and_no_line() -> None:
    report = make_report()
    same = _custom(report, report.verdict)
    assert dr.default_rules_line(same) is None and dr.default_rules_short(same) is None
    assert dr.same_verdict_note(same) == "The default rules give the same verdict."
    assert dr.default_rules_line(report) is None and dr.same_verdict_note(report) is None  # all defaults


def test_a_channel_without_a_default_is_reset_to_unknown() -> None:
    assert dr.reset_command(CustomSetting("channel.tiktok_ads", "organic", None)) == \
        "/pmf-check config channel.tiktok_ads unknown"


def test_the_default_rules_gate_survives_the_snapshot_codec_and_shows_in_json() -> None:
    report = _custom(make_report(), "not_ready", survey="fail")
    back = decode_report(encode_report(report))
    assert back == report and back.default_rules == report.default_rules
    js = report.to_json({"survey.threshold": ("U1", "2026-11-25T10:30:00+00:00")})
    assert js["default_rules_verdict"] == "not_ready" and js["default_rules_signals"]["survey"] == "fail"
    assert js["custom_rules"][0] == {"key": "survey.threshold", "value": 0.3, "default": 0.4, "set_by": "U1",
                                     "set_at": "2026-11-25T10:30:00+00:00"}
    assert js["custom_rules"][1]["set_by"] is None  # no audit entry: nobody to name
    plain = make_report().to_json()
    assert (plain["default_rules_verdict"], plain["default_rules_signals"], plain["custom_rules"]) == (None, None, [])
