"""Who answered a survey: the activity tier of a respondent (weeks active of the last 8) and the
score weighted by tier, with Wilson on the Kish effective n, so keen users who answer more often
do not lift the score (SPEC §5 "Who answered"). Pure."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.domain.types import ActivityTier, SurveyAudience, SurveyResponse

# --------------------------------------------------------------------------- who answered


def activity_tier(weeks_active_of_last_8: int) -> ActivityTier | None:
    """The tier of a user active in this many of the last 8 complete weeks (None when 0)."""
    if not 0 <= weeks_active_of_last_8 <= 8:
        raise ValueError(f"weeks active of the last 8 must be 0-8 (got {weeks_active_of_last_8})")
    if weeks_active_of_last_8 == 0:
        return None
    if weeks_active_of_last_8 <= 2:
        return "light"
    if weeks_active_of_last_8 <= 5:
        return "regular"
    return "heavy"


@dataclass(frozen=True)
class WeightedScore:
    """A score weighted to the active users' tiers, with what its interval rests on."""

    score: float
    effective_n: float  # Kish: (sum w)^2 / sum w^2
    answered: int  # scored answers used
    matched: int
    unmatched: int


def weighted_score(
    matched: Sequence[tuple[ActivityTier, bool]],
    active_by_tier: Mapping[ActivityTier, int],
    unmatched: Sequence[bool] = (),
) -> WeightedScore | None:
    """The share of "very disappointed", weighted so each tier counts as it does among active users.

    ``matched`` holds one (tier, very disappointed?) per scored answer of an active user;
    ``active_by_tier`` the active users per tier. A tier's answers together weigh its share of
    the active users among the tiers that answered (a tier nobody answered from cannot be
    represented, and its share goes to the others). ``unmatched`` answers (very disappointed?)
    count unweighted: each weighs one answer, and the matched ones together weigh as many answers
    as there are. The interval's n is Kish's effective n of these weights, which is smaller
    than the number of answers whenever the weights differ. None without any answer.
    """
    by_tier: dict[ActivityTier, list[bool]] = defaultdict(list)
    for tier, very in matched:
        by_tier[tier].append(very)
    pop = {tier: active_by_tier.get(tier, 0) for tier in by_tier}
    total_pop = sum(pop.values())
    weights: list[float] = []
    values: list[float] = []
    m = len(matched)
    for tier, answers in by_tier.items():
        # Without population counts for the answering tiers, fall back to their sample shares.
        share = pop[tier] / total_pop if total_pop > 0 else len(answers) / m
        w = share * m / len(answers)
        weights += [w] * len(answers)
        values += [1.0 if v else 0.0 for v in answers]
    weights += [1.0] * len(unmatched)
    values += [1.0 if v else 0.0 for v in unmatched]
    if not weights:
        return None
    w_arr, v_arr = np.array(weights), np.array(values)
    sw = float(w_arr.sum())
    if sw <= 0:
        return None
    return WeightedScore(
        score=float(w_arr @ v_arr) / sw,
        effective_n=sw * sw / float(w_arr @ w_arr),
        answered=len(weights),
        matched=m,
        unmatched=len(unmatched),
    )




# --------------------------------------------------------------------------- coverage (issue 18)

COVERAGE_SHARE = 0.20  # a tier holding at least this share of the active users must be heard...
COVERAGE_MIN = 5  # ...in at least this many counted answers, or the survey is at most borderline
MAX_UNMATCHED_SHARE = 0.25  # above this share of unmatched counted answers: at most borderline
_TIER_ORDER: tuple[ActivityTier, ...] = ("light", "regular", "heavy")


def respondent_tier(response: SurveyResponse, audience: SurveyAudience) -> tuple[bool, ActivityTier | None]:
    """(matched?, tier) of one answer: the audience's match of its key when there is one, else the
    tier and active flag it carries from answer time (anonymous Slack answers). Matched with tier
    None means the respondent is not an active user (their answer is left out); not matched means
    it counts unweighted."""
    if response.respondent in audience.tiers:
        return True, audience.tiers[response.respondent]
    if response.active is not None:
        return True, response.tier if response.active else None
    return False, None


def uncovered_tiers(answer_tiers: Sequence[ActivityTier],
                    active_by_tier: Mapping[ActivityTier, int]) -> tuple[tuple[ActivityTier, int], ...]:
    """The tiers holding at least ``COVERAGE_SHARE`` of the active users that have fewer than
    ``COVERAGE_MIN`` counted answers (``answer_tiers``: one tier per matched scored answer), with
    the answers each has, lightest first. () when the active users per tier are not known."""
    total = sum(active_by_tier.values())
    if total <= 0:
        return ()
    have = Counter(answer_tiers)
    return tuple((tier, have[tier]) for tier in _TIER_ORDER
                 if active_by_tier.get(tier, 0) >= COVERAGE_SHARE * total and have[tier] < COVERAGE_MIN)


def coverage_line(uncovered: Sequence[tuple[ActivityTier, int]]) -> str:
    """One plain line for tiers not yet heard: "no answers yet from light users — survey beyond
    your fans"; "" when every tier is covered."""
    if not uncovered:
        return ""
    none = [tier for tier, n in uncovered if n == 0]
    few = [(tier, n) for tier, n in uncovered if n > 0]
    parts = []
    if none:
        parts.append(f"no answers yet from {' or '.join(none)} users")
    for tier, n in few:
        parts.append(f"only {n} answer{'s' if n != 1 else ''} from {tier} users ({COVERAGE_MIN} needed)")
    return ", ".join(parts) + " \u2014 survey beyond your fans"


def unmatched_line(unmatched: int, counted: int) -> str:
    """One plain line when too many counted answers cannot be tied to active users."""
    return f"{unmatched:,} of {counted:,} answers cannot be tied to active users"
