"""The survey's lessons: who loves it most, what they love, and what holds the others back.

This module owns the "love it / hold back" split of Superhuman's PMF engine (SPEC §10, issue 14):
the key phrases of the very disappointed users' "main benefit" answers (what they love), and,
from the somewhat disappointed users whose own main benefit shares one of those phrases, the key
phrases of their "how could we improve it" answers (what holds them back), each phrase with the
number of answers that say it and one short quote; together with the segment finding of
``bot.domain.segments``. Pure: the counted responses (one per respondent, after
``latest_per_respondent``) and whether the survey is anonymous are passed in.

How a phrase is found and counted:

- *Candidates and relevance* come from YAKE (the ``yake`` package: unsupervised, statistical,
  runs offline from what pip installs, no model download), run over the answers of one list
  joined as sentences (sorted first, so the input order does not matter), with phrases of up to 4
  words and its English stop-word list. YAKE never splits a phrase across answers or punctuation.
- *Normalisation.* Text is NFKC-folded and lower-cased; stop words are dropped; each remaining
  word is reduced by a small suffix stripper (plurals, -ing, -ed, a final e: "saves", "saved",
  "saving" and "save" all become "sav"; "shortcuts" becomes "shortcut"). A phrase is the sequence
  of its normalised words.
- *Count*: the number of answers that **contain** the phrase: its normalised words appear next
  to each other, in order, within one sentence or clause of the answer (stop words between them
  allowed: "time to market" is contained in "shorter time-to-market"). Each answer counts once.
- *Shares* (the link from a somewhat disappointed user to a loved phrase): every normalised word
  of the phrase appears somewhere in their main-benefit answer, in any order ("shortcuts on the
  keyboard" shares "keyboard shortcuts"). Looser than "contains" on purpose: the link is about
  caring for the same thing, not about using the same words.
- *Which phrases*: those contained in at least 2 answers (one person's words are not a theme). A
  phrase is left out when a longer kept phrase containing it covers at least half of its answers
  ("team scheduling" in 3 answers hides "scheduling" in 4, not "scheduling" in 7), and so is a
  phrase that shares a word with a better ranked one and is contained in exactly the same answers
  (one theme said twice). Ranked by count, then by YAKE's relevance (lower score first), then
  alphabetically; the top 5 are kept.
- *Quote*: the shortest answer containing the phrase that says more than the phrase alone (ties
  alphabetically; an answer that is the phrase and stop words only, "The keyboard shortcuts!", is
  quoted only when no other answer has it), trimmed to about 120 characters at a word boundary.
  When one answer is the quote of two phrases they are merged: one line, the second phrase under
  ``also`` (left out when it shares a word with the first: a variant of the same words).
- *Length*: 2 to 4 words, at least 2 of them not stop words: one word ("team", "week") is a
  fragment, not a lesson.

Thin evidence: nothing is claimed from fewer than 5 answers in a list ("Not enough answers yet
(n=3)"), and in an anonymous survey quotes appear only when at least 5 respondents contributed to
that list; respondents are never named (the output holds no respondent key at all).

JSON (``Lessons.to_json``), as ``pmfbot survey lessons --json`` and ``pmfbot check --json`` carry it::

    {
      "anonymous": false,
      "segment": {"name": "Engineer" | null, "n": 20 | null, "very_disappointed": 18 | null,
                  "score": 0.9 | null, "ci": [0.699, 0.9721] | null, "stands_out": true,
                  "message": "Engineer: 90% (n=20, 95% CI 70–97%) would be very disappointed, clearly above ...", "segments_compared": 3,
                  "rest": {"n", "very_disappointed", "score", "ci"} | null},
      "love": {"answers": 12, "respondents": 12, "message": "...",
               "phrases": [{"phrase": "saves hours", "count": 5, "quote": "It saves me hours ..." | null}]},
      "hold_back": {"answers": 6, "respondents": 6, "message": "...", "phrases": [...]},
      "respondents": {"total", "scored", "very", "somewhat", "not", "na",
                      "very_with_benefit", "somewhat_sharing", "somewhat_sharing_with_improve"}
    }

``love.answers`` counts the very disappointed main-benefit answers; ``hold_back.answers`` the
improvement answers of the somewhat disappointed who share a loved phrase. ``phrases`` is empty
whenever ``message`` explains why (too few answers, nothing shared).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.domain import _text as t
from bot.domain.segments import MIN_N, SegmentFinding, who_loves_it_most
from bot.domain.types import SurveyResponse

MIN_ANSWERS = MIN_N  # fewer answers in a list than this and no phrase is claimed from it
MIN_QUOTE_RESPONDENTS = 5  # anonymous surveys: quotes need at least this many contributors
MIN_COUNT = 2  # a phrase must be in at least this many answers to be a theme
TOP = 5
MIN_WORDS, MAX_WORDS = 2, 4  # a phrase says something: one word ("team", "week") is a fragment
QUOTE_CHARS = 120

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# Sentence and clause breaks: a phrase never runs across them (hyphens and apostrophes do not break).
_BREAK = re.compile(r"[.,;:!?()\[\]{}\"\n\r\t/|\u2013\u2014\u2026\u00b7\u2022]+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Phrase:
    """One key phrase: how many answers of its list contain it, and one of them, trimmed.
    ``also``: other phrases the same quote backs (merged into this one, said once)."""

    phrase: str
    count: int
    quote: str | None  # None where quotes are withheld (anonymous survey, fewer than 5 people)
    also: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"phrase": self.phrase, "count": self.count, "quote": self.quote, "also": list(self.also)}


@dataclass(frozen=True)
class PhraseList:
    """The key phrases of one list of answers, with how many answers and people it rests on."""

    answers: int
    respondents: int
    phrases: tuple[Phrase, ...]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "respondents": self.respondents,
            "message": self.message,
            "phrases": [p.to_json() for p in self.phrases],
        }


@dataclass(frozen=True)
class Respondents:
    """Who the lessons rest on (counted responses, one per respondent)."""

    total: int  # N/A included
    scored: int
    very: int
    somewhat: int
    not_: int
    na: int
    very_with_benefit: int  # very disappointed who named a main benefit
    somewhat_sharing: int  # somewhat disappointed whose main benefit shares a loved phrase
    somewhat_sharing_with_improve: int  # ... and who said how to improve it

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total, "scored": self.scored, "very": self.very, "somewhat": self.somewhat,
            "not": self.not_, "na": self.na, "very_with_benefit": self.very_with_benefit,
            "somewhat_sharing": self.somewhat_sharing,
            "somewhat_sharing_with_improve": self.somewhat_sharing_with_improve,
        }


@dataclass(frozen=True)
class Lessons:
    """The survey's lessons; ``to_json`` gives the shape in the module docstring."""

    anonymous: bool
    segment: SegmentFinding
    love: PhraseList
    hold_back: PhraseList
    respondents: Respondents

    def to_json(self) -> dict[str, Any]:
        return {
            "anonymous": self.anonymous,
            "segment": self.segment.to_json(),
            "love": self.love.to_json(),
            "hold_back": self.hold_back.to_json(),
            "respondents": self.respondents.to_json(),
        }


