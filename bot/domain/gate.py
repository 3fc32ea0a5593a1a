"""The gate: three signals in, one verdict out, with the warnings and next steps that go with it.

This module owns the rule of SPEC §5 "Gate verdict" (ready only when retention, organic growth
and the survey all pass; not ready when any fails; otherwise "not sure yet, so not yet"), the
premature-scaling warning and a few other honest caveats, and the concrete next steps that would
move each unsettled signal. It reads only the signals and the settings: every number it quotes
comes from them, and the text is plain (no Slack markup) so the CLI, Block Kit and the digest
can all use it.
"""

from __future__ import annotations

from datetime import date

from bot.domain import _text as t
from bot.domain.freshness import stale_data
from bot.domain.organic import MAX_UNKNOWN_SHARE, MIN_HISTORY_WEEKS, organic_shrinking, paid_growth
from bot.domain.organic_questions import organic_answers
from bot.domain.retention import rel_range, rising_line
from bot.domain.settings import (
    OrganicSettings,
    ProductSettings,
    RetentionSettings,
)
from bot.domain.survey_steps import survey_steps
from bot.domain.types import (
    CohortTable,
    GateReport,
    OrganicSignal,
    RetentionSignal,
    Status,
    SurveySignal,
    Verdict,
    Warning_,
)

PAID_GROWTH_LIMIT = 0.20  # SPEC §5: paid signups growing more than 20% is premature scaling
UNKNOWN_WARNING_SHARE = 0.20  # above this the organic share rests on too few tagged signups
NA_WARNING_SHARE = 0.25  # above this many respondents have already left the product

# The verdict and the statuses in words: their one home, read by every surface (Slack, the CLI,
# the digest, the history, App Home, the charts, the default-rules line).
VERDICT_TEXT: dict[Verdict, str] = {
    "ready": "Ready to scale",
    "not_ready": "Not ready to scale",
    "unclear": "Not sure yet, so not yet",
}
# A status in running text ("retention reads pass under the defaults"; the CLI's [PASS])...
STATUS_WORD: dict[Status, str] = {"pass": "pass", "borderline": "borderline", "fail": "fail",
                                  "insufficient_data": "not enough data"}
# ... and standing alone as a signal's label ("Survey · not enough data yet").
STATUS_LABEL: dict[Status, str] = {**STATUS_WORD, "insufficient_data": f"{STATUS_WORD['insufficient_data']} yet"}


def verdict_text(verdict: Verdict) -> str:
    """The verdict in words, as every surface shows it."""
    return VERDICT_TEXT[verdict]


def _verdict(retention: RetentionSignal, organic: OrganicSignal, survey: SurveySignal) -> Verdict:
    statuses = (retention.status, organic.status, survey.status)
    if all(s == "pass" for s in statuses):
        return "ready"
    if any(s == "fail" for s in statuses):
        return "not_ready"
    # Borderline or missing evidence is not evidence of fit: unclear reads "not yet".
    return "unclear"


# --------------------------------------------------------------------------- warnings


