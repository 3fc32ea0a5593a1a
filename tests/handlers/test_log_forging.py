"""Issue 19 row "logs": user-provided text cannot forge a log line (``bot.logs``).

The formatter the processes install (``bot.logs.configure``) is put on a handler of the root
logger; a ``/pmf-check`` argument with a newline and a fake record goes through the real Bolt
app; every line written must start as a real record does, and the forged text shows escaped."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot import logs
from tests.fakes.harness import Harness

RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.SafeFormatter(logs.FORMAT))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield out
    root.removeHandler(handler)
    root.setLevel(old)


def _check(text: str) -> list[str]:
    lines = text.splitlines()
    assert lines, "nothing was logged"
    for line in lines:
        assert RECORD.match(line) or line.startswith(logs.CONTINUATION), line
        assert not line.startswith("CRITICAL")
    return lines


@pytest.mark.parametrize("arg", ['config "x\nCRITICAL fake record" 1', 'product use "acme\r\nCRITICAL fake record"',
                                 'survey start "q\n\x1b[2KCRITICAL fake record"'])
def test_a_newline_in_a_command_argument_cannot_start_a_log_line(
        harness: Harness, log_lines: io.StringIO, seed_product: Callable[..., Any], arg: str) -> None:
    seed_product("T1", "acme", data=False)
    r = harness.pmf(arg)
    assert r.status == 200
    r.replies(1)
    harness.settle()
    lines = _check(log_lines.getvalue())
    # The text was logged (so the check above had something to catch), escaped on its line.
    forged = re.compile(r"\\n(\\x1b\[2K)?CRITICAL fake record", re.IGNORECASE)
    assert any(forged.search(line) for line in lines), log_lines.getvalue()


def test_a_traceback_carrying_user_text_keeps_every_line_marked(log_lines: io.StringIO) -> None:
    try:
        raise ValueError("bad slug 'x\nCRITICAL fake record'")
    except ValueError:
        logging.getLogger("bot.test").exception("failed on %r", "y\nCRITICAL other")
    lines = _check(log_lines.getvalue())
    assert lines[0].endswith("failed on 'y\\nCRITICAL other'")
    # The exception's own text keeps its line break, but its second line is marked as part of the trace.
    assert "| ValueError: bad slug 'x" in lines and "| CRITICAL fake record'" in lines


@pytest.mark.parametrize(("raw", "shown"), [("a\nb", "a\\nb"), ("a\rb", "a\\rb"), ("\x1b[31m", "\\x1b[31m"),
                                            ("a\u2028b", "a\\u2028b"), ("a\x85b", "a\\x85b"), ("tab\there", "tab\\there"),
                                            ("plain é ✓", "plain é ✓")])
def test_escape(raw: str, shown: str) -> None:
    assert logs.escape(raw) == shown