# --------------------------------------------------------------------------- normalisation


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    import yake  # imported on first use: ~0.3 s, which no other command should pay

    return frozenset(w.lower() for w in yake.KeywordExtractor(lan="en").stopword_set)


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).split())


def stem(word: str) -> str:
    """A small suffix stripper, enough to match plurals and verb forms of the same word:
    "saves"/"saved"/"saving"/"save" -> "sav", "shortcuts" -> "shortcut", "speeds" -> "speed"."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("sses", "xes", "zes", "ches", "shes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed") and not w.endswith("eed"):
        w = w[:-2]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def _content(words: Iterable[str]) -> tuple[str, ...]:
    stops = _stop_words()
    return tuple(stem(w) for w in words if w not in stops and (len(w) > 1 or w.isdigit()))


def normalise(text: str) -> tuple[tuple[str, ...], ...]:
    """An answer as its clauses, each the sequence of its normalised non-stop words."""
    clauses = _BREAK.split(_clean(text).lower())
    out = tuple(_content(_WORD.findall(c)) for c in clauses)
    return tuple(c for c in out if c)


def phrase_key(phrase: str) -> tuple[str, ...]:
    """A phrase as the sequence of its normalised non-stop words (what is matched)."""
    return _content(_WORD.findall(_clean(phrase).lower()))


def _run_in(key: tuple[str, ...], seq: tuple[str, ...]) -> bool:
    k = len(key)
    return any(seq[i : i + k] == key for i in range(len(seq) - k + 1))


def contains(clauses: tuple[tuple[str, ...], ...], key: tuple[str, ...]) -> bool:
    """Whether an answer (``normalise``d) says the phrase: its words in order within one clause."""
    return bool(key) and any(_run_in(key, c) for c in clauses)


def shares(clauses: tuple[tuple[str, ...], ...], key: tuple[str, ...]) -> bool:
    """Whether an answer (``normalise``d) shares the phrase: all its words appear, in any order."""
    words = {w for c in clauses for w in c}
    return bool(key) and set(key) <= words


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """The answer with its whitespace collapsed, trimmed to ``limit`` characters at a word boundary."""
    s = _clean(text)
    if len(s) <= limit:
        return s
    cut = s[: limit - 1]
    if " " in cut and not s[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-\u2013\u2014") + "\u2026"


# --------------------------------------------------------------------------- key phrases


def _candidates(texts: Sequence[str]) -> dict[tuple[str, ...], tuple[float, str]]:
    """YAKE's candidate phrases of the answers, by normalised key: (best relevance, its text)."""
    import yake

    def sentence(s: str) -> str:
        return s if s[-1] in ".!?" else s + "."

    corpus = "\n".join(sentence(s) for s in sorted(texts))
    # dedup_lim=1.0: YAKE's own de-duplication is off; phrases are merged by normalised key here.
    extractor = yake.KeywordExtractor(lan="en", n=MAX_WORDS, dedup_lim=1.0, top=1_000_000)
    best: dict[tuple[str, ...], tuple[float, str]] = {}
    for kw, h in extractor.extract_keywords(corpus):
        text = " ".join(str(kw).lower().split())
        key = phrase_key(text)
        if not MIN_WORDS <= len(key) <= MAX_WORDS or len(text.split()) > MAX_WORDS:
            continue
        cur = best.get(key)
        if cur is None or (float(h), text) < cur:
            best[key] = (float(h), text)
    return best