def _warnings(verdict: Verdict, organic: OrganicSignal, survey: SurveySignal, window: int) -> list[Warning_]:
    out: list[Warning_] = []
    span = f"the last {t.plural(window, 'week')}"
    growth = paid_growth(organic)
    paid_majority = organic.paid_signups > organic.organic_signups
    paid_rising = growth is not None and growth > PAID_GROWTH_LIMIT
    if verdict != "ready" and (paid_majority or paid_rising):
        facts = []
        if paid_majority:
            facts.append(
                f"paid signups outnumber organic ones in {span} "
                f"({t.count(organic.paid_signups)} paid vs {t.count(organic.organic_signups)} organic)"
            )
        if paid_rising and growth is not None:
            facts.append(
                f"paid signups grew {t.pct(growth)} on the {t.plural(window, 'week')} before "
                f"({t.count(organic.previous_paid_signups)} to {t.count(organic.paid_signups)})"
            )
        out.append(
            Warning_(
                code="premature_scaling",
                message=(
                    "Scaling before product-market fit: "
                    + " and ".join(facts)
                    + ". Spend that buys users before they stay mostly buys churn."
                ),
            )
        )
    if organic.unknown_share is not None and organic.unknown_share > UNKNOWN_WARNING_SHARE:
        unknown = organic.signups - organic.organic_signups - organic.paid_signups
        out.append(
            Warning_(
                code="high_unknown_channels",
                message=(
                    f"{t.pct(organic.unknown_share)} of signups in {span} "
                    f"({t.count(unknown)} of {t.count(organic.signups)}) have no known channel, "
                    "so the organic share rests on the rest. Tag them, or map their channel names "
                    "with config channel.NAME organic|paid."
                ),
            )
        )
    if organic.untagged_share is not None and organic.untagged_share > UNKNOWN_WARNING_SHARE:
        out.append(
            Warning_(
                code="untagged_signups",
                message=(
                    f"{t.pct(organic.untagged_share)} of signups in {span} carry no tags "
                    f"({t.count(organic.untagged_signups)} of {t.count(organic.signups)}); "
                    + (
                        f"{t.count(round(organic.untagged_as_paid))} of them count as paid links that lost "
                        "their tags, the rest as organic. Tag every paid link so the share is measured, "
                        "not assumed."
                        if organic.untagged_as_paid
                        else "all count as organic. Tag every paid link so the share is measured, not assumed."
                    )
                ),
            )
        )
    if organic.custom_allowance is not None:
        out.append(
            Warning_(
                code="custom_rule",
                message=(
                    "Custom rule: untagged signups count as paid up to "
                    f"{t.share_setting(organic.custom_allowance)} of tagged paid ones (the default is "
                    f"{t.share_setting(OrganicSettings().untagged_paid_allowance)}); a manager set "
                    "organic.untagged_paid_allowance."
                ),
            )
        )
    if survey.unmatched and survey.responses:
        rate = (
            f"response rate {t.pct(survey.response_rate)} of channel members"
            if survey.response_rate is not None and survey.response_rate_base == "channel_members"
            else "response rate unknown"
        )
        out.append(
            Warning_(
                code="survey_unweighted",
                message=(
                    f"{t.count(survey.unmatched)} of {t.count(survey.responses)} survey answers could not be "
                    f"matched to product users, so they count unweighted ({rate}): keen users answer "
                    "more often, which can make the score read high."
                ),
            )
        )
    answers = survey.responses + survey.not_applicable
    if answers and survey.not_applicable / answers > NA_WARNING_SHARE:
        out.append(
            Warning_(
                code="many_former_users",
                message=(
                    f"{t.count(survey.not_applicable)} of {t.count(answers)} survey answers "
                    f"({t.pct(survey.not_applicable / answers)}) say they no longer use the "
                    "product; the score only describes those who still do."
                ),
            )
        )
    return out


# --------------------------------------------------------------------------- next steps


