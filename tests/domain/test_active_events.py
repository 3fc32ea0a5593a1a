"""``retention.active_events`` as text (bot.domain.active_events): the syntax, its canonical form,
the errors, and how a product's event names split into counted and not counted."""

from __future__ import annotations

import pytest

from bot.domain.active_events import (
    ActiveEventsError,
    EventCount,
    active_events_report,
    parse_active_events,
    top_event_lines,
)
from bot.domain.default_rules import custom_settings
from bot.domain.settings import ProductSettings, SettingError


@pytest.mark.parametrize("raw, canonical", [
    ("default", "default"), ("", "default"), ("ALL", "default"),
    ("exclude:email_opened,notification_sent", "exclude:email_opened,notification_sent"),
    ("Exclude: notification_sent , email_opened,email_opened", "exclude:email_opened,notification_sent"),
    ("include=login;export", "include:export,login"),
    ("include login", "include:login"),
])
def test_values_read_and_stored_canonically(raw: str, canonical: str) -> None:
    assert parse_active_events(raw).canonical() == canonical
    assert ProductSettings().with_value("retention.active_events", raw).retention.active_events == canonical


@pytest.mark.parametrize("raw, words", [
    ("email_opened", "include: or exclude:"), ("exclude:", "Name at least one event"),
    ("only:login", "include: or exclude:"), ("exclude:" + "x" * 201, "at most 200"),
    ("exclude:" + ",".join(f"e{i}" for i in range(51)), "at most 50"),
])
def test_bad_values_say_how_to_write_one(raw: str, words: str) -> None:
    with pytest.raises(ActiveEventsError, match=words):
        parse_active_events(raw)
    with pytest.raises(SettingError, match=words):
        ProductSettings().with_value("retention.active_events", raw)


def test_a_non_default_list_is_a_custom_rule_and_the_defaults_drop_it() -> None:
    s = ProductSettings().with_value("retention.active_events", "exclude:email_opened")
    assert [(c.key, c.value, c.default) for c in custom_settings(s)] == [
        ("retention.active_events", "exclude:email_opened", "default")]
    assert s.with_default_rules().retention.active_events == "default"
    assert ProductSettings.from_dict(s.to_dict()) == s
    assert custom_settings(s.with_value("retention.active_events", "default")) == ()


def test_names_split_into_counted_and_not() -> None:
    names = [EventCount("login", 40), EventCount("email_opened", 90), EventCount("export", 40)]
    report = active_events_report(parse_active_events("exclude:email_opened,push"), names)
    assert [c.event for c in report.counted] == ["export", "login"]  # most first, then by name
    assert [c.event for c in report.excluded] == ["email_opened"]
    assert report.note == "No imported event is named push"
    assert top_event_lines(report, top=2) == ["email_opened: 90 user-weeks (not counted)",
                                              "export: 40 user-weeks", "… and 1 more event names",
                                              "No imported event is named push"]
    include = active_events_report(parse_active_events("include:login"), names)
    assert [c.event for c in include.counted] == ["login"]
    nothing = active_events_report(parse_active_events("include:login"), [])
    assert not nothing.applies and nothing.note is not None and "cannot apply" in nothing.note
    assert active_events_report(parse_active_events("default"), []).applies
