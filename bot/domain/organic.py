"""Organic growth (SPEC §5): is most growth organic, and is it holding up?

This module owns the organic signal: the organic share of classified signups over the last
complete weeks with a Wilson interval widened for week-to-week dispersion (also judged without
the window's biggest week), the weekly trend of that share with a t-interval, a quasi-Poisson
test of whether organic signups are shrinking, and what the manager still has to answer
(unclassified sources, rewarded referrals). Classification is bot/domain/channels.py; the
statistics are bot/domain/organic_stats.py. Weeks are the complete Monday-based weeks of
``weeks.py``; a week with no row had no signups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from bot.domain import _text as t
from bot.domain.channels import CLICK_PREFIX, REFERRAL_KEY, classify_signup
from bot.domain.confidence import ORGANIC_FALLING, ORGANIC_PASS_Z, ORGANIC_SHRINKING_P, TREND_CI
from bot.domain.distributions import t_ppf
from bot.domain.organic_questions import REFERRAL_HINT, UNTAGGED_HINT, classify_hint
from bot.domain.organic_stats import dispersion, quasi_poisson_trend, wilson_dispersed
from bot.domain.settings import OrganicSettings
from bot.domain.survey import Z95
from bot.domain.types import ChannelClass, OrganicSignal, Status, WeekChannels
from bot.domain.weeks import last_complete_week

MIN_HISTORY_WEEKS = 6  # SPEC §5: fewer weeks of history is insufficient_data
MAX_UNKNOWN_SHARE = 0.5  # SPEC §5: more than half the signups unknown is insufficient_data
SHRINK_P = ORGANIC_SHRINKING_P  # one-sided significance for "organic signups are shrinking"
REFERRAL_QUESTION_SHARE = 0.15  # referrals above this share of the window: ask if they are rewarded
UNTAGGED_MAJORITY = 0.5  # untagged above this share of the classified signups: at most borderline
# The confidence levels (and why each is what it is) live in bot/domain/confidence.py.
TREND_CONFIDENCE = TREND_CI  # two-sided, so each end is a one-sided 95% bound (the interval shown)
FALLING_CONFIDENCE = ORGANIC_FALLING  # "confidently falling": a one-sided 99% bound

# Classification lives in bot/domain/channels.py; these names are kept for its callers.
__all__ = ["classify_channel", "classify_signup", "classify_utm", "organic_signal"]


def classify_channel(channel: str | None, channel_map: Mapping[str, str]) -> ChannelClass:
    """The class of a signup known only by its channel name (see ``channels.classify_tags``)."""
    return classify_signup(channel, None, None, channel_map)


def classify_utm(
    utm_source: str | None, utm_medium: str | None, channel_map: Mapping[str, str]
) -> ChannelClass:
    """The class of a signup known only by its UTM tags (see ``channels.classify_tags``)."""
    return classify_signup(None, utm_source, utm_medium, channel_map)


# --------------------------------------------------------------------------- the signal


def _trend(
    points: list[tuple[int, float]],
) -> tuple[float | None, tuple[float, float] | None, float | None]:
    """OLS slope of share on week with its 90% t-interval, and its one-sided upper bound at
    ``FALLING_CONFIDENCE`` (None with fewer than 3 weeks)."""
    if len(points) < 3:
        return None, None, None
    x = np.array([p[0] for p in points], dtype=np.float64)
    y = np.array([p[1] for p in points], dtype=np.float64)
    xc = x - x.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ (y - y.mean())) / sxx
    resid = y - y.mean() - slope * xc
    dof = len(points) - 2
    se = float(np.sqrt(float(resid @ resid) / dof / sxx))
    q = t_ppf(0.5 + TREND_CONFIDENCE / 2, dof)
    return slope, (slope - q * se, slope + q * se), slope + t_ppf(FALLING_CONFIDENCE, dof) * se


Z_ONE_SIDED_95 = ORGANIC_PASS_Z  # the share passes on its one-sided 95% Wilson lower bound


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


@dataclass
class _Week:
    """One week's signups after the manager's answers: organic, paid, unknown, untagged, and
    the referral, click-id and still-unclassified counts inside them."""

    organic: int = 0
    paid: int = 0
    unknown: int = 0
    direct: int = 0
    referral: int = 0
    clicked: int = 0
    pending: dict[str, int] = field(default_factory=dict)

    def add(self, w: WeekChannels, sources: Mapping[str, str], rewarded: bool) -> None:
        # int(): counts may arrive as numpy integers, which the JSON output cannot carry.
        self.organic += int(w.organic)
        self.paid += int(w.paid)
        self.unknown += int(w.unknown)
        self.direct += int(w.direct)
        for key, raw in w.keys:
            n = int(raw)
            if key.startswith(CLICK_PREFIX):
                self.clicked += n
            elif key == REFERRAL_KEY:
                self.referral += n
                if rewarded:
                    self.organic, self.paid = self.organic - n, self.paid + n
            elif sources.get(key) in ("organic", "paid"):
                self.unknown -= n
                if sources[key] == "organic":
                    self.organic += n
                else:
                    self.paid += n
            else:
                self.pending[key] = self.pending.get(key, 0) + n

    def merge(self, other: _Week) -> None:
        for name in ("organic", "paid", "unknown", "direct", "referral", "clicked"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, n in other.pending.items():
            self.pending[key] = self.pending.get(key, 0) + n

    @property
    def total(self) -> int:
        return self.organic + self.paid + self.unknown + self.direct


def _window(rows: Sequence[_Week]) -> _Week:
    out = _Week()
    for r in rows:
        out.merge(r)
    return out


def _share(rows: Sequence[_Week], allowance: float, z: float, phi: float) -> tuple[float | None, float | None, int]:
    """(share, lower bound, classified) of these weeks, the allowance split over them together
    and the interval's variance times the dispersion ``phi``."""
    w = _window(rows)
    organic, _paid, _moved = _split(w.organic, w.paid, w.direct, allowance)
    classified = w.organic + w.paid + w.direct
    if not classified:
        return None, None, 0
    share = organic / classified
    return share, wilson_dispersed(share, classified, phi, z)[0], classified