def key_phrases(
    texts: Sequence[str], *, top: int = TOP, min_count: int = MIN_COUNT, with_quotes: bool = True
) -> tuple[Phrase, ...]:
    """The key phrases of a list of answers (blank answers ignored), ranked, as in the module
    docstring. No minimum number of answers here: ``survey_lessons`` applies it."""
    answers = sorted(_clean(s) for s in texts if s and s.strip())
    if not answers:
        return ()
    parsed = [normalise(s) for s in answers]
    parsed_of = dict(zip(answers, parsed, strict=True))
    counted: dict[tuple[str, ...], tuple[int, float, str, list[int]]] = {}
    for key, (h, text) in _candidates(answers).items():
        hits = [i for i, clauses in enumerate(parsed) if contains(clauses, key)]
        if len(hits) >= min_count:
            counted[key] = (len(hits), h, text, hits)

    def covered(key: tuple[str, ...], n: int) -> bool:
        return any(
            len(other) > len(key) and 2 * m >= n and _run_in(key, other)
            for other, (m, _, _, _) in counted.items()
        )

    ranked = sorted(
        ((n, h, text, key, hits) for key, (n, h, text, hits) in counted.items() if not covered(key, n)),
        key=lambda x: (-x[0], x[1], x[2]),
    )
    kept: list[tuple[int, str, tuple[str, ...], list[int]]] = []
    for n, _, text, key, hits in ranked:
        # Two overlapping phrases said by exactly the same answers are one theme ("fewer
        # meetings" and "meetings about meetings"): the better ranked one stands for both.
        if any(hits == h2 and set(key) & set(k2) for _, _, k2, h2 in kept):
            continue
        kept.append((n, text, key, hits))
    out: list[Phrase] = []
    sources: list[str] = []
    for n, text, key, hits in kept:
        # An answer that is just the phrase adds nothing to it: quote it only when there is no other.
        source = min((answers[i] for i in hits), key=lambda s: (parsed_of[s] == (key,), len(s), s))
        if source in sources:  # one quote backs two phrases: one line, both phrases
            i = sources.index(source)
            if not set(key) & set(phrase_key(out[i].phrase)):  # a variant of the same words adds nothing
                out[i] = Phrase(out[i].phrase, out[i].count, out[i].quote, (*out[i].also, text))
            continue
        if len(out) == top:
            break
        sources.append(source)
        out.append(Phrase(text, n, quote(source) if with_quotes else None))
    return tuple(out)


