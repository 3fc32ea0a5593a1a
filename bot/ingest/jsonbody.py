"""What a JSON body sent to the ingest and Segment-compatible APIs may hold, checked once for both.

``loads`` reads standard JSON only: ``NaN``, ``Infinity`` and numbers too large for a float
(``1e400``) are refused instead of becoming ``nan``/``inf`` users or times, and a body nested
past Python's recursion limit is refused instead of raising ``RecursionError``. ``problems``
then walks the parsed value without recursion and names, by path (``batch[3].context.campaign
.source``), every string or key that no database stores as text — a NUL anywhere, a lone
surrogate (``"\\ud800"`` is valid JSON but not Unicode) — and anything nested deeper than
``MAX_DEPTH``. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32  # Segment messages nest a few levels (context.campaign.source); deeper is not data
MAX_PROBLEMS = 50


class BodyError(ValueError):
    """A body that is not standard, storable JSON; ``str(err)`` says why."""


def _constant(name: str) -> Any:
    raise BodyError(f"the body is not standard JSON: {name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyError(f"the body is not standard JSON: the number {text[:40]} is too large")
    return value


def loads(raw: bytes | str) -> Any:
    """The body as JSON (empty: ``None``), or ``BodyError`` saying what is wrong with it."""
    if not raw:
        return None
    try:
        return json.loads(raw, parse_constant=_constant, parse_float=_float)
    except BodyError:
        raise
    except RecursionError:
        raise BodyError(f"the body nests deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise BodyError("the body is not UTF-8 text") from None
    except ValueError as err:  # json.JSONDecodeError, or an integer of more than 4,300 digits
        raise BodyError(f"the body is not valid JSON: {err}") from None


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text (PostgreSQL refuses both; SQLite would keep them), or None."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


def _key(path: str, key: str) -> str:
    shown = json.dumps(key)[1:-1]  # ASCII, escaped: a path is safe to echo and to log
    shown = shown if len(shown) <= 40 else shown[:40] + "…"
    return f"{path}.{shown}" if path else shown


def problems(value: Any, root: str = "") -> list[dict[str, str]]:
    """Every string, key or nesting of ``value`` that cannot be taken, as ``{"path", "message"}``
    (at most ``MAX_PROBLEMS``), in document order."""
    found: list[dict[str, str]] = []
    stack: list[tuple[str, Any, int]] = [(root, value, 0)]
    while stack and len(found) < MAX_PROBLEMS:
        path, item, depth = stack.pop()
        if isinstance(item, str):
            if (why := text_problem(item)) is not None:
                found.append({"path": path, "message": f"the value {why}"})
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_DEPTH:
            found.append({"path": path, "message": f"nests deeper than {MAX_DEPTH} levels"})
            continue
        children: list[tuple[str, Any, int]] = []
        if isinstance(item, dict):
            for k, v in item.items():
                here = _key(path, k)
                if (why := text_problem(k)) is not None:
                    found.append({"path": here, "message": f"the key {why}"})
                    continue
                children.append((here, v, depth + 1))
        else:
            children = [(f"{path}[{n}]", v, depth + 1) for n, v in enumerate(item)]
        stack.extend(reversed(children))
    return found[:MAX_PROBLEMS]
