"""The paid vocabulary has one home, bot/domain/channels.py (issue 21 "one fact, one place"):
adding a paid medium there is one edit that changes both the default channel map (what
``config`` resets ``channel.NAME`` to) and classification; no other module lists paid names."""

from __future__ import annotations

import ast

import pytest

from bot import demo, demo_ready
from bot.domain import channels
from bot.domain.channels import classify_signup, classify_tags
from bot.domain.settings import DEFAULT_CHANNEL_MAP
from tests.literals import trees


def test_the_default_maps_paid_names_are_the_homes() -> None:
    paid = [name for name, cls in DEFAULT_CHANNEL_MAP.items() if cls == "paid"]
    assert paid == list(channels.DEFAULT_PAID_CHANNELS)
    assert set(channels.PAID_MEDIA) <= set(paid)
    assert not set(channels.PAID_MEDIA_ONLY) & set(paid)


def test_a_paid_medium_added_to_the_home_list_is_paid(monkeypatch: pytest.MonkeyPatch) -> None:
    assert classify_signup(None, "newsletter_weekly", "native", {}) == "unknown"
    monkeypatch.setattr(channels, "PAID_MEDIA", (*channels.PAID_MEDIA, "native"))
    assert classify_signup(None, "newsletter_weekly", "native", {}) == "paid"


def test_a_paid_word_added_to_the_home_list_is_paid_inside_any_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    assert classify_signup("promoted_tweet", None, None, {}) == "unknown"
    monkeypatch.setattr(channels, "PAID_WORDS", (*channels.PAID_WORDS, "promoted"))
    assert classify_signup("promoted_tweet", None, None, {}) == "paid"


@pytest.mark.parametrize("name", [*channels.PAID_MEDIA, *channels.PAID_MEDIA_ONLY])
def test_every_paid_medium_classifies_paid(name: str) -> None:
    assert classify_tags(None, "x", name, DEFAULT_CHANNEL_MAP).cls == "paid"
    assert classify_tags(None, "x", name, {}).cls == "paid"  # even under a map without it


def test_the_demos_share_one_list_of_channels_and_its_paid_ones_are_paid() -> None:
    assert demo.CHANNELS_PAID is demo_ready.CHANNELS_PAID
    assert demo.CHANNELS_ORGANIC is demo_ready.CHANNELS_ORGANIC
    assert {classify_signup(c, None, None, DEFAULT_CHANNEL_MAP) for c in demo_ready.CHANNELS_PAID} == {"paid"}


def test_no_other_domain_module_lists_a_paid_name() -> None:
    """settings.py (the default map) and the rest of the domain take the names from channels.py;
    "paid" itself is a class name everywhere and is left out. (The demos' sample channels are
    data, in bot/demo_ready.py only, and must classify paid: tested above.)"""
    names = (set(channels.DEFAULT_PAID_CHANNELS) | set(channels.PAID_WORDS) | set(channels.PAID_MEDIA_ONLY)) - {"paid"}
    found = {}
    for path, tree in trees().items():
        if path == "bot/domain/channels.py" or not path.startswith(("bot/domain/", "bot/demo.py")):
            continue
        hits = sorted({n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in names})
        if hits:
            found[path] = hits
    assert found == {}