def _retention_steps(r: RetentionSignal, cfg: RetentionSettings) -> list[str]:
    if r.status == "insufficient_data":
        if r.users < cfg.min_users:
            return [
                f"Retention needs cohorts with at least {t.count(cfg.min_users)} users "
                f"({t.count(r.users)} so far): sign up more users before judging it."
            ]
        if r.weeks_observed >= cfg.min_weeks:
            return [
                f"Wait a few more weeks: the last {cfg.tail_weeks} weeks of retention must follow the same "
                f"{cfg.min_cohorts}+ signup cohorts with {t.count(cfg.min_users)}+ users."
            ]
        more = cfg.min_weeks - r.weeks_observed
        return [
            f"Wait at least {t.plural(more, 'more week')} of data: retention needs "
            f"{cfg.min_weeks} weeks with {t.count(cfg.min_users)}+ users each "
            f"({r.weeks_observed} so far)."
        ]
    span = t.week_span(r.tail_offsets)
    first = r.tail_offsets[0] if r.tail_offsets else 0
    if r.status == "borderline":
        if r.tail_slope_ci is None or r.plateau_level_ci is None:
            return [
                "Retention has no confidence interval (see its summary): re-run the check once the "
                "activity data is complete; it cannot pass without one."
            ]
        if r.awaiting_confirmation:
            return [
                "Retention passes if it holds next week: a flat curve must hold at two weekly "
                "checks in a row before it counts."
            ]
        steps = []
        if r.rising:
            line = rising_line(len(r.tail_offsets))
            steps.append(
                f"{line[0].upper()}{line[1:]} (slope {t.pts(r.tail_slope or 0.0)} points a week over "
                f"{span}): a win-back campaign, a season or a launch lifts the same users for a while; "
                "check again once retention stops rising."
            )
        if r.drifting and r.drift_ratio is not None:
            steps.append(
                f"Newer users retain less than your first ones (about {t.pct(r.drift_ratio)} as well "
                f"from week {r.drift_offset if r.drift_offset is not None else first} on): find what "
                "changed for later signups (audience, channel, onboarding) before counting on the "
                "early plateau."
            )
        rel_ci = r.relative_slope_ci
        if rel_ci is not None and rel_ci[0] <= -cfg.relative_tolerance and r.tail_slope_ci[0] > -cfg.flat_tolerance:
            steps.append(
                f"Retention over {span} may still lose more than {t.share_setting(cfg.relative_tolerance)} "
                f"of its remaining users a week (90% CI {rel_range(rel_ci)}): a few more weeks "
                "will show whether it has stopped."
            )
        if r.tail_slope_ci[0] <= -cfg.flat_tolerance:
            steps.append(
                f"Retention over {span} is not yet clearly flat (slope {t.pts(r.tail_slope or 0.0)} "
                f"points a week, 90% CI {t.pts_range(*r.tail_slope_ci)}): a few more weeks and more "
                "users per cohort will narrow it."
            )
        if r.plateau_level_ci[0] < cfg.min_plateau:
            steps.append(
                f"Retention of {t.pct(r.plateau_level or 0.0)} may be under the "
                f"{t.share_setting(cfg.min_plateau)} minimum (90% CI {t.pct_range(*r.plateau_level_ci)}): "
                f"find what brings users back after week {first}."
            )
        return steps
    if r.status == "fail":
        if r.plateau_level_ci is not None and r.plateau_level_ci[1] <= 0:
            return [f"No user of these cohorts came back over {span}: find why users stop coming back after "
                    f"week {first}."]
        if r.tail_slope_ci is not None and r.tail_slope_ci[1] < -cfg.flat_tolerance:
            return [
                f"Retention is still falling about {t.pts(-(r.tail_slope or 0.0), signed=False)} "
                f"points a week over {span}: find why users stop coming back after week {first}."
            ]
        if r.relative_slope_ci is not None and r.relative_slope_ci[1] < -cfg.relative_tolerance:
            return [
                f"Retention still loses about {t.pct(-(r.relative_slope or 0.0))} of its remaining "
                f"users a week over {span}: that is steady decay, not a plateau; find why users "
                f"stop coming back after week {first}."
            ]
        return [
            f"Retention levels off at {t.pct(r.plateau_level or 0.0)}, under the "
            f"{t.share_setting(cfg.min_plateau)} minimum: find what brings users back after week {first}."
        ]
    return []


def _organic_steps(o: OrganicSignal, cfg: OrganicSettings) -> list[str]:
    classified = o.organic_signups + o.paid_signups
    span = f"the last {t.plural(cfg.window_weeks, 'week')}"
    need = t.share_setting(cfg.min_share)
    answers = organic_answers(o) if o.status != "pass" else []
    if o.status == "insufficient_data":
        steps = answers
        if o.unknown_share is not None and o.unknown_share > MAX_UNKNOWN_SHARE:
            steps.append(
                f"Tag unknown signups with a channel: {t.pct(o.unknown_share)} of signups in {span} "
                f"have none (at most {t.share_setting(MAX_UNKNOWN_SHARE)} may be unknown)."
            )
        if classified < cfg.min_signups:
            steps.append(
                f"Get {t.count(cfg.min_signups - classified)} more signups with a known channel: "
                f"{t.count(classified)} in {span}, {cfg.min_signups} needed."
            )
        if o.weeks_observed < MIN_HISTORY_WEEKS:
            steps.append(
                f"Wait {t.plural(MIN_HISTORY_WEEKS - o.weeks_observed, 'more week')} of signup "
                f"history ({o.weeks_observed} of {MIN_HISTORY_WEEKS} so far)."
            )
        return steps
    share = o.organic_share or 0.0
    slope, ci = o.trend_per_week, o.trend_ci
    if o.status == "fail":
        if ci is not None and ci[1] < 0:
            return [
                f"The organic share ({t.pct(share)}) is falling about "
                f"{t.pts(-(slope or 0.0), signed=False)} points a week: find which organic source is "
                "drying up before adding paid spend."
            ]
        return [
            f"Only {t.pct(share)} of signups with a known channel are organic ({need} needed): "
            "find where users arrive on their own (referrals, word of mouth, search) and grow that."
        ]
    if o.status == "borderline":
        steps = answers
        lower = o.organic_share_lower
        without = o.lower_without_biggest_week
        if (lower is not None and lower >= cfg.min_share and without is not None and without < cfg.min_share
                and o.share_without_biggest_week is not None):
            steps.append(
                f"Without its biggest week the organic share is {t.pct(o.share_without_biggest_week)}, "
                f"not clearly over {need}: one big week (a launch, a viral post) carries it; it passes "
                "once ordinary weeks clear the bar on their own."
            )
        if share >= cfg.min_share and lower is not None and lower < cfg.min_share:
            steps.append(
                f"The organic share ({t.pct(share)}) could still be under {need} (it must clear it "
                f"with 95% confidence): a few more weeks of signups will settle it; grow the "
                "organic channels meanwhile."
            )
        if share < cfg.min_share and slope is not None and slope > 0:
            weeks = (cfg.min_share - share) / slope
            steps.append(
                f"The organic share ({t.pct(share)}) is under {need} but rising "
                f"{t.pts(slope)} points a week: at that pace it reaches {need} in about "
                f"{t.plural(max(1, round(weeks)), 'week')}."
            )
        if organic_shrinking(o):
            change = o.organic_weekly_change or 0.0
            steps.append(
                f"Organic signups are falling about {t.pct(-change)} a week ({t.count(o.organic_signups)} "
                f"in {span}, {t.count(o.previous_organic_signups)} in the weeks before): find which source "
                "dried up."
            )
        if not steps:
            steps.append(
                f"The organic share is {t.pct(share)} of {t.count(classified)} signups "
                f"({need} needed): a few more weeks will show which way it goes."
            )
        return steps
    return []


