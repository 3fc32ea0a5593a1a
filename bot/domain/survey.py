"""The Sean Ellis survey: the question, its answers, the score and what it takes to settle it.

This module owns everything SPEC §5 says about the survey: the exact wording of the question and
its four answers, how a typed reply is read back into an answer, which responses count (one per
respondent, their latest, within the window), the score with its Wilson interval, the verdict
against the threshold, how many more responses would settle a borderline score, the breakdown by
segment and the recurring themes in what very disappointed users say they value most.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from bot.domain import _text as t
from bot.domain.settings import SurveySettings
from bot.domain.types import (
    Answer,
    SegmentScore,
    Status,
    SurveyCounts,
    SurveyResponse,
    SurveySignal,
)

QUESTION = "How would you feel if you could no longer use {product}?"

Z95 = 1.959963984540054  # the two-sided 95% normal quantile, as statsmodels uses it

# More responses than this are not worth suggesting: the answer would be "never, in practice".
_MAX_SUGGESTED = 1_000_000


# --------------------------------------------------------------------------- answers


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


# --------------------------------------------------------------------------- statistics


def _wilson_p(phat: float, n: float, z: float = Z95) -> tuple[float, float]:
    # Wilson's interval depends on the observed share and n only, so it also answers "what if
    # we had n responses at this same share", which responses_needed asks with fractional counts.
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (phat + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(phat * (1.0 - phat) / n + z2 / (4.0 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for k successes in n trials (95% by default); (0, 1) for n = 0.

    Wilson rather than the normal approximation because survey counts are small and scores can
    sit near 0 or 1, where the normal interval leaves [0, 1] or collapses to a point.
    """
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= k <= n:
        raise ValueError(f"k must be between 0 and n (got k={k}, n={n})")
    return _wilson_p(k / n, n, z)


def _settled(phat: float, n: int, threshold: float) -> bool:
    lo, hi = _wilson_p(phat, n)
    return lo >= threshold or hi < threshold


def responses_needed(very: int, scored: int, threshold: float, min_responses: int) -> int:
    """How many more scored responses, at the current score, would settle the verdict.

    "Settled" means the Wilson interval lies entirely at or above ``threshold`` or entirely below
    it. The answer is 0 when it is already settled, when the score is exactly at the threshold
    (no number of responses moves it off the line) or when more than 1,000,000 would be needed.
    Below ``min_responses`` it is at least the shortfall, since no verdict is given before then.
    For a fixed score the Wilson bounds move monotonically towards it as n grows, so a binary
    search finds the smallest sufficient n.
    """
    shortfall = max(0, min_responses - scored)
    if scored <= 0:
        return shortfall
    phat = very / scored
    more = 0
    if not _settled(phat, scored, threshold) and phat != threshold:
        hi = scored + _MAX_SUGGESTED
        if _settled(phat, hi, threshold):
            lo = scored  # invariant: not settled at lo, settled at hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _settled(phat, mid, threshold):
                    hi = mid
                else:
                    lo = mid
            more = hi - scored
    return max(more, shortfall)


# --------------------------------------------------------------------------- which responses count


def latest_per_respondent(
    responses: Iterable[SurveyResponse], as_of: date, window_days: int
) -> list[SurveyResponse]:
    """The responses that count on ``as_of``: one per respondent, their latest in the window.

    The window is the ``window_days`` calendar days ending on ``as_of``, both ends included:
    ``as_of - window_days < answered_at_day <= as_of``. Answers after ``as_of`` are ignored so
    that a report for a past date can be reproduced. Among a respondent's answers in the window
    the latest by (answered_at_day, order) wins, whatever it says; on an exact tie the one that
    comes later in the input wins. The result is sorted by (day, order, respondent).
    """
    start = as_of - timedelta(days=window_days)
    best: dict[str, SurveyResponse] = {}
    for r in responses:
        if not start < r.answered_at_day <= as_of:
            continue
        cur = best.get(r.respondent)
        if cur is None or (r.answered_at_day, r.order) >= (cur.answered_at_day, cur.order):
            best[r.respondent] = r
    return sorted(best.values(), key=lambda r: (r.answered_at_day, r.order, r.respondent))


