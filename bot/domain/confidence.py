"""The confidence levels the gate decides with: their one home, each named by what it decides.

Changing a value here changes the gate (and the labels every surface shows beside an interval,
which read these names too). docs/calibration.md has the measurements behind each level (false
passes, power, week-to-week flips); the README says what they mean for a reader. Pure constants.

Levels that name bootstrap percentiles are in percent, so the percentile is exact (100 - 95.0 is
5.0); levels that feed a t or normal quantile are fractions. ``retention.drift_ratio`` (0.95) is a
ratio of retention rates, not a confidence level: it is a setting (bot/domain/settings.py).
"""

from __future__ import annotations

# --------------------------------------------------------------------------- intervals shown

# Shares and the survey score are shown with a two-sided 95% Wilson interval; the survey fails
# when the upper end of that interval is under its bar.
SHARE_CI = 0.95
Z_SHARE_CI = 1.959963984540054  # SHARE_CI's two-sided normal quantile, as statsmodels uses it
# The organic share's weekly trend is shown with a two-sided 90% t-interval (each end a one-sided
# 95% bound).
TREND_CI = 0.90

# --------------------------------------------------------------------------- decisions

# The survey passes when the Wilson lower bound at this z (about a one-sided 99.7% bound) clears
# the bar: a score read every week clears a 95% bound by luck too often (SPEC §5). The default of
# survey.pass_z.
SURVEY_PASS_Z = 2.7
# The organic share passes when its one-sided 95% Wilson lower bound clears organic.min_share.
ORGANIC_PASS = 0.95
ORGANIC_PASS_Z = 1.6448536269514722  # ORGANIC_PASS's one-sided normal quantile
# "Confidently falling" (blocks a pass, and fails the signal) is decided on a one-sided 99% bound
# of the share's trend: at 95% a steady 70% organic product read "falling" in 5% of weekly checks
# and flipped ready -> not ready in 27% of 13-week histories (issue 18 merge).
ORGANIC_FALLING = 0.99
# Organic signups "shrinking" (a warning): their count's trend falls at one-sided p below this.
ORGANIC_SHRINKING_P = 0.05
# Retention's tail slope, level and relative slope pass or fail on one-sided 95% bootstrap bounds:
# the ends of the two-sided 90% interval shown.
RETENTION_BOUND_PCT = 95.0
# A tail is "rising" only when the slope's one-sided 98% lower bound clears 0: at 95% a truly flat
# tail read "rising" in 1 check in 20 (whole-gate power 74%); at 99% a win-back blast passed 29/600
# (4.8%); at 98% 18/600 (3.0%) with power 122/150 (81%) (issue 18 merge, seeded simulations in
# tests/domain/calibration_gate.py).
RETENTION_RISING_PCT = 98.0
# Newer cohorts drift below the first ones when the one-sided 95% upper bound of their retention
# ratio is under retention.drift_ratio.
RETENTION_DRIFT_PCT = 95.0
# A segment "stands out" at a family-wise 5% chance of naming one when none truly differs
# (Bonferroni over the segments compared).
SEGMENT_FAMILY_ALPHA = 0.05


def lower_percentile(level_pct: float) -> float:
    """The percentile of a one-sided lower bound at ``level_pct`` percent (95.0 -> 5.0)."""
    return 100.0 - level_pct


def two_sided_pct(one_sided_pct: float) -> float:
    """The two-sided interval whose ends are one-sided bounds at ``one_sided_pct`` (95 -> 90)."""
    return 2.0 * one_sided_pct - 100.0
