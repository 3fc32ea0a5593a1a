"""Number formatting shared by the summaries, warnings and next steps of the domain.

The signals explain themselves in one plain sentence each, and the sentences must agree on how a
share, an interval or a slope is written, so the small formatters live here. Output is plain text
(no Slack markup), with a real minus sign and an en dash for ranges, as in the SPEC's examples.
"""

from __future__ import annotations

from datetime import date

MINUS = "\u2212"  # a typographic minus: "-0.2" reads as a hyphen in proportional fonts
EN_DASH = "\u2013"


def count(n: int) -> str:
    """A whole number with thousands separators: 5230 -> "5,230"."""
    return f"{n:,}"


def _pct_number(x: float) -> str:
    # One decimal below 10% so that small but decisive levels (4.6% vs the 5% floor) stay visible.
    v = 100.0 * x
    text = f"{v:.1f}" if 0 < abs(v) < 9.95 else f"{v:.0f}"
    return text.replace("-", MINUS)


def pct(x: float) -> str:
    """A fraction as a percentage: 0.314 -> "31%", 0.046 -> "4.6%"."""
    return _pct_number(x) + "%"


def share_setting(x: float) -> str:
    """A threshold someone chose, without invented precision: 0.05 -> "5%", 0.125 -> "12.5%"."""
    return f"{round(100.0 * x, 4):g}%"


def pct_range(lo: float, hi: float) -> str:
    """An interval of fractions: (0.29, 0.33) -> "29–33%"."""
    return f"{_pct_number(lo)}{EN_DASH}{_pct_number(hi)}%"


def pts(x: float, *, signed: bool = True) -> str:
    """A change of a fraction in percentage points, one decimal: -0.002 -> "−0.2"."""
    v = round(100.0 * x, 1)
    if v == 0:
        v = 0.0  # avoid "−0.0"
    sign = MINUS if v < 0 else ("+" if signed and v > 0 else "")
    return f"{sign}{abs(v):.1f}"


def pts_range(lo: float, hi: float) -> str:
    """An interval of changes in points: "−0.6 to +0.2"."""
    return f"{pts(lo)} to {pts(hi)}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """A count with its noun: "1 week", "3 weeks", "1,200 users"."""
    return f"{count(n)} {word if n == 1 else (many or word + 's')}"


def week_span(offsets: tuple[int, ...]) -> str:
    """The tail offsets as "weeks 8–13 after signup" (or "week 8 after signup")."""
    if not offsets:
        return "no weeks"
    if len(offsets) == 1:
        return f"week {offsets[0]} after signup"
    return f"weeks {offsets[0]}{EN_DASH}{offsets[-1]} after signup"


def day(d: date) -> str:
    """A date as people write it: "2 Jun 2025"."""
    return f"{d.day} {d:%b %Y}"


def day_range(first: date, last: date) -> str:
    """Two dates as "2 Jun–30 Jun 2025" (the year once when both share it)."""
    if first == last:
        return day(first)
    if first.year == last.year:
        return f"{first.day} {first:%b}{EN_DASH}{day(last)}"
    return f"{day(first)}{EN_DASH}{day(last)}"
