"""What a manager must answer or fix before organic growth can pass (SPEC §5, issue 18), each in
one plain line with the command that settles it: unclassified ambiguous sources, whether referrals
are rewarded, and a majority of untagged signups."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import _text as t
from bot.domain.types import OrganicSignal

REFERRAL_HINT = ("are signups from referrals rewarded (credit, discounts, cash)? Answer once with "
                 "`/pmf-check config organic.referrals_rewarded yes|no` (rewarded referrals count as paid)")
UNTAGGED_HINT = "most signups carry no tags, so paid and organic cannot be told apart"


def classify_hint(pending: Sequence[tuple[str, int]]) -> str:
    """"2 sources need classifying: partner (120), podcast (80) — `/pmf-check config organic.classify
    partner organic|paid`" (the top three, most signups first, as ``pending`` is ordered)."""
    listed = ", ".join(f"{k} ({t.count(n)})" for k, n in pending[:3])
    more = f" and {t.plural(len(pending) - 3, 'more')}" if len(pending) > 3 else ""
    verb = "needs" if len(pending) == 1 else "need"
    return (f"{t.plural(len(pending), 'source')} {verb} classifying: {listed}{more} — "
            f"`/pmf-check config organic.classify {pending[0][0]} organic|paid`")


def organic_answers(o: OrganicSignal) -> list[str]:
    """One next step per open question of the organic signal, in the order to answer them."""
    steps = []
    if o.unclassified_sources:
        steps.append(classify_hint(o.unclassified_sources) + " (until then they count as unknown).")
    if o.referral_question:
        share = o.referral_signups / o.signups if o.signups else 0.0
        steps.append(f"{t.pct(share)} of signups came from referrals: {REFERRAL_HINT}.")
    if o.untagged_majority:
        steps.append(f"{UNTAGGED_HINT[0].upper()}{UNTAGGED_HINT[1:]}: tag every paid link (UTM tags) and "
                     "import landing URLs (`landing_url`), so organic can pass.")
    return steps
