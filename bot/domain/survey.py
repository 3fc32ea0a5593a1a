"""The Sean Ellis survey: the question, its answers, the score and what it takes to settle it.

This module owns everything SPEC §5 says about the survey: the exact wording of the question and
its four answers, how a typed reply is read back into an answer, which responses count (one per
respondent, their latest, within the window), the score with its Wilson interval, the verdict
against the threshold, how many more responses would settle a borderline score, the breakdown by
segment and the recurring themes in what very disappointed users say they value most.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from bot.domain import _text as t
from bot.domain.answers import answer_label, parse_answer  # noqa: F401  (the survey's public names)
from bot.domain.confidence import SURVEY_PASS_Z, Z_SHARE_CI
from bot.domain.distributions import binom_cdf, binom_sf
from bot.domain.settings import SurveySettings
from bot.domain.types import (
    ActivityTier,
    Answer,
    SegmentScore,
    Status,
    SurveyAudience,
    SurveyCounts,
    SurveyResponse,
    SurveySignal,
)
from bot.domain.weighting import (
    MAX_UNMATCHED_SHARE,
    coverage_line,
    respondent_tier,
    uncovered_tiers,
    unmatched_line,
    weighted_score,
)

QUESTION = "How would you feel if you could no longer use {product}?"

Z95 = Z_SHARE_CI  # the interval shown, and the survey's fail bound (bot/domain/confidence.py)
PASS_Z = SURVEY_PASS_Z  # the default survey.pass_z (bot/domain/confidence.py)
SETTLE_CHANCE = 0.8  # "responses needed" is for this chance of settling the verdict

# More responses than this are not worth suggesting: the answer would be "never, in practice".
_MAX_SUGGESTED = 1_000_000


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


def _pass_count(n: NDArray[np.float64], threshold: float, z: float) -> NDArray[np.float64]:
    # The Wilson interval is the set of p with |k/n - p| <= z sqrt(p(1-p)/n), so its lower bound
    # clears the threshold exactly when k >= n*thr + z*sqrt(n*thr*(1-thr)): the fewest very
    # disappointed answers out of n that pass. The tiny slack absorbs float error at equality.
    return np.ceil(n * threshold + z * np.sqrt(n * threshold * (1.0 - threshold)) - 1e-9)


def _fail_count(n: NDArray[np.float64], threshold: float) -> NDArray[np.float64]:
    # The most very disappointed answers out of n whose 95% upper bound is still under the bar.
    return np.ceil(n * threshold - Z95 * np.sqrt(n * threshold * (1.0 - threshold)) - 1e-9) - 1.0


def settle_chance(very: int, scored: int, more: NDArray[np.int64] | int, threshold: float,
                  pass_z: float = PASS_Z) -> NDArray[np.float64]:
    """The chance that ``more`` further answers settle the verdict, if the score stays where it is.

    The new answers are drawn exactly, Binomial(more, very/scored), on top of the ones in hand,
    and "settled" is what the signal calls it: the lower bound at ``pass_z`` at or above the
    threshold (pass) or the 95% upper bound under it (fail).
    """
    m = np.atleast_1d(np.asarray(more, dtype=np.int64))
    p = very / scored
    n = (scored + m).astype(np.float64)
    need_pass = _pass_count(n, threshold, pass_z) - very
    max_fail = _fail_count(n, threshold) - very
    up = binom_sf(need_pass - 1, m, p)
    down = binom_cdf(max_fail, m, p)
    return np.asarray(up + down, dtype=np.float64)


def responses_needed(very: int, scored: int, threshold: float, min_responses: int, *,
                     pass_z: float = PASS_Z, chance: float = SETTLE_CHANCE) -> int:
    """How many more scored answers give an 80% chance of settling the verdict (SPEC §5).

    The new answers are assumed to come at the current score, drawn exactly (see
    ``settle_chance``): the old "until the interval clears at exactly this score" number settled
    it only half the time. The answer is 0 when it is already settled, and 0 when no number up
    to 1,000,000 would do (a score at or very near the threshold). Below ``min_responses`` it is
    at least the shortfall, since no verdict is given before then. The chance is not monotone in
    the number of answers (the counts are whole numbers), so the smallest sufficient number is
    found on a fine geometric grid and then exactly between its last two points.
    """
    shortfall = max(0, min_responses - scored)
    if scored <= 0:
        return shortfall
    now = settle_chance(very, scored, 0, threshold, pass_z)[0]
    if now >= 1.0 - 1e-12:  # settled already (the draw of zero answers is certain)
        return shortfall
    grid = np.unique(np.concatenate([
        np.arange(shortfall, shortfall + 256),
        np.round(np.geomspace(max(shortfall, 1) + 256, _MAX_SUGGESTED, 600)),
    ]).astype(np.int64))
    ok = np.flatnonzero(settle_chance(very, scored, grid, threshold, pass_z) >= chance)
    if len(ok) == 0:
        return 0
    i = int(ok[0])
    if i > 0 and grid[i] - grid[i - 1] > 1:
        between = np.arange(grid[i - 1] + 1, grid[i] + 1, dtype=np.int64)
        hits = np.flatnonzero(settle_chance(very, scored, between, threshold, pass_z) >= chance)
        return max(int(between[hits[0]]), shortfall)
    return max(int(grid[i]), shortfall)


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
    responses: Sequence[SurveyResponse],
    as_of: date,
    settings: SurveySettings,
    *,
    audience: SurveyAudience | None = None,
    previous_status: Status | None = None,
    previous_as_of: date | None = None,
) -> SurveySignal:
    """SPEC §5 "Sean Ellis score": the share of very disappointed users against the threshold.

    Counts one latest answer per respondent within the window; N/A answers (people who no longer
    use the product) are left out of the score and reported beside it. With an ``audience``,
    answers of matched users who are not active are left out, matched answers are weighted by
    activity tier (``weighted_score``) and the response rate is shown: among active users when
    every answer is matched, among ``channel_members`` when some are not ("unweighted"). Without
    one, the score is unweighted and no rate is known.

    Below ``min_responses`` scored answers it is insufficient_data; pass when the Wilson lower
    bound at ``pass_z`` (on the effective n) is at least the threshold, fail when the 95% upper
    bound is under it, borderline in between; ``ci`` is the 95% interval. When
    ``previous_status`` (last week's, as of ``previous_as_of``) differs and the answers already
    there at that date would alone give today's status, the change came from answers leaving the
    window, and the summary says so.
    """
    counted = latest_per_respondent(responses, as_of, settings.window_days)
    sig = _score(counted, settings, audience)
    if previous_status is not None and previous_as_of is not None and sig.status != previous_status:
        older = [r for r in counted if r.answered_at_day <= previous_as_of]
        if _score(older, settings, audience).status == sig.status:
            sig = dataclasses.replace(
                sig,
                changed_by_window=True,
                summary=sig.summary + (
                    f" It moved from {previous_status.replace('_', ' ')} only because answers older "
                    f"than {settings.window_days} days left the window, not because of new ones."
                ),
            )
    return sig


def _score(counted: Sequence[SurveyResponse], settings: SurveySettings,
           audience: SurveyAudience | None) -> SurveySignal:
    inactive = 0
    kept = list(counted)
    if audience is not None:
        kept = [r for r in counted if respondent_tier(r, audience) != (True, None)]
        inactive = sum(1 for r in counted if r.answer != "na") - sum(1 for r in kept if r.answer != "na")
    counts = count_answers(kept)
    n, very = counts.scored, counts.very
    scored = [r for r in kept if r.answer != "na"]
    weighted = False
    too_many = lifted = False
    unmatched = 0
    rate: float | None = None
    base: Literal["active_users", "channel_members"] | None = None
    score = very / n if n else None
    n_eff = float(n)
    uncovered: tuple[tuple[ActivityTier, int], ...] = ()
    matched_bound: float | None = None  # the pass bound on the matched answers alone
    if audience is not None and scored:
        tiers_of = [respondent_tier(r, audience) for r in scored]
        matched = [(tier, r.answer == "very") for r, (_, tier) in zip(scored, tiers_of, strict=True) if tier]
        loose = [r.answer == "very" for r, (ok, _) in zip(scored, tiers_of, strict=True) if not ok]
        unmatched = len(loose)
        uncovered = uncovered_tiers([tier for tier, _ in matched], audience.active_by_tier)
        ws = weighted_score(matched, audience.active_by_tier, loose)
        alone = weighted_score(matched, audience.active_by_tier) if unmatched else None
        if alone is not None:
            matched_bound = _wilson_p(alone.score, alone.effective_n, settings.pass_z)[0]
        if ws is not None and matched:
            weighted = True
            score, n_eff = ws.score, ws.effective_n
        if unmatched == 0 and audience.active_users > 0:
            rate, base = len({r.respondent for r in kept}) / audience.active_users, "active_users"
        elif unmatched and audience.channel_members:
            rate, base = len({r.respondent for r in kept}) / audience.channel_members, "channel_members"
    more_range: tuple[int, int] | None = None
    ci = _wilson_p(score, n_eff) if score is not None and n_eff > 0 else None
    pass_bound = _wilson_p(score, n_eff, settings.pass_z)[0] if score is not None and n_eff > 0 else None
    if score is not None and n_eff > 0:
        eff_very = int(round(score * n_eff))
        eff_n = max(1, int(round(n_eff)))
        eff_min = int(math.ceil(settings.min_responses * n_eff / n)) if n else settings.min_responses

        def real(very_: int, n_: int) -> int:
            more_eff = responses_needed(min(very_, n_), n_, settings.threshold, eff_min, pass_z=settings.pass_z)
            # Weighted answers count for less: scale effective answers back to real ones.
            return max(int(math.ceil(more_eff * n / n_eff)) if more_eff else 0, settings.min_responses - n)

        needed = real(eff_very, eff_n)
        # The next answer moves the estimate by tens either way: the range covers both.
        around = [needed, real(eff_very + 1, eff_n + 1), real(eff_very, eff_n + 1)] if needed > 0 else []
        if around and min(around) > 0:
            more_range = (min(around), max(around))
    else:
        needed = max(0, settings.min_responses - n)
    bar = t.share_setting(settings.threshold)
    na = f"; {t.plural(counts.na, 'N/A answer')} left out" if counts.na else ""
    who = _who_answered(weighted, unmatched, rate, base, inactive)

    status: Status
    if n < settings.min_responses:
        status = "insufficient_data"
        so_far = f", {t.pct(score)} very disappointed so far" if score is not None else ""
        summary = (
            f"{'No survey answers' if n == 0 else 'Only ' + t.plural(n, 'survey answer')} in the last "
            f"{settings.window_days} days ({settings.min_responses} needed){so_far}{na}{who}."
        )
    else:
        assert score is not None and ci is not None and pass_bound is not None
        why_more = ""
        if pass_bound >= settings.threshold:
            status, verb = "pass", "clearly above"
        elif ci[1] < settings.threshold:
            status, verb = "fail", "clearly below"
        else:
            status, verb = "borderline", "not clearly above or below"
            if ci[0] >= settings.threshold:
                verb = "above"
                why_more = (
                    "; passing needs more, because a score checked every week clears the bar by "
                    "luck now and then, so it must clear it by a wider margin"
                )
        summary = (
            f"{t.count(very)} of {t.plural(n, 'scored answer')} say they would be very disappointed: a score "
            f"of {t.pct(score)} (95% CI {t.pct_range(*ci)}), {verb} the {bar} bar{why_more}{na}{who}."
        )
        # Who answered limits what the score can say (SPEC §5): every sizeable tier heard, and
        # most answers tied to active users; otherwise at most borderline, saying which.
        too_many = audience is not None and unmatched > MAX_UNMATCHED_SHARE * n
        # Unmatched answers may hold a pass back, never make one: the matched ones must pass alone.
        lifted = status == "pass" and unmatched > 0 and not too_many and (
            matched_bound is None or matched_bound < settings.threshold)
        unmatched_text = unmatched_line(unmatched, n) + (
            "; without them the score does not clear the bar" if lifted else "")
        limits = [line for line in (coverage_line(uncovered), unmatched_text if too_many or lifted else "")
                  if line]
        if limits:
            status = "borderline" if status == "pass" else status
            lead = "; ".join(limits)
            summary = f"{lead[0].upper()}{lead[1:]}. {summary}"
    return SurveySignal(
        status=status,
        responses=n,
        very_disappointed=very,
        score=score,
        ci=ci,
        not_applicable=counts.na,
        more_responses_needed=max(0, needed),
        more_responses_range=more_range,
        counts=counts,
        summary=summary,
        pass_bound=pass_bound,
        weighted=weighted,
        effective_responses=n_eff if score is not None else None,
        unmatched=unmatched,
        inactive_excluded=inactive,
        response_rate=rate,
        response_rate_base=base,
        uncovered_tiers=uncovered if n >= settings.min_responses else (),
        too_many_unmatched=too_many,
        unmatched_lift=lifted,
    )


def who_answered(signal: SurveySignal) -> str:
    """The one plain line on whose answers a signal rests ("weighted by how active respondents
    are; 18% of active users answered", "unweighted; response rate 12% of channel members"), as
    every surface shows it; "" when no audience was known."""
    return _who_answered(signal.weighted, signal.unmatched, signal.response_rate, signal.response_rate_base,
                         signal.inactive_excluded).removeprefix("; ")


def _who_answered(weighted: bool, unmatched: int, rate: float | None,
                  base: Literal["active_users", "channel_members"] | None, inactive: int) -> str:
    """The one plain line on whose answers the score rests, as a clause of the summary."""
    parts: list[str] = []
    if weighted and unmatched == 0:
        parts.append("weighted by how active respondents are")
        if rate is not None:
            parts.append(f"{t.pct(rate)} of active users answered")
    elif weighted:
        parts.append(f"weighted by how active respondents are, {t.plural(unmatched, 'unmatched answer')} unweighted")
    elif unmatched:
        parts.append("unweighted")
    if unmatched:
        parts.append(f"response rate {t.pct(rate)} of channel members" if rate is not None else "response rate unknown")
    if inactive:
        parts.append(f"{t.plural(inactive, 'answer')} from users no longer active left out")
    return ("; " + "; ".join(parts)) if parts else ""


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


