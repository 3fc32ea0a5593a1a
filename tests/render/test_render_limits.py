"""The Block Kit limit checker and ``truncate``: every limit is named when broken."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.render import limits
from bot.render.limits import truncate, validate_blocks, validate_message, validate_view


def section(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str = "Go", action_id: str = "pmf.test", value: str = "acme") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id,
            "value": value}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


# --------------------------------------------------------------------------- truncate


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("abcdefghijkl", 5, "abcd…"),
        ("word and more words", 9, "word and…"),
        ("Tom &amp; Jerry", 8, "Tom…"),  # never half an entity
        ("x", 1, "x"),
        ("xy", 1, "…"),
    ],
)
def test_truncate_cuts_with_an_ellipsis_within_the_limit(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= limit


def test_truncate_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        truncate("abc", 0)


# --------------------------------------------------------------------------- validate_blocks

VALID: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "PMF Gate"}},
    section("*Verdict*", block_id="pmf.verdict"),
    {"type": "divider"},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "footer"}]},
    actions(button(), button(action_id="pmf.other")),
    {"type": "image", "image_url": "https://example.com/c.png", "alt_text": "chart"},
]


def test_valid_blocks_pass_on_every_surface() -> None:
    for surface in ("message", "modal", "home"):
        validate_blocks(VALID, surface=surface)
    validate_message({"text": "fallback", "blocks": VALID})
    validate_view({"type": "home", "blocks": VALID})


@pytest.mark.parametrize(
    ("blocks", "surface", "message"),
    [
        ([section()] * 51, "message", "51 blocks, a message allows at most 50"),
        ([section()] * 101, "home", "101 blocks, a home allows at most 100"),
        ([section("x" * 3001)], "message", "text.text is 3001 chars, limit 3000"),
        ([section("")], "message", "text.text is empty"),
        ([{"type": "section"}], "message", "needs `text` or `fields`"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "message", "11 fields"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "message", "limit 150"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "message", "plain_text"),
        ([actions(button(text="b" * 76))], "message", "limit 75"),
        ([actions(button(value="v" * 2001))], "message", "value is 2001 chars"),
        ([actions(button(action_id="a" * 256))], "message", "action_id is 256 chars"),
        ([actions(*[button(action_id=f"a{i}") for i in range(26)])], "message", "26 elements, limit 25"),
        ([actions(button(), button())], "message", "duplicate action_id"),
        ([actions()], "message", "at least one element"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "message", "limit 10"),
        ([section(block_id="b" * 256)], "message", "block_id is 256 chars"),
        ([section(block_id="same"), section(block_id="same")], "message", "duplicate block_id"),
        ([{"type": "image", "image_url": "https://x/y.png", "alt_text": ""}], "message", "alt_text is empty"),
        ([{"type": "image", "alt_text": "chart"}], "message", "image_url"),
        ([section()], "sidebar", "unknown surface"),
        (["not a block"], "message", "not a block"),
    ],
)
def test_each_broken_limit_is_named(blocks: list[dict[str, Any]], surface: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_blocks(blocks, surface=surface)


def test_a_message_needs_fallback_text_within_the_limit() -> None:
    with pytest.raises(ValueError, match="fallback"):
        validate_message({"blocks": VALID})
    with pytest.raises(ValueError, match="fallback text is 40001 chars"):
        validate_message({"text": "x" * (limits.FALLBACK_TEXT + 1), "blocks": []})


def test_limits_match_slack_documentation() -> None:
    assert limits.MAX_BLOCKS == {"message": 50, "modal": 100, "home": 100}
    assert (limits.SECTION_TEXT, limits.HEADER_TEXT, limits.BUTTON_TEXT) == (3000, 150, 75)
    assert (limits.BUTTON_VALUE, limits.ACTION_ID, limits.BLOCK_ID) == (2000, 255, 255)
    assert (limits.ACTIONS_ELEMENTS, limits.CONTEXT_ELEMENTS) == (25, 10)
