"""Benefit themes: the most frequent words and word pairs in the very-disappointed users' "main
benefit" answers. Pure."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# --------------------------------------------------------------------------- benefit themes

_STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing don done down during each else
    even ever every few for from further get gets getting got had has have having he her here
    hers him his how i i'd i'm i've if in into is isn it it's its itself just let lot lots me
    more most much my myself no nor not now of off on once one only or other our ours out over
    own really same she should so some such than that that's the their them then there these
    they thing things this those through to too under until up us use used uses using very
    via was we were what when where which while who whom why will with would you your yours
    able make makes made way well much many
    """.split()
)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _terms(text: str) -> tuple[set[str], set[str]]:
    # Bigrams only join words that were next to each other in the answer: a dropped stop word
    # between two words breaks the phrase ("time to market" gives no "time market").
    words = [w.replace("\u2019", "'") for w in _TOKEN.findall(text.lower().replace("\u2019", "'"))]
    keep = [w if (w not in _STOP_WORDS and len(w) > 1) else None for w in words]
    unigrams = {w for w in keep if w is not None}
    bigrams = {f"{a} {b}" for a, b in zip(keep, keep[1:], strict=False) if a and b}
    return unigrams, bigrams


def benefit_themes(texts: Iterable[str], top: int = 5) -> list[tuple[str, int]]:
    """The recurring themes of "main benefit" answers, as (word or phrase, answers mentioning it).

    Deterministic and explainable rather than clever: each answer is lower-cased and split into
    words, stop words are dropped, and every word and two-word phrase is counted once per answer.
    Phrases are kept when at least two answers use them. A single word is left out when a kept
    phrase containing it covers at least half of the answers that mention the word, so "saves
    time" is not followed by "saves" and "time". The most frequent come first; ties go to
    phrases, then alphabetical order.
    """
    uni: Counter[str] = Counter()
    bi: Counter[str] = Counter()
    for text in texts:
        u, b = _terms(text)
        uni.update(u)
        bi.update(b)
    phrases = {p: n for p, n in bi.items() if n >= 2}
    covered: dict[str, int] = {}
    for p, n in phrases.items():
        for w in p.split():
            covered[w] = max(covered.get(w, 0), n)
    words = {w: n for w, n in uni.items() if 2 * covered.get(w, 0) < n}
    ranked = sorted(
        [(p, n, 0) for p, n in phrases.items()] + [(w, n, 1) for w, n in words.items()],
        key=lambda x: (-x[1], x[2], x[0]),
    )
    return [(term, n) for term, n, _ in ranked[:top]]
