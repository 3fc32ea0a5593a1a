"""Slack mrkdwn turned into plain text for the places that show text as it is: modal field
errors (``response_action: errors``) and ``plain_text`` objects. There a channel mention
``<#C0123|growth>`` would show as those characters, backticks as backticks; and a hard cut at
a length limit stops mid-word. Pure string work, no Slack imports."""

from __future__ import annotations

import re

_CHANNEL = re.compile(r"<#[CGD][A-Z0-9]+(?:\|([^>]*))?>")
_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|([^>]*))?>")
_LINK = re.compile(r"<(?:https?|mailto):[^|>]+\|([^>]*)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)>")
_EMPHASIS = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*\S)?)\*(?![\w*])")  # *bold*, not 2 * 3 * 4
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
ELLIPSIS = "…"


def channel_names(text: str, unnamed: str = "that channel") -> str:
    """``<#C0123|growth>`` -> ``#growth``; a mention without a name -> ``unnamed``."""
    return _CHANNEL.sub(lambda m: f"#{m.group(1)}" if m.group(1) else unnamed, text)


def to_plain(text: str, *, unnamed_channel: str = "that channel") -> str:
    """mrkdwn as plain text: mentions by name, links by their label, no code or bold markers."""
    text = channel_names(text, unnamed_channel)
    text = _USER.sub(lambda m: f"@{m.group(1)}" if m.group(1) else "someone", text)
    text = _LINK.sub(r"\1", text)
    text = _BARE_LINK.sub(r"\1", text)
    text = text.replace("```", "").replace("`", "")
    text = _EMPHASIS.sub(r"\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut after the last whole sentence that fits; when even the
    first sentence is too long, after the last whole word, with an ellipsis."""
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        candidate = f"{kept} {sentence}" if kept else sentence
        if len(candidate) > limit:
            break
        kept = candidate
    if kept:
        return kept
    cut = text[: limit - len(ELLIPSIS)]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:—-") + ELLIPSIS


def field_error(text: str, *, limit: int = 150, unnamed_channel: str = "that channel") -> str:
    """A modal field error: plain text, whole sentences, within ``limit``."""
    plain = to_plain(text, unnamed_channel=unnamed_channel)
    return shorten(plain[:1].upper() + plain[1:], limit)