# --------------------------------------------------------------------------- the lessons


def _answer(text: str | None) -> str | None:
    return _clean(text) if text and text.strip() else None


def _phrase_list(
    pairs: Sequence[tuple[str, str]], *, anonymous: bool, min_answers: int, top: int, empty: str
) -> PhraseList:
    """``pairs`` are (respondent, answer)."""
    n = len(pairs)
    people = len({who for who, _ in pairs})
    if n < min_answers:
        return PhraseList(n, people, (), f"Not enough answers yet (n={n}); nothing is claimed from fewer than {min_answers}.")
    quotes = not anonymous or people >= MIN_QUOTE_RESPONDENTS
    phrases = key_phrases([a for _, a in pairs], top=top, with_quotes=quotes)
    if not phrases:
        return PhraseList(n, people, (), f"No phrase of {MIN_WORDS}+ words is in {MIN_COUNT} or more of the "
                                         f"{t.plural(n, 'answer')} {empty} yet.")
    withheld = "" if quotes else f" Quotes are shown once at least {MIN_QUOTE_RESPONDENTS} people have answered."
    return PhraseList(n, people, phrases, f"From {t.plural(n, 'answer')} {empty}.{withheld}")


def survey_lessons(
    responses: Sequence[SurveyResponse], *, anonymous: bool, min_answers: int = MIN_ANSWERS, top: int = TOP
) -> Lessons:
    """Who loves it most, what they love, and what holds back the somewhat disappointed who share it.

    ``responses``: the counted responses of a survey (one per respondent, their latest), with
    their role (``segment``), main benefit and improvement answers. Deterministic: the same
    responses in any order give the same lessons.
    """
    very = [(r.respondent, a) for r in responses if r.answer == "very" and (a := _answer(r.main_benefit))]
    love = _phrase_list(very, anonymous=anonymous, min_answers=min_answers, top=top,
                        empty="of very disappointed users about the main benefit")
    somewhat = [r for r in responses if r.answer == "somewhat"]
    keys = [phrase_key(p.phrase) for p in love.phrases]
    sharing = [
        r for r in somewhat
        if (b := _answer(r.main_benefit)) and any(shares(normalise(b), k) for k in keys)
    ]
    improve = [(r.respondent, a) for r in sharing if (a := _answer(r.improve))]
    every_improve = [(r.respondent, a) for r in somewhat if (a := _answer(r.improve))]
    if love.phrases and len(improve) >= min_answers:
        hold_back = _phrase_list(improve, anonymous=anonymous, min_answers=min_answers, top=top,
                                 empty="of somewhat disappointed users who share that love, on what would improve it")
    else:
        # Too few of them share a loved benefit to narrow it down: what every somewhat
        # disappointed user said would improve it, said so.
        why = ("none of them named a benefit the very disappointed love" if love.phrases and not sharing
               else f"only {t.count(len(improve))} of them share what the very disappointed love" if love.phrases
               else "what the very disappointed love is not clear yet")
        hold_back = _phrase_list(every_improve, anonymous=anonymous, min_answers=min_answers, top=top,
                                 empty=f"of somewhat disappointed users on what would improve it ({why})")
    counts = {a: sum(1 for r in responses if r.answer == a) for a in ("very", "somewhat", "not", "na")}
    respondents = Respondents(
        total=len(responses), scored=counts["very"] + counts["somewhat"] + counts["not"],
        very=counts["very"], somewhat=counts["somewhat"], not_=counts["not"], na=counts["na"],
        very_with_benefit=len(very), somewhat_sharing=len(sharing), somewhat_sharing_with_improve=len(improve),
    )
    return Lessons(anonymous, who_loves_it_most(responses), love, hold_back, respondents)
