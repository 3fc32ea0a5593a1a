"""The survey's next steps (SPEC §5 "next_steps"): what would settle an unsettled survey signal —
how many more answers, or who still has to be heard. Pure text from the signal."""

from __future__ import annotations

from bot.domain import _text as t
from bot.domain.settings import SurveySettings
from bot.domain.types import SurveySignal
from bot.domain.weighting import COVERAGE_MIN, coverage_line, unmatched_line


def who_steps(s: SurveySignal) -> list[str]:
    # Coverage and unmatched answers (SPEC §5 "Who answered"): what would lift each limit.
    steps = []
    if s.uncovered_tiers:
        line = coverage_line(s.uncovered_tiers)
        steps.append(
            f"{line[0].upper()}{line[1:]}: ask users of every activity level (light users are active "
            f"1\u20132 of the last 8 weeks), e.g. in the product or by email, until each has "
            f"{COVERAGE_MIN} answers; a survey of fans alone cannot pass."
        )
    if s.too_many_unmatched or s.unmatched_lift:
        without = "; without them the score does not clear the bar" if s.unmatched_lift else ""
        steps.append(
            f"{unmatched_line(s.unmatched, s.responses).capitalize()}{without}: import answers with "
            "respondent_id set to the user_id of your signups, or import signups with an email column "
            "so Slack answers are matched; at most a quarter may be unmatched, and they can never make a pass."
        )
    return steps


def survey_steps(s: SurveySignal, cfg: SurveySettings) -> list[str]:
    bar = t.share_setting(cfg.threshold)
    n = s.more_responses_needed
    who = who_steps(s)
    if who and s.status == "borderline" and s.pass_bound is not None and s.pass_bound >= cfg.threshold:
        return who  # the score itself clears the bar: only who answered holds it back
    if s.status == "insufficient_data":
        shortfall = cfg.min_responses - s.responses
        if n > shortfall and s.score is not None:
            return [
                f"Collect {s.more_responses_text} more survey responses ({t.count(s.responses)} so far): "
                f"{cfg.min_responses} are needed for a verdict, and if the score stays near "
                f"{t.pct(s.score)}, {s.more_responses_text} more give an 80% chance of settling whether "
                f"it clears {bar}."
            ]
        return [
            f"Collect {t.count(max(n, shortfall))} more survey responses ({t.count(s.responses)} so far; "
            f"at least {cfg.min_responses} are needed for a verdict)."
        ]
    if s.status == "borderline":
        score = t.pct(s.score or 0.0)
        if n > 0:
            return who + [
                f"Collect {s.more_responses_text} more survey responses ({t.count(s.responses)} so far): "
                f"if the score stays near {score}, that gives an 80% chance of settling whether it "
                f"clears {bar} (a range: each new answer moves the estimate)."
            ]
        return who + [
            f"The survey score ({score}) sits right at the {bar} bar, so more responses alone will "
            "not settle it: improve the product for the users who would be very disappointed and "
            "survey again."
        ]
    if s.status == "fail":
        return [
            f"Only {t.pct(s.score or 0.0)} of users would be very disappointed (the bar is {bar}): "
            "ask the very disappointed what they value most and focus the product on users like them."
        ]
    return []