def _dispersion(rows: Sequence[_Week], allowance: float) -> float:
    weekly = [(_split(r.organic, r.paid, r.direct, allowance)[0], r.organic + r.paid + r.direct) for r in rows]
    return dispersion([k for k, _ in weekly], [n for _, n in weekly], linear=True)


def organic_signal(
    weeks: Sequence[WeekChannels], as_of: date, settings: OrganicSettings,
    *, sources: Mapping[str, str] | None = None,
) -> OrganicSignal:
    """SPEC §5 "Organic growth": is most growth organic, and is it holding up?

    Uses complete weeks only (later rows are ignored); weeks between the first week with signups
    and the last complete week that have no row count as zero signups. ``sources`` are the
    ambiguous sources a manager classified (``organic.classify``); the rest stay unknown.
    Referral-tagged signups are paid when ``settings.referrals_rewarded`` is "yes". Untagged
    ("direct") signups count as organic except ``untagged_as_paid`` of them.

    - organic_share = organic / (organic + paid + untagged) over the last ``window_weeks``, with a
      Wilson interval whose variance is multiplied by the dispersion of the weekly shares
      (Pearson chi-square / df around their trend line over the ``trend_weeks``, at least 1: over
      the window's 4 weeks alone, 3 df, the estimate was too noisy and a varying true 50% mix
      passed 6-7% of simulated runs; tests/domain/calibration_organic.py), and its one-sided 95%
      lower bound.
    - trend_per_week = OLS slope of the weekly share over ``trend_weeks`` (90% t-interval).
    - shrinking: a quasi-Poisson regression of weekly organic signups on the week over
      ``trend_weeks`` finds them falling (one-sided p < 0.05).
    - pass: lower bound >= min_share, and the same with the window's biggest week left out, and
      with the unclassified sources counted as paid; trend upper bound >= 0; not shrinking.
      Then capped at borderline while referrals are above 15% of the window and the manager has
      not said whether they are rewarded, and when untagged signups are more than half the
      classified ones. fail and insufficient_data as before (SPEC §5).
    """
    lcw = last_complete_week(as_of)
    allowance = settings.untagged_paid_allowance
    classes = dict(sources or {})
    rewarded = settings.referrals_rewarded == "yes"
    by_week: dict[int, _Week] = {}
    for w in weeks:
        if w.week <= lcw:
            by_week.setdefault(w.week, _Week()).add(w, classes, rewarded)
    with_signups = [w for w, row in by_week.items() if row.total > 0]
    first = min(with_signups) if with_signups else lcw + 1
    history = max(0, lcw - first + 1)

    def rows(start: int, end: int) -> list[_Week]:
        return [by_week.get(w, _Week()) for w in range(start, end + 1)]

    n_win = settings.window_weeks
    current, previous = rows(lcw - n_win + 1, lcw), rows(lcw - 2 * n_win + 1, lcw - n_win)
    win, prev = _window(current), _window(previous)
    organic_f, paid_f, moved = _split(win.organic, win.paid, win.direct, allowance)
    prev_organic_f, prev_paid_f, _ = _split(prev.organic, prev.paid, prev.direct, allowance)
    organic, paid = round(organic_f), round(paid_f)
    untagged, unknown = win.direct, win.unknown
    classified = win.organic + win.paid + win.direct
    signups = classified + unknown
    phi = _dispersion(rows(max(lcw - max(settings.trend_weeks, n_win) + 1, first), lcw), allowance)
    share, lower, _n = _share(current, allowance, Z_ONE_SIDED_95, phi)
    share_ci = wilson_dispersed(share, classified, phi, Z95) if share is not None else None
    unknown_share = unknown / signups if signups else None
    untagged_share = untagged / signups if signups else None
    pending = tuple(sorted(((k, n) for k, n in win.pending.items() if n > 0), key=lambda kv: (-kv[1], kv[0])))
    pending_n = sum(n for _k, n in pending)

    # The same share with the window's biggest week left out (a viral week must not carry it),
    # with the same dispersion.
    without_share = without_lower = None
    if n_win > 1 and win.total:
        biggest = max(range(n_win), key=lambda i: (current[i].total, i))
        without_share, without_lower, _n2 = _share(
            [r for i, r in enumerate(current) if i != biggest], allowance, Z_ONE_SIDED_95, phi)
    # And with every unclassified source counted as paid: passing must not hang on them.
    worst_lower = (wilson_dispersed(organic_f / (classified + pending_n), classified + pending_n, phi,
                                    Z_ONE_SIDED_95)[0] if classified else None)

    trend_start = max(lcw - settings.trend_weeks + 1, first)
    weekly: list[tuple[int, float | None]] = []
    organic_counts: list[float] = []
    for week in range(trend_start, lcw + 1):
        r = by_week.get(week, _Week())
        wo, _wp, _m = _split(r.organic, r.paid, r.direct, allowance)
        n = r.organic + r.paid + r.direct
        weekly.append((week, wo / n if n else None))
        organic_counts.append(wo)
    slope, slope_ci, falling_upper = _trend([(week, s) for week, s in weekly if s is not None])
    fit = quasi_poisson_trend(organic_counts)
    shrinking = fit is not None and fit.p_falling < SHRINK_P

    referral_question = (not settings.referrals_rewarded and signups > 0
                         and win.referral / signups > REFERRAL_QUESTION_SHARE)
    untagged_majority = classified > 0 and untagged > UNTAGGED_MAJORITY * classified

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
        if pending:
            summary += " " + classify_hint(pending) + "."
    else:
        assert share is not None and share_ci is not None and lower is not None
        falling = falling_upper is not None and falling_upper < 0
        trend_ok = not falling
        trend_up = slope_ci is not None and slope_ci[0] > 0
        bar = settings.min_share
        holds_without = without_lower is None or without_lower >= bar
        holds_worst = worst_lower is None or worst_lower >= bar
        if lower >= bar and holds_without and holds_worst and trend_ok and not shrinking:
            status = "pass"
        elif (share < bar and not trend_up) or falling:
            status = "fail"
        else:
            status = "borderline"
        if status == "pass" and (referral_question or untagged_majority):
            status = "borderline"
        summary = (
            f"{t.pct(share)} of {t.count(classified)} signups with a known channel in {window_txt} "
            f"were organic (95% CI {t.pct_range(*share_ci)}; {t.share_setting(bar)} needed"
        )
        if status != "pass" and share >= bar and lower < bar:
            summary += ", and the share could still be under that"
        summary += ")"
        if phi > 1.0:
            summary += f"; the weekly mix varies {phi:.1f}x more than chance, and the interval allows for it"
        if status != "pass" and lower >= bar and not holds_without and without_share is not None:
            summary += (f"; without its biggest week the share is {t.pct(without_share)}, "
                        "which does not clear the bar on its own")
        if win.clicked:
            summary += f"; {t.count(win.clicked)} signups came from an ad click (a click id in the URL), counted paid"
        if untagged:
            summary += (
                f"; {t.pct(untagged_share or 0.0)} of signups carry no tags, "
                + (
                    f"{t.count(round(moved))} of them counted as paid links that lost their tags"
                    if moved else "all counted as organic"
                )
            )
        if untagged_majority:
            summary += f"; {UNTAGGED_HINT}"
        if custom is not None:
            summary += (
                f" (custom rule: untagged signups count as paid up to {t.share_setting(custom)} of "
                f"tagged paid ones, not {t.share_setting(OrganicSettings().untagged_paid_allowance)})"
            )
        if unknown:
            summary += f"; {t.pct(unknown_share or 0.0)} of signups had no known channel"
        if pending:
            summary += "; " + classify_hint(pending)
        if referral_question:
            summary += (f"; {t.pct(win.referral / signups)} of signups came from referrals: {REFERRAL_HINT}")
        elif win.referral and rewarded:
            summary += f"; {t.count(win.referral)} referral signups counted paid (referrals are rewarded)"
        if slope is not None and slope_ci is not None:
            summary += (
                f"; share trend {t.pts(slope)} points a week (90% CI {t.pts_range(*slope_ci)})"
            )
        if shrinking and fit is not None:
            summary += (
                f"; organic signups are falling about {t.pct(-fit.weekly_change)} a week over the last "
                f"{t.plural(len(organic_counts), 'week')}"
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
        previous_organic_signups=round(prev_organic_f),
        previous_paid_signups=round(prev_paid_f),
        weeks_observed=history,
        weekly_shares=tuple(weekly),
        summary=summary,
        organic_share_lower=lower,
        untagged_signups=untagged,
        untagged_as_paid=moved,
        untagged_share=untagged_share,
        custom_allowance=custom,
        unclassified_sources=pending,
        referral_signups=win.referral,
        referral_question=referral_question,
        untagged_majority=untagged_majority,
        click_id_signups=win.clicked,
        dispersion=phi,
        share_without_biggest_week=without_share,
        lower_without_biggest_week=without_lower,
        shrinking=shrinking,
        organic_weekly_change=fit.weekly_change if fit is not None else None,
    )


def paid_growth(signal: OrganicSignal) -> float | None:
    """Relative change of paid signups from the previous window; None when it had none."""
    if signal.previous_paid_signups == 0:
        return None
    return (signal.paid_signups - signal.previous_paid_signups) / signal.previous_paid_signups


def organic_shrinking(signal: OrganicSignal) -> bool:
    """Whether organic signups are confidently falling (the quasi-Poisson test of organic_signal)."""
    return signal.shrinking
