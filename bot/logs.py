"""How every process writes its log: one line per record, whatever text a record carries.

Log records name user-provided text (a command's arguments in an error, a product slug, a
Segment ``userId``); a newline in it would start a new line that reads like a record of its own
(``CRITICAL …``), and control characters can rewrite a terminal. ``SafeFormatter`` escapes the
message of every record once, here, so no call site can forget: newlines, carriage returns,
other C0/C1 controls, DEL and Unicode line/paragraph separators become visible escapes (``\\n``,
``\\x1b``, ``\\u2028``). A traceback keeps its lines but each starts with ``| ``, so no line of it
can pass for a record either.
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CLI_FORMAT = "%(levelname)s %(name)s: %(message)s"
CONTINUATION = "| "
# C0 controls (tab included: it is how a forged line would be padded), DEL, C1 controls, and the
# Unicode separators some viewers break lines at.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    """``text`` on one line, its control characters written as escapes."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                             else f"\\u{ord(m.group()):04x}"), text)


class SafeFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose every output line is either a record's first line, with an
    escaped message, or a ``| ``-prefixed line of a traceback or stack."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = escape(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        out = self.formatMessage(record)
        # Not logging's cached ``exc_text``: another handler may have formatted it unmarked.
        trace = super().formatException(record.exc_info) if record.exc_info else record.exc_text
        if trace:
            out += "\n" + _continued(trace)
        if record.stack_info:
            out += "\n" + _continued(self.formatStack(record.stack_info))
        return out


def _continued(text: str) -> str:
    return "\n".join(CONTINUATION + escape(line) for line in text.splitlines())


def configure(level: int | str, fmt: str = FORMAT, *, force: bool = False) -> None:
    """``logging.basicConfig`` with ``SafeFormatter`` on the root logger's handlers."""
    logging.basicConfig(level=level, format=fmt, force=force)
    for handler in logging.getLogger().handlers:
        if not isinstance(handler.formatter, SafeFormatter):
            handler.setFormatter(SafeFormatter(fmt))
