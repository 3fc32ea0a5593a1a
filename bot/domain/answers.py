"""The survey's four answers (SPEC §5): their exact labels, and how a typed reply is read back
into one. Pure text, no statistics (those are in ``bot.domain.survey``)."""

from __future__ import annotations

import re

from bot.domain.types import Answer


def answer_label(answer: Answer, product: str) -> str:
    """The exact text of an answer, as shown to respondents (SPEC §5)."""
    labels: dict[Answer, str] = {
        "very": "Very disappointed",
        "somewhat": "Somewhat disappointed",
        "not": "Not disappointed",
        "na": f"N/A \u2014 I no longer use {product}",
    }
    return labels[answer]


_WORDS: dict[str, Answer] = {
    "1": "very",
    "2": "somewhat",
    "3": "not",
    "4": "na",
    "very": "very",
    "very disappointed": "very",
    "somewhat": "somewhat",
    "somewhat disappointed": "somewhat",
    "not": "not",
    "not disappointed": "not",
    "n/a": "na",
    "na": "na",
}
# The N/A label with any product name after it, once dashes are unified to "-".
_NA_LABEL = re.compile(r"^n/?a\s*-\s*i no longer use\s+\S.*$")
# Whitespace, ASCII punctuation and typographic quotes around an answer are not part of it.
_SURROUND = " \t\r\n" + "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + "\u2018\u2019\u201c\u201d\u00ab\u00bb"
_DASHES = re.compile("[\u2010-\u2015\u2212]")


def parse_answer(text: str) -> Answer | None:
    """Read a typed reply as an answer, or None when it is not exactly one of them.

    Accepts the numbers 1-4, the first words ("very", "somewhat", "not", "n/a", "na"), the two
    word forms ("very disappointed" ...) and the full labels, in any case, with surrounding
    whitespace, punctuation or quotes, and an em dash, en dash or hyphen in the N/A label with any
    product name. Only whole replies match: "very useful" or a sentence is None, so free text
    in a survey thread is never mistaken for an answer.
    """
    s = _DASHES.sub("-", text.lower()).strip(_SURROUND)
    s = " ".join(s.split())
    if s in _WORDS:
        return _WORDS[s]
    if _NA_LABEL.match(s):
        return "na"
    return None