def count_answers(responses: Iterable[SurveyResponse]) -> SurveyCounts:
    """Counts of each answer, as given (apply ``latest_per_respondent`` first)."""
    c = Counter(r.answer for r in responses)
    return SurveyCounts(very=c["very"], somewhat=c["somewhat"], not_=c["not"], na=c["na"])


# --------------------------------------------------------------------------- the signal


def survey_signal(
    responses: Sequence[SurveyResponse], as_of: date, settings: SurveySettings
) -> SurveySignal:
    """SPEC §5 "Sean Ellis score": the share of very disappointed users against the threshold.

    Counts one latest answer per respondent within the window; N/A answers (people who no longer
    use the product) are left out of the score and reported beside it. Below ``min_responses``
    scored answers it is insufficient_data; otherwise pass when the Wilson 95% lower bound is at
    least the threshold, fail when the upper bound is under it, and borderline in between.
    """
    counted = latest_per_respondent(responses, as_of, settings.window_days)
    counts = count_answers(counted)
    n, very = counts.scored, counts.very
    score = very / n if n else None
    ci = wilson(very, n) if n else None
    needed = responses_needed(very, n, settings.threshold, settings.min_responses)
    bar = t.share_setting(settings.threshold)
    na = f"; {t.plural(counts.na, 'N/A answer')} left out" if counts.na else ""

    status: Status
    if n < settings.min_responses:
        status = "insufficient_data"
        so_far = (
            f", {t.pct(score)} very disappointed so far"
            if score is not None
            else ""
        )
        summary = (
            f"Only {t.plural(n, 'survey answer')} in the last {settings.window_days} days "
            f"({settings.min_responses} needed){so_far}{na}."
        )
    else:
        assert score is not None and ci is not None  # n >= min_responses >= 1
        if ci[0] >= settings.threshold:
            status, verb = "pass", "clearly above"
        elif ci[1] < settings.threshold:
            status, verb = "fail", "clearly below"
        else:
            status, verb = "borderline", "not clearly above or below"
        summary = (
            f"{t.pct(score)} of {t.count(n)} users would be very disappointed ({t.count(very)}; "
            f"95% CI {t.pct_range(*ci)}), {verb} the {bar} bar{na}."
        )
    return SurveySignal(
        status=status,
        responses=n,
        very_disappointed=very,
        score=score,
        ci=ci,
        not_applicable=counts.na,
        more_responses_needed=needed,
        counts=counts,
        summary=summary,
    )


def segment_scores(responses: Iterable[SurveyResponse], min_n: int = 5) -> list[SegmentScore]:
    """The score per segment (``None`` or blank -> "unspecified") of the responses given.

    Pass the counted responses (after ``latest_per_respondent``). ``responses`` per segment are
    the scored answers (N/A excluded, as in the overall score); the score and interval are hidden
    below ``min_n`` of them, because a 2-of-3 "67%" invites conclusions nobody should draw.
    Sorted by most responses first, then by name.
    """
    groups: dict[str, list[Answer]] = defaultdict(list)
    for r in responses:
        name = (r.segment or "").strip() or "unspecified"
        groups[name].append(r.answer)
    out: list[SegmentScore] = []
    for name, answers in groups.items():
        n = sum(1 for a in answers if a != "na")
        very = sum(1 for a in answers if a == "very")
        shown = n >= min_n and n > 0
        out.append(
            SegmentScore(
                segment=name,
                responses=n,
                very_disappointed=very,
                score=very / n if shown else None,
                ci=wilson(very, n) if shown else None,
            )
        )
    return sorted(out, key=lambda s: (-s.responses, s.segment))


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
