"""Slack's Block Kit limits, kept in one place, and the checker every builder is tested against.

Slack rejects a whole payload (``invalid_blocks``) when one block breaks a limit, and plain dicts
are not validated by slack_sdk, so the builders in ``blocks.py`` truncate with ``truncate`` and
the tests run ``validate_message`` / ``validate_blocks`` on everything they produce. The checker
covers the block and element types PMF Gate uses (header, section, context, actions, divider,
image, buttons); other types only get the generic checks (block_id, action_id).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Blocks per surface.
MAX_BLOCKS: Mapping[str, int] = {"message": 50, "modal": 100, "home": 100}

SECTION_TEXT = 3000
SECTION_FIELD_TEXT = 2000
SECTION_FIELDS = 10
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 3000
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
ACTION_ID = 255
BLOCK_ID = 255
IMAGE_URL = 3000
IMAGE_ALT_TEXT = 2000
IMAGE_TITLE = 2000
# chat.postMessage truncates the top-level ``text`` beyond this (Slack recommends staying far
# below it; our fallbacks are a few hundred characters).
FALLBACK_TEXT = 40_000

ELLIPSIS = "…"

_TEXT_TYPES = ("plain_text", "mrkdwn")
_BUTTON_STYLES = ("primary", "danger")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when it was cut.

    A cut never leaves half of an HTML entity (``&amp;``, ``&lt;``, ``&gt;``) that Slack
    escaping produced, so escaped text stays valid.
    """
    if limit < 1:
        raise ValueError(f"truncate limit must be at least 1 (got {limit})")
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS)]
    amp = head.rfind("&", max(0, len(head) - 4))
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head.rstrip() + ELLIPSIS


def validate_message(message: Mapping[str, Any], *, surface: str = "message") -> None:
    """Check a ``{"text": ..., "blocks": [...]}`` payload: fallback text present and within
    limits, then every block (see ``validate_blocks``)."""
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("message: top-level fallback `text` is missing or empty")
    if len(text) > FALLBACK_TEXT:
        raise ValueError(f"message: fallback text is {len(text)} chars, limit {FALLBACK_TEXT}")
    validate_blocks(list(message.get("blocks", [])), surface=surface)


def validate_view(view: Mapping[str, Any]) -> None:
    """Check a Home tab or modal view dict."""
    kind = view.get("type")
    if kind not in ("home", "modal"):
        raise ValueError(f"view: type must be home or modal (got {kind!r})")
    validate_blocks(list(view.get("blocks", [])), surface=str(kind))


def validate_blocks(blocks: list[dict[str, Any]], *, surface: str = "message") -> None:
    """Raise ``ValueError`` naming the first Block Kit limit ``blocks`` break on ``surface``
    (``message``, ``modal`` or ``home``)."""
    if surface not in MAX_BLOCKS:
        raise ValueError(f"unknown surface {surface!r}; expected one of {', '.join(MAX_BLOCKS)}")
    if not isinstance(blocks, list):
        raise ValueError("blocks must be a list")
    if len(blocks) > MAX_BLOCKS[surface]:
        raise ValueError(
            f"{len(blocks)} blocks, a {surface} allows at most {MAX_BLOCKS[surface]}"
        )
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise ValueError(f"blocks[{i}]: not a block (a dict with a `type`)")
        where = f"blocks[{i}] ({block['type']})"
        block_id = block.get("block_id")
        if block_id is not None:
            _check_len(where, "block_id", block_id, BLOCK_ID)
            if block_id in seen_ids:
                raise ValueError(f"{where}: duplicate block_id {block_id!r}")
            seen_ids.add(block_id)
        _CHECKS.get(block["type"], _check_other)(where, block)


# --------------------------------------------------------------------------- per block type


def _check_header(where: str, block: dict[str, Any]) -> None:
    _check_text(where, "text", block.get("text"), HEADER_TEXT, plain_only=True)


def _check_section(where: str, block: dict[str, Any]) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        raise ValueError(f"{where}: needs `text` or `fields`")
    if text is not None:
        _check_text(where, "text", text, SECTION_TEXT)
    if fields is not None:
        if len(fields) > SECTION_FIELDS:
            raise ValueError(f"{where}: {len(fields)} fields, limit {SECTION_FIELDS}")
        for j, field in enumerate(fields):
            _check_text(where, f"fields[{j}]", field, SECTION_FIELD_TEXT)
    if "accessory" in block:
        _check_element(f"{where} accessory", block["accessory"])


