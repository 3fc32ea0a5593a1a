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
from scipy import stats

from bot.domain import _text as t
from bot.domain.settings import OrganicSettings, normalise_channel
from bot.domain.survey import wilson
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


_CLASSES: dict[str, ChannelClass] = {"organic": "organic", "paid": "paid", "unknown": "unknown"}


def _heuristic(name: str) -> ChannelClass:
    # Paid keywords are checked first: calling a paid channel organic would flatter the share,
    # the opposite mistake only makes the check more cautious.
    if any(w in name for w in _PAID_WORDS) or (_ADS.search(name) and not _NOT_ADS.search(name)):
        return "paid"
    if any(w in name for w in _ORGANIC_WORDS):
        return "organic"
    return "unknown"


def classify_channel(channel: str | None, channel_map: Mapping[str, str]) -> ChannelClass:
    """The class of a signup channel: the map (keys normalised) first, then keyword heuristics.

    The name is normalised with ``settings.normalise_channel`` (lower case, "_" between words)
    and looked up exactly, so a product's own overrides always win. Unmapped names containing
    "paid", "cpc", "ppc", "ads", "sponsor", "affiliate" or "display" are paid; then names with
    "organic", "referral", "seo", "direct", "community" or "word" are organic; anything else,
    and an empty channel, is unknown.
    """
    name = normalise_channel(channel or "").strip("()")
    if not name:
        return "unknown"
    mapped = _CLASSES.get(channel_map.get(name, ""))
    return mapped if mapped is not None else _heuristic(name)


_PAID_MEDIA = ("cpc", "ppc", "cpm", "cpa", "cpv", "display", "affiliate", "banner", "retargeting")
_ORGANIC_MEDIA = ("organic", "referral", "social", "email", "e_mail", "newsletter")
# Analytics tools write these for "no medium"; they say nothing about the channel.
_NO_MEDIUM = ("", "none", "not_set")


def classify_utm(
    utm_source: str | None, utm_medium: str | None, channel_map: Mapping[str, str]
) -> ChannelClass:
    """The class of a signup from its UTM tags: the medium decides first, then the source.

    A medium in the product's channel map wins (so overrides apply); otherwise cpc, ppc, cpm,
    display, affiliate and any "paid..." medium are paid, and organic, referral, social and email
    are organic. A missing or "(none)" medium leaves it to the source, classified like a channel.
    A signup with no UTM tags at all is "direct" traffic (typed URL, bookmark, a link in a chat),
    which SPEC §5 counts as organic; a source that is present but unrecognised stays unknown.
    """
    source = normalise_channel(utm_source or "").strip("()")
    medium = normalise_channel(utm_medium or "").strip("()")
    if medium not in _NO_MEDIUM:
        mapped = _CLASSES.get(channel_map.get(medium, ""))
        if mapped is not None and mapped != "unknown":
            return mapped
        if medium in _PAID_MEDIA or medium.startswith("paid"):
            return "paid"
        if medium in _ORGANIC_MEDIA:
            return "organic"
        by_medium = _heuristic(medium)
        if by_medium != "unknown":
            return by_medium
    if not source:
        return "organic" if medium in _NO_MEDIUM else "unknown"
    return classify_channel(source, channel_map)


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
    q = float(stats.t.ppf(0.5 + TREND_CONFIDENCE / 2, dof))
    return slope, (slope - q * se, slope + q * se)


def organic_signal(
    weeks: Sequence[WeekChannels], as_of: date, settings: OrganicSettings
) -> OrganicSignal:
    """SPEC §5 "Organic growth": is most growth organic, and is it holding up?

    Uses complete weeks only (later rows are ignored); weeks between the first week with signups
    and the last complete week that have no row count as zero signups. The window is the last
    ``window_weeks`` complete weeks and the previous window the same number of weeks before it.

    - organic_share = organic / (organic + paid) in the window, with a Wilson 95% interval;
      unknown_share = unknown / all signups in the window.
    - trend_per_week = OLS slope of the weekly share over the last ``trend_weeks`` weeks (weeks
      without classified signups are skipped), with a 90% t-interval: each end is a one-sided
      95% bound.
    - organic signups are "shrinking" when, out of the organic signups of both windows, the
      current window's count is too low for a fair coin: one-sided exact binomial p < 0.05.

    insufficient_data: fewer than ``min_signups`` classified signups in the window, fewer than 6
    weeks of history, or more than half the window's signups unknown. pass: share >= min_share,
    the trend's upper bound >= 0 and not shrinking. fail: share < min_share and the trend not
    confidently positive (lower bound <= 0), or the share confidently falling (upper bound < 0).
    Otherwise borderline.
    """
    lcw = last_complete_week(as_of)
    by_week: dict[int, list[int]] = {}
    for w in weeks:
        if w.week > lcw:
            continue
        acc = by_week.setdefault(w.week, [0, 0, 0])
        # int(): counts may arrive as numpy integers, which the JSON output cannot carry.
        acc[0] += int(w.organic)
        acc[1] += int(w.paid)
        acc[2] += int(w.unknown)
    with_signups = [w for w, (o, p, u) in by_week.items() if o + p + u > 0]
    first = min(with_signups) if with_signups else lcw + 1
    history = max(0, lcw - first + 1)

    def window_sum(start: int, end: int) -> tuple[int, int, int]:
        rows = [by_week.get(w, [0, 0, 0]) for w in range(start, end + 1)]
        return (sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows))

    n_win = settings.window_weeks
    organic, paid, unknown = window_sum(lcw - n_win + 1, lcw)
    prev_organic, prev_paid, _ = window_sum(lcw - 2 * n_win + 1, lcw - n_win)
    classified = organic + paid
    signups = classified + unknown
    share = organic / classified if classified else None
    share_ci = wilson(organic, classified) if classified else None
    unknown_share = unknown / signups if signups else None

    trend_start = max(lcw - settings.trend_weeks + 1, first)
    weekly: list[tuple[int, float | None]] = []
    for week in range(trend_start, lcw + 1):
        o, p, _u = by_week.get(week, [0, 0, 0])
        weekly.append((week, o / (o + p) if o + p else None))
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

    status: Status
    if problems:
        status = "insufficient_data"
        summary = "Not enough to judge organic growth: " + "; ".join(problems) + "."
    else:
        assert share is not None and share_ci is not None  # classified >= min_signups >= 1
        trend_ok = slope_ci is None or slope_ci[1] >= 0
        trend_up = slope_ci is not None and slope_ci[0] > 0
        falling = slope_ci is not None and slope_ci[1] < 0
        if share >= settings.min_share and trend_ok and not shrinking:
            status = "pass"
        elif (share < settings.min_share and not trend_up) or falling:
            status = "fail"
        else:
            status = "borderline"
        summary = (
            f"{t.pct(share)} of {t.count(classified)} signups with a known channel in {window_txt} "
            f"were organic (95% CI {t.pct_range(*share_ci)}; {t.share_setting(settings.min_share)} needed)"
        )
        if unknown:
            summary += f", {t.pct(unknown_share or 0.0)} of signups had no known channel"
        if slope is not None and slope_ci is not None:
            summary += (
                f"; share trend {t.pts(slope)} pts/week (90% CI {t.pts_range(*slope_ci)})"
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
    return bool(stats.binomtest(current, n, 0.5, alternative="less").pvalue < SHRINK_P)
