"""Who loves it most: the segment (role) whose Sean Ellis score stands out, or an honest "no one yet".

This module owns the "who loves it most" finding of SPEC §10 (issue 14): among the scored
responses (very + somewhat + not; N/A left out, as in the overall score) grouped by the role a
respondent named, it picks the segment with the highest *lower* bound of its Wilson 95% interval
(so a 2-of-2 "100%" never beats a 30-of-50 "60%") and says whether that segment stands out. Pure:
the caller passes the counted responses (one per respondent, after ``latest_per_respondent``).

**What "stands out" means.** The leading segment stands out when its Wilson lower bound is above
the Wilson upper bound of *everyone else pooled* (all other scored respondents, including those who
named no role and those in segments too small to be shown), both intervals widened by a Bonferroni
correction for the number of segments that competed: with ``k`` qualifying segments the two bounds
use the two-sided ``1 - 0.05 / k`` level (z = 1.96 for k = 1, 2.24 for 2, 2.58 for 5, 2.81 for
10). Why this rule:

- *Against the rest, pooled*, not against every other segment: the founder's question is "do these
  people love it more than everyone else?", and requiring the leader to clear each rival's upper
  bound as well had little power (26% at n = 30 per segment for a true 60% vs 25%, against 51%
  for this rule) while adding no protection the correction below does not already give.
- *Highest lower bound, then a correction*: picking the best of k noisy segments and then testing
  it at the plain 95% level is a multiple comparison. Simulated with no true difference, the plain
  rule claimed a winner in up to 5% of surveys with 8 equal segments and 8-9% when four segments
  of 5 people sat beside one large one; with the correction the worst case measured was 1.5%
  (tests/domain/test_segments.py measures this on seeded replicates).
- *The stated interval stays the plain 95% Wilson interval* (what the survey results show for
  every score); the correction only decides whether the claim is made.

A segment qualifies only with at least ``min_n`` (5) scored answers, and the rest must hold at
least ``min_n`` too. Because scored answers are a subset of respondents, this also meets the rule
that anonymous surveys show no breakdown of fewer than 5 respondents: a segment below 5 people is
never named, and its members only ever appear inside the pooled rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from bot.domain import _text as t
from bot.domain.confidence import SEGMENT_FAMILY_ALPHA
from bot.domain.survey import wilson
from bot.domain.types import SurveyResponse

MIN_N = 5  # fewer scored answers than this and nothing is claimed about a group
FAMILY_ALPHA = SEGMENT_FAMILY_ALPHA  # the chance of naming a winner when no segment truly differs, at most
UNSPECIFIED = "unspecified"


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)


def _ci(ci: tuple[float, float] | None, nd: int = 4) -> list[float] | None:
    return None if ci is None else [round(float(ci[0]), nd), round(float(ci[1]), nd)]


@dataclass(frozen=True)
class GroupScore:
    """The very-disappointed share of one group of scored answers, with its Wilson 95% interval."""

    n: int
    very: int

    @property
    def score(self) -> float | None:
        return self.very / self.n if self.n else None

    @property
    def ci(self) -> tuple[float, float] | None:
        return wilson(self.very, self.n) if self.n else None

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "very_disappointed": self.very, "score": _r(self.score), "ci": _ci(self.ci)}


@dataclass(frozen=True)
class SegmentFinding:
    """The answer to "who loves it most".

    ``name``/``leader`` are the qualifying segment with the highest Wilson 95% lower bound (None
    when no segment has ``min_n`` scored answers, or when the rest has fewer than ``min_n``);
    ``rest`` is everyone else pooled. ``stands_out`` is the claim (see the module docstring);
    ``message`` says it in one plain sentence, with n and interval, and starts with "No segment
    stands out yet" whenever ``stands_out`` is false.
    """

    name: str | None
    leader: GroupScore | None
    rest: GroupScore | None
    stands_out: bool
    segments_compared: int  # qualifying segments (>= min_n scored answers, a named role)
    message: str

    def to_json(self) -> dict[str, Any]:
        """``{"name", "n", "very_disappointed", "score", "ci", "stands_out", "message",
        "segments_compared", "rest": {"n", "very_disappointed", "score", "ci"} | null}``;
        ``n``/``score``/``ci`` are null when no segment qualified."""
        lead = self.leader
        return {
            "name": self.name,
            "n": lead.n if lead else None,
            "very_disappointed": lead.very if lead else None,
            "score": _r(lead.score) if lead else None,
            "ci": _ci(lead.ci) if lead else None,
            "stands_out": self.stands_out,
            "message": self.message,
            "segments_compared": self.segments_compared,
            "rest": self.rest.to_json() if self.rest else None,
        }


def segment_name(segment: str | None) -> str:
    """The segment a response belongs to: its role, trimmed, or "unspecified"."""
    return " ".join((segment or "").split()) or UNSPECIFIED


def comparison_z(segments: int, family_alpha: float = FAMILY_ALPHA) -> float:
    """The two-sided normal quantile used for the "stands out" bounds with ``segments`` competing
    (Bonferroni): 1.96 for one segment, 2.58 for five."""
    k = max(1, segments)
    return NormalDist().inv_cdf(1.0 - family_alpha / (2.0 * k))


def _describe(g: GroupScore) -> str:
    assert g.score is not None and g.ci is not None
    return f"{t.pct(g.score)} (n={t.count(g.n)}, 95% CI {t.pct_range(*g.ci)})"


def who_loves_it_most(
    responses: Iterable[SurveyResponse], *, min_n: int = MIN_N, family_alpha: float = FAMILY_ALPHA
) -> SegmentFinding:
    """Find the segment whose users would be most disappointed without the product, if any.

    ``responses`` are the counted responses (one per respondent); N/A answers are ignored and
    respondents without a role count only in the pooled rest. Ties on the lower bound go to the
    larger segment, then to the name, so the result does not depend on the input order.
    """
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # name -> [scored, very]
    for r in responses:
        if r.answer == "na":
            continue
        g = groups[segment_name(r.segment)]
        g[0] += 1
        g[1] += r.answer == "very"
    total_n = sum(n for n, _ in groups.values())
    total_very = sum(v for _, v in groups.values())
    qualifying = sorted(
        ((name, GroupScore(n, v)) for name, (n, v) in groups.items() if name != UNSPECIFIED and n >= min_n),
        key=lambda x: (-wilson(x[1].very, x[1].n)[0], -x[1].n, x[0]),
    )
    k = len(qualifying)
    none = "No segment stands out yet"
    if not any(name != UNSPECIFIED for name in groups):
        return SegmentFinding(None, None, None, False, 0, f"{none}: no respondent has named their role.")
    if not qualifying:
        return SegmentFinding(
            None, None, None, False, 0,
            f"{none}: no role has {min_n} or more scored answers so far.",
        )
    name, lead = qualifying[0]
    rest = GroupScore(total_n - lead.n, total_very - lead.very)
    if rest.n < min_n:
        return SegmentFinding(
            None, None, None, False, k,
            f"{none}: too few answers outside the largest group to compare with (n={t.count(rest.n)}).",
        )
    z = comparison_z(k, family_alpha)
    stands_out = wilson(lead.very, lead.n, z)[0] > wilson(rest.very, rest.n, z)[1]
    if stands_out:
        message = (
            f"{name}: {_describe(lead)} would be very disappointed, "
            f"clearly above everyone else at {_describe(rest)}."
        )
    else:
        of = f" of {t.count(k)} roles" if k > 1 else ""
        message = (
            f"{none}: the highest{of} is {name} at {_describe(lead)}, "
            f"not clearly above everyone else at {_describe(rest)}."
        )
    return SegmentFinding(name, lead, rest, stands_out, k, message)