def _check_context(where: str, block: dict[str, Any]) -> None:
    elements = block.get("elements") or []
    if not elements:
        raise ValueError(f"{where}: needs at least one element")
    if len(elements) > CONTEXT_ELEMENTS:
        raise ValueError(f"{where}: {len(elements)} elements, limit {CONTEXT_ELEMENTS}")
    for j, element in enumerate(elements):
        if isinstance(element, dict) and element.get("type") in _TEXT_TYPES:
            _check_text(where, f"elements[{j}]", element, CONTEXT_TEXT)
        elif isinstance(element, dict) and element.get("type") == "image":
            _check_len(where, f"elements[{j}].alt_text", element.get("alt_text", ""), IMAGE_ALT_TEXT, min_len=1)
        else:
            raise ValueError(f"{where}: elements[{j}] must be a text object or an image")


def _check_actions(where: str, block: dict[str, Any]) -> None:
    elements = block.get("elements") or []
    if not elements:
        raise ValueError(f"{where}: needs at least one element")
    if len(elements) > ACTIONS_ELEMENTS:
        raise ValueError(f"{where}: {len(elements)} elements, limit {ACTIONS_ELEMENTS}")
    action_ids: set[str] = set()
    for j, element in enumerate(elements):
        _check_element(f"{where} elements[{j}]", element)
        action_id = element.get("action_id")
        if action_id is not None:
            if action_id in action_ids:
                raise ValueError(f"{where}: duplicate action_id {action_id!r} in one block")
            action_ids.add(action_id)


def _check_image(where: str, block: dict[str, Any]) -> None:
    if "image_url" in block:
        _check_len(where, "image_url", block["image_url"], IMAGE_URL, min_len=1)
    elif "slack_file" not in block:
        raise ValueError(f"{where}: needs `image_url` or `slack_file`")
    _check_len(where, "alt_text", block.get("alt_text", ""), IMAGE_ALT_TEXT, min_len=1)
    if "title" in block:
        _check_text(where, "title", block["title"], IMAGE_TITLE, plain_only=True)


def _check_divider(where: str, block: dict[str, Any]) -> None:
    return None


def _check_other(where: str, block: dict[str, Any]) -> None:
    for j, element in enumerate(block.get("elements") or []):
        if isinstance(element, dict) and "action_id" in element:
            _check_len(f"{where} elements[{j}]", "action_id", element["action_id"], ACTION_ID)


_CHECKS = {
    "header": _check_header,
    "section": _check_section,
    "context": _check_context,
    "actions": _check_actions,
    "image": _check_image,
    "divider": _check_divider,
}


# --------------------------------------------------------------------------- elements, text


def _check_element(where: str, element: Any) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        raise ValueError(f"{where}: not an element (a dict with a `type`)")
    if "action_id" in element:
        _check_len(where, "action_id", element["action_id"], ACTION_ID, min_len=1)
    if element["type"] != "button":
        return
    _check_text(where, "text", element.get("text"), BUTTON_TEXT, plain_only=True)
    if "value" in element:
        _check_len(where, "value", element["value"], BUTTON_VALUE)
    if "url" in element:
        _check_len(where, "url", element["url"], BUTTON_URL, min_len=1)
    if "style" in element and element["style"] not in _BUTTON_STYLES:
        raise ValueError(f"{where}: button style must be primary or danger (got {element['style']!r})")


def _check_text(
    where: str, name: str, obj: Any, limit: int, *, plain_only: bool = False
) -> None:
    allowed = ("plain_text",) if plain_only else _TEXT_TYPES
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        raise ValueError(f"{where}: {name} must be a {' or '.join(allowed)} text object")
    _check_len(where, f"{name}.text", obj.get("text"), limit, min_len=1)


def _check_len(where: str, name: str, value: Any, limit: int, *, min_len: int = 0) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{where}: {name} must be a string")
    if len(value) > limit:
        raise ValueError(f"{where}: {name} is {len(value)} chars, limit {limit}")
    if len(value) < min_len:
        raise ValueError(f"{where}: {name} is empty")