# --------------------------------------------------------------------------- after "ready"
# SPEC §10: once all three signals pass, the next steps turn to scaling — four dimensions, each
# grown where the evidence says it strains — and warn against the classic post-fit mistake.
SCALE_STEPS: tuple[str, ...] = (
    "Harden the technology where it strains: measure what breaks or slows as usage grows "
    "(errors, latency, on-call pages) and fix those parts first.",
    "Broaden the product by usage data: build on what the very disappointed use and love most "
    "(the survey's lessons: `/pmf-check lessons`), and fix what holds the somewhat disappointed back.",
    "Add team and process without losing speed: hire for the bottleneck, keep teams small and "
    "owning their area, and add only the process that removes a repeated failure.",
    "Automate operations: onboarding, billing, support answers and deploys that a person does "
    "by hand every week are the first to automate.",
    "Do not rewrite the product from scratch: it is what users love. Replace the parts that "
    "strain one at a time, behind the same behaviour, while it keeps running.",
)


# --------------------------------------------------------------------------- the report


def evaluate(
    *,
    product: str,
    product_name: str,
    as_of: date,
    retention: RetentionSignal,
    organic: OrganicSignal,
    survey: SurveySignal,
    settings: ProductSettings,
    cohort_table: CohortTable | None = None,
) -> GateReport:
    """The gate report: verdict, warnings and next steps from the three signals.

    ready iff all three pass; not_ready if any fails; unclear otherwise. Warnings:
    "premature_scaling" (verdict not ready and paid signups outnumber organic ones in the window
    or grew more than 20% on the previous window), "high_unknown_channels" (more than 20% of the
    window's signups have no known channel), "untagged_signups" (more than 20% carry no tags),
    "custom_rule" (a manager changed the untagged-paid allowance), "survey_unweighted" (answers
    that could not be matched to users count unweighted) and "many_former_users" (more than a
    quarter of the survey answers are N/A). Next steps cover every signal that has not passed, retention first;
    when the verdict is ready they turn to how to scale (``SCALE_STEPS``).
    ``cohort_table`` is carried along for the charts.
    """
    verdict = _verdict(retention, organic, survey)
    steps = (
        _retention_steps(retention, settings.retention)
        + _organic_steps(organic, settings.organic)
        + survey_steps(survey, settings.survey)
    )
    if verdict == "ready":
        steps += list(SCALE_STEPS)
    warnings = _warnings(verdict, organic, survey, settings.organic.window_weeks)
    stale = stale_data(cohort_table)
    if stale is not None:  # first: every other figure depends on it
        warnings.insert(0, stale[0])
        steps.insert(0, stale[1])
    return GateReport(
        product=product,
        product_name=product_name,
        as_of=as_of,
        verdict=verdict,
        retention=retention,
        organic=organic,
        survey=survey,
        warnings=tuple(warnings),
        next_steps=tuple(steps),
        cohort_table=cohort_table,
    )
