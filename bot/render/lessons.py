"""The survey's lessons in words, shared by the App Home (one compact mrkdwn section) and
``pmfbot survey lessons`` (plain text): who loves it most, what the very disappointed love, what
holds back the somewhat disappointed who share that love. The survey results post has its own,
longer form (``bot.surveys.blocks``)."""

from __future__ import annotations

from typing import Any

from bot.domain.lessons import Lessons, Phrase, PhraseList
from bot.render.blocks import _context, _header, _message, _section, escape

LOVE_TITLE = "What the very disappointed love (their main benefit)"
HOLD_TITLE = "What holds the somewhat disappointed back (what would improve it)"


def _short(pl: PhraseList, top: int = 3) -> str:
    if not pl.phrases:
        return escape(pl.message)
    return ", ".join(f"{_name(p)} ({p.count})" for p in pl.phrases[:top])


def _name(p: Phrase) -> str:
    """A phrase with those merged into it (one quote backs them all): "weekly digest / status meeting"."""
    return " / ".join(escape(x) for x in (p.phrase, *p.also))


def lessons_summary(lessons: Lessons) -> str:
    """Three short mrkdwn lines (App Home): phrases with their counts, no quotes."""
    return "\n".join([
        f":heart: *Who loves it most:* {escape(lessons.segment.message)}",
        f":sparkles: *They love:* {_short(lessons.love)}",
        f":construction: *Holds others back:* {_short(lessons.hold_back)}",
    ])


def _list_text(title: str, pl: PhraseList) -> list[str]:
    out = [f"{title}: {pl.message}"]
    for p in pl.phrases:
        said = f' — "{p.quote}"' if p.quote else ""
        out.append(f"  • {' / '.join((p.phrase, *p.also))} ({p.count} answer{'s' if p.count != 1 else ''}){said}")
    return out


def _phrases_mrkdwn(title: str, pl: PhraseList) -> str:
    if not pl.phrases:
        return f"*{title}:* {escape(pl.message)}"
    lines = [f"*{title}* — {escape(pl.message)}"]
    for p in pl.phrases:
        said = f": \u201c{escape(p.quote)}\u201d" if p.quote else ""
        lines.append(f"• *{_name(p)}* ({p.count} answer{'s' if p.count != 1 else ''}){said}")
    return "\n".join(lines)


def lessons_message(lessons: Lessons, *, product_name: str, as_of: str) -> dict[str, Any]:
    """``/pmf-check lessons``: the same lessons as ``pmfbot survey lessons``, in Block Kit."""
    r = lessons.respondents
    head = f"{product_name} · the survey's lessons"
    return _message(f"{head} as of {as_of}", [
        _header(head),
        _context(f"As of {as_of} · {r.total} respondents in the survey window ({r.very} very, {r.somewhat} "
                 f"somewhat, {r.not_} not disappointed, {r.na} N/A)"
                 + (" · anonymous answers included" if lessons.anonymous else "")),
        _section(f":heart: *Who loves it most:* {escape(lessons.segment.message)}"),
        _section(_phrases_mrkdwn(LOVE_TITLE, lessons.love)),
        _section(_phrases_mrkdwn(HOLD_TITLE, lessons.hold_back)),
    ])


def lessons_text(lessons: Lessons, *, product_name: str, as_of: str) -> str:
    """``pmfbot survey lessons`` without ``--json``."""
    r = lessons.respondents
    lines = [f"{product_name} · the survey's lessons as of {as_of}",
             f"{r.total} respondents in the survey window ({r.very} very, {r.somewhat} somewhat, "
             f"{r.not_} not disappointed, {r.na} N/A)" + (" · anonymous answers included" if lessons.anonymous else ""),
             "", f"Who loves it most: {lessons.segment.message}", ""]
    lines += _list_text(LOVE_TITLE, lessons.love)
    lines.append("")
    lines += _list_text(HOLD_TITLE, lessons.hold_back)
    return "\n".join(lines)
