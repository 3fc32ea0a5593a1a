"""Organic growth (SPEC §5): how signups are classified by channel and whether growth is organic.

This module owns the channel classification (the product's channel map first, then a few
keyword heuristics, then UTM conventions) and the organic signal: the organic share of classified
signups over the last complete weeks with a Wilson interval, the weekly trend of that share with
a t-interval, and an exact test of whether organic signups are shrinking. Weeks are the complete
Monday-based weeks of ``weeks.py``; a week with no row had no signups.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np

from bot.domain import _text as t
from bot.domain.settings import OrganicSettings, normalise_channel
from bot.domain.survey import _wilson_p
from bot.domain.types import ChannelClass, OrganicSignal, Status, WeekChannels
from bot.domain.weeks import last_complete_week

MIN_HISTORY_WEEKS = 6  # SPEC §5: fewer weeks of history is insufficient_data
MAX_UNKNOWN_SHARE = 0.5  # SPEC §5: more than half the signups unknown is insufficient_data
SHRINK_P = 0.05  # one-sided significance for "organic signups are shrinking"
TREND_CONFIDENCE = 0.90  # two-sided, so each end is a one-sided 95% bound

# --------------------------------------------------------------------------- classification

_PAID_WORDS = ("paid", "cpc", "ppc", "cpm", "sponsor", "affiliate", "display", "adwords")
_ORGANIC_WORDS = ("organic", "referral", "seo", "direct", "community", "word")
# "ads" inside a word is usually an ad platform ("googleads", "fbads") but not always.
_ADS = re.compile(r"(^|_)ads?($|_)|ads($|_)")
_NOT_ADS = re.compile(r"(loads|leads|reads|roads|heads|threads)($|_)")


_CLASSES: dict[str, ChannelClass] = {"organic": "organic", "paid": "paid", "direct": "direct", "unknown": "unknown"}


def _heuristic(name: str) -> ChannelClass:
    # Paid keywords are checked first: calling a paid channel organic would flatter the share,
    # the opposite mistake only makes the check more cautious.
    if any(w in name for w in _PAID_WORDS) or (_ADS.search(name) and not _NOT_ADS.search(name)):
        return "paid"
    if any(w in name for w in _ORGANIC_WORDS):
        return "organic"
    return "unknown"


_PAID_MEDIA = ("cpc", "ppc", "cpm", "cpa", "cpv", "display", "affiliate", "banner", "retargeting")
_ORGANIC_MEDIA = ("organic", "referral", "social", "email", "e_mail", "newsletter")
# Analytics tools write these for "no tag"; they say nothing about the channel.
_NO_TAG = ("", "none", "not_set")


def _part(raw: str | None, channel_map: Mapping[str, str], *, medium: bool) -> ChannelClass | None:
    """The class one tag names, or None when the tag is absent (empty, "(none)", "(not set)")."""
    name = normalise_channel(raw or "").strip("()_")
    if name in _NO_TAG:
        return None
    mapped = _CLASSES.get(channel_map.get(name, ""))
    if mapped is not None:
        return mapped
    if medium:
        if name in _PAID_MEDIA or name.startswith("paid"):
            return "paid"
        if name in _ORGANIC_MEDIA:
            return "organic"
    return _heuristic(name)


def classify_signup(
    channel: str | None,
    utm_source: str | None,
    utm_medium: str | None,
    channel_map: Mapping[str, str],
) -> ChannelClass:
    """The class of a signup from its channel and UTM tags (SPEC §5 "Organic growth").

    Each tag is classified on its own: the product's channel map first (names normalised, so
    overrides win), then, for the medium, the usual UTM media (cpc, ppc, cpm, display, affiliate,
    "paid..." are paid; organic, referral, social, email are organic), then keyword heuristics.
    A paid word anywhere wins: ``facebook_ads`` / ``social`` and ``sponsored_newsletter`` /
    ``email`` are paid, because calling paid traffic organic flatters the share. Otherwise any
    organic tag makes it organic. A signup with no tags at all, or only tags that mean "none"
    ("(direct)", "(none)", "(not set)"), is "direct": untagged. Anything else is unknown.
    """
    parts = [
        _part(channel, channel_map, medium=False),
        _part(utm_source, channel_map, medium=False),
        _part(utm_medium, channel_map, medium=True),
    ]
    present = [p for p in parts if p is not None]
    if "paid" in present:
        return "paid"
    if "organic" in present:
        return "organic"
    if all(p == "direct" for p in present):
        return "direct"
    return "unknown"


def classify_channel(channel: str | None, channel_map: Mapping[str, str]) -> ChannelClass:
    """The class of a signup known only by its channel name (see ``classify_signup``)."""
    return classify_signup(channel, None, None, channel_map)


def classify_utm(
    utm_source: str | None, utm_medium: str | None, channel_map: Mapping[str, str]
) -> ChannelClass:
    """The class of a signup known only by its UTM tags (see ``classify_signup``)."""
    return classify_signup(None, utm_source, utm_medium, channel_map)


# --------------------------------------------------------------------------- the signal


def _trend(
    points: list[tuple[int, float]],
) -> tuple[float | None, tuple[float, float] | None]:
    """OLS slope of share on week with its 90% t-interval (None with fewer than 3 weeks)."""
    if len(points) < 3:
        return None, None
    x = np.array([p[0] for p in points], dtype=np.float64)
    y = np.array([p[1] for p in points], dtype=np.float64)
    xc = x - x.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ (y - y.mean())) / sxx
    resid = y - y.mean() - slope * xc
    dof = len(points) - 2
    se = float(np.sqrt(float(resid @ resid) / dof / sxx))
    from scipy import stats  # imported on first use: ~0.5-1 s that start-up should not pay

    q = float(stats.t.ppf(0.5 + TREND_CONFIDENCE / 2, dof))
    return slope, (slope - q * se, slope + q * se)


Z_ONE_SIDED_95 = 1.6448536269514722  # the share passes on its one-sided 95% Wilson lower bound


def untagged_as_paid(untagged: float, tagged_paid: float, allowance: float) -> float:
    """How many untagged signups count as paid: min(untagged, allowance x tagged paid).

    Paid links lose their tags (stripped by apps, privacy tools, copied links), and those signups
    then look untagged; the allowance assumes that for every tagged paid signup up to
    ``allowance`` more arrived untagged, so a paid-heavy product cannot look organic by losing
    its tags. The rest of the untagged signups count as organic ("direct" traffic).
    """
    return min(untagged, allowance * tagged_paid)


def _split(o: float, p: float, d: float, allowance: float) -> tuple[float, float, float]:
    moved = untagged_as_paid(d, p, allowance)
    return o + d - moved, p + moved, moved


def organic_signal(
    weeks: Sequence[WeekChannels], as_of: date, settings: OrganicSettings
) -> OrganicSignal:
    """SPEC §5 "Organic growth": is most growth organic, and is it holding up?

    Uses complete weeks only (later rows are ignored); weeks between the first week with signups
    and the last complete week that have no row count as zero signups. The window is the last
    ``window_weeks`` complete weeks and the previous window the same number of weeks before it.
    Untagged ("direct") signups count as organic except ``untagged_as_paid`` of them, week by
    week and in each window.

    - organic_share = organic / (organic + paid) in the window, with a Wilson 95% interval and
      its one-sided 95% lower bound; unknown_share = unknown / all signups, untagged_share =
      untagged / all signups in the window.
    - trend_per_week = OLS slope of the weekly share over the last ``trend_weeks`` weeks (weeks
      without classified signups are skipped), with a 90% t-interval: each end is a one-sided
      95% bound.
    - organic signups are "shrinking" when, out of the organic signups of both windows, the
      current window's count is too low for a fair coin: one-sided exact binomial p < 0.05.

    insufficient_data: fewer than ``min_signups`` classified signups in the window, fewer than 6
    weeks of history, or more than half the window's signups unknown. pass: the share's lower
    bound >= min_share (not the point estimate: a true 50% would pass half the time), the
    trend's upper bound >= 0 and not shrinking. fail: share < min_share and the trend not
    confidently positive (lower bound <= 0), or the share confidently falling (upper bound < 0).
    Otherwise borderline.
    """
    lcw = last_complete_week(as_of)
    allowance = settings.untagged_paid_allowance
    by_week: dict[int, list[int]] = {}
    for w in weeks:
        if w.week > lcw:
            continue
        acc = by_week.setdefault(w.week, [0, 0, 0, 0])
        # int(): counts may arrive as numpy integers, which the JSON output cannot carry.
        acc[0] += int(w.organic)
        acc[1] += int(w.paid)
        acc[2] += int(w.unknown)
        acc[3] += int(w.direct)
    with_signups = [w for w, row in by_week.items() if sum(row) > 0]
    first = min(with_signups) if with_signups else lcw + 1
    history = max(0, lcw - first + 1)

    def window_sum(start: int, end: int) -> tuple[int, int, int, int]:
        rows = [by_week.get(w, [0, 0, 0, 0]) for w in range(start, end + 1)]
        return (sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows),
                sum(r[3] for r in rows))

    n_win = settings.window_weeks
    tagged_organic, tagged_paid, unknown, untagged = window_sum(lcw - n_win + 1, lcw)
    p_o, p_p, _, p_d = window_sum(lcw - 2 * n_win + 1, lcw - n_win)
    organic_f, paid_f, moved = _split(tagged_organic, tagged_paid, untagged, allowance)
    prev_organic_f, prev_paid_f, _ = _split(p_o, p_p, p_d, allowance)
    organic, paid = round(organic_f), round(paid_f)
    prev_organic, prev_paid = round(prev_organic_f), round(prev_paid_f)
    classified = tagged_organic + tagged_paid + untagged
    signups = classified + unknown
    share = organic_f / classified if classified else None
    share_ci = _wilson_p(share, classified) if share is not None else None
    lower = _wilson_p(share, classified, Z_ONE_SIDED_95)[0] if share is not None else None
    unknown_share = unknown / signups if signups else None
    untagged_share = untagged / signups if signups else None

    trend_start = max(lcw - settings.trend_weeks + 1, first)
    weekly: list[tuple[int, float | None]] = []
    for week in range(trend_start, lcw + 1):
        o, p, _u, d = by_week.get(week, [0, 0, 0, 0])
        wo, _wp, _m = _split(o, p, d, allowance)
        weekly.append((week, wo / (o + p + d) if o + p + d else None))
    slope, slope_ci = _trend([(week, s) for week, s in weekly if s is not None])

    shrinking = _shrinking(organic, prev_organic)

    window_txt = f"the last {t.plural(n_win, 'week')}"
    problems: list[str] = []
    if classified < settings.min_signups:
        problems.append(
            f"{t.plural(classified, 'signup')} with a known channel in {window_txt} "
            f"({settings.min_signups} needed)"
        )
    if history < MIN_HISTORY_WEEKS:
        problems.append(f"{t.plural(history, 'week')} of signup history ({MIN_HISTORY_WEEKS} needed)")
    if unknown_share is not None and unknown_share > MAX_UNKNOWN_SHARE:
        problems.append(f"{t.pct(unknown_share)} of signups in {window_txt} have no known channel")

    custom = allowance if allowance != OrganicSettings().untagged_paid_allowance else None
    status: Status
    if problems:
        status = "insufficient_data"
        summary = "Not enough to judge organic growth: " + "; ".join(problems) + "."
    else:
        assert share is not None and share_ci is not None and lower is not None
        trend_ok = slope_ci is None or slope_ci[1] >= 0
        trend_up = slope_ci is not None and slope_ci[0] > 0
        falling = slope_ci is not None and slope_ci[1] < 0
        if lower >= settings.min_share and trend_ok and not shrinking:
            status = "pass"
        elif (share < settings.min_share and not trend_up) or falling:
            status = "fail"
        else:
            status = "borderline"
        summary = (
            f"{t.pct(share)} of {t.count(classified)} signups with a known channel in {window_txt} "
            f"were organic (95% CI {t.pct_range(*share_ci)}; {t.share_setting(settings.min_share)} needed"
        )
        if status != "pass" and share >= settings.min_share and lower < settings.min_share:
            summary += ", and the share could still be under that"
        summary += ")"
        if untagged:
            summary += (
                f"; {t.pct(untagged_share or 0.0)} of signups carry no tags, "
                + (
                    f"{t.count(round(moved))} of them counted as paid links that lost their tags"
                    if moved else "all counted as organic"
                )
            )
        if custom is not None:
            summary += (
                f" (custom rule: untagged signups count as paid up to {t.share_setting(custom)} of "
                f"tagged paid ones, not {t.share_setting(OrganicSettings().untagged_paid_allowance)})"
            )
        if unknown:
            summary += f"; {t.pct(unknown_share or 0.0)} of signups had no known channel"
        if slope is not None and slope_ci is not None:
            summary += (
                f"; share trend {t.pts(slope)} points a week (90% CI {t.pts_range(*slope_ci)})"
            )
        if shrinking:
            summary += (
                f"; organic signups fell to {t.count(organic)} from {t.count(prev_organic)} "
                f"in the {t.plural(n_win, 'week')} before"
            )
        summary += "."
    return OrganicSignal(
        status=status,
        organic_share=share,
        organic_share_ci=share_ci,
        trend_per_week=slope,
        trend_ci=slope_ci,
        signups=signups,
        unknown_share=unknown_share,
        organic_signups=organic,
        paid_signups=paid,
        previous_organic_signups=prev_organic,
        previous_paid_signups=prev_paid,
        weeks_observed=history,
        weekly_shares=tuple(weekly),
        summary=summary,
        organic_share_lower=lower,
        untagged_signups=untagged,
        untagged_as_paid=moved,
        untagged_share=untagged_share,
        custom_allowance=custom,
    )


def paid_growth(signal: OrganicSignal) -> float | None:
    """Relative change of paid signups from the previous window; None when it had none."""
    if signal.previous_paid_signups == 0:
        return None
    return (signal.paid_signups - signal.previous_paid_signups) / signal.previous_paid_signups


def organic_shrinking(signal: OrganicSignal) -> bool:
    """Whether organic signups fell significantly from the previous window (see organic_signal)."""
    return _shrinking(signal.organic_signups, signal.previous_organic_signups)


def _shrinking(current: int, previous: int) -> bool:
    # If organic signups were steady, each one of the two windows would fall in the current
    # window with probability 1/2; too few there for that coin is evidence of shrinking.
    n = current + previous
    if n == 0:
        return False
    from scipy import stats

    return bool(stats.binomtest(current, n, 0.5, alternative="less").pvalue < SHRINK_P)
