"""Block Kit builders: domain values in, ``{"text": fallback, "blocks": [...]}`` dicts out.

Pure presentation for every PMF Gate message and the App Home tab: the gate report (the
``/pmf-check`` reply), the weekly digest, help, errors, product lists, settings and the Home view.
Every builder returns fallback ``text`` that reads well on its own (notifications, screen readers),
shows each number with its sample size and confidence interval, escapes user-supplied names, and truncates
long text so that the payload always passes ``limits.validate_blocks``. Action ids are the
``ACTION_*`` constants here; ``handlers/ids.py`` re-exports them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.domain import confidence

# The verdict's and the statuses' words live in the domain (bot/domain/gate.py); the surfaces
# import them from here or from there.
from bot.domain.gate import STATUS_LABEL as STATUS_LABEL
from bot.domain.gate import VERDICT_TEXT as VERDICT_TEXT
from bot.domain.gate import verdict_text as verdict_text
from bot.domain.types import (
    GateReport,
    OrganicSignal,
    RetentionSignal,
    Status,
    SurveySignal,
    Verdict,
)
from bot.render import limits

VERDICT_EMOJI: dict[Verdict, str] = {
    "ready": ":white_check_mark:",
    "not_ready": ":no_entry:",
    "unclear": ":warning:",
}
VERDICT_MEANING: dict[Verdict, str] = {
    "ready": "All three signals clear the bar with 95% confidence: retention has flattened, "
    "growth is mostly organic and enough users would be very disappointed without the product.",
    "not_ready": "At least one signal is confidently below the bar. Fix that before spending on growth.",
    "unclear": "Nothing fails, but not every signal clears the bar with confidence yet.",
}
RULE = "If you are not sure you have product-market fit, you don't have it yet."

# Confidence levels of the domain's intervals, as the labels must say (from bot/domain/confidence.py).
# Shares and the survey score use a Wilson 95% interval; the retention tail (level and slope, a
# bootstrap over users) and the organic trend are two-sided 90% intervals, whose ends are the
# one-sided 95% bounds the tests use.
SHARE_CI_LEVEL = round(100 * confidence.SHARE_CI)
SCORE_CI_LEVEL = SHARE_CI_LEVEL
PLATEAU_CI_LEVEL = round(confidence.two_sided_pct(confidence.RETENTION_BOUND_PCT))
SLOPE_CI_LEVEL = PLATEAU_CI_LEVEL
TREND_CI_LEVEL = round(100 * confidence.TREND_CI)

STATUS_EMOJI: dict[Status, str] = {
    "pass": ":white_check_mark:",
    "borderline": ":large_yellow_circle:",
    "fail": ":x:",
    "insufficient_data": ":hourglass_flowing_sand:",
}
STATUS_FOOTER = (
    f"{STATUS_EMOJI['pass']} *{STATUS_LABEL['pass']}*: clears the bar with 95% confidence · "
    f"{STATUS_EMOJI['borderline']} *{STATUS_LABEL['borderline']}*: the interval straddles the bar · "
    f"{STATUS_EMOJI['fail']} *{STATUS_LABEL['fail']}*: confidently below the bar · "
    f"{STATUS_EMOJI['insufficient_data']} *{STATUS_LABEL['insufficient_data']}*. "
    "Every value shows how many users or answers it rests on and its confidence interval (CI): "
    f"{SHARE_CI_LEVEL}% for shares and the survey score, {PLATEAU_CI_LEVEL}% for retention and trends "
    f"(each end of a {PLATEAU_CI_LEVEL}% interval is a one-sided {confidence.RETENTION_BOUND_PCT:g}% bound). "
    "A point is a percentage point."
)

# What each signal's status means for scaling, in one plain sentence (the numbers follow it).
HEADLINE: dict[str, dict[Status, str]] = {
    "Retention": {
        "pass": "Users who stay keep using it: retention has stopped falling, so new users will not drain away.",
        "borderline": "Retention may be levelling off, but it is not certain yet: new users could still drain away.",
        "fail": "Users keep leaving: money spent on growth would leak out.",
        "insufficient_data": "Too few weeks of users yet to tell whether they stay.",
    },
    "Organic": {
        "pass": "Most new users find you on their own: growth does not hang on paid ads.",
        "borderline": "About half of new users find you on their own, but it is not yet certain that most do.",
        "fail": "Growth is mostly bought: it would stop when the ad spend stops.",
        "insufficient_data": "Too few signups with a known channel yet to tell how people find you.",
    },
    "Survey": {
        "pass": "Enough users would be very disappointed without it: people need the product.",
        "borderline": "Users like it, but it is not yet sure that enough of them would miss it.",
        "fail": "Too few users would miss it: the product is not a must-have yet.",
        "insufficient_data": "Too few survey answers yet to tell whether users would miss it.",
    },
}

# Sections a long list may fill, leaving a 50-block message room for its header and footer.
_LIST_SECTIONS_MAX = 40


# --------------------------------------------------------------------------- formatting


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters, so user-supplied
    names cannot mention ``<!channel>`` or break links. Callers embedding user input in
    ``error_message``/``home_view`` lines must escape it with this."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pct(x: float, nd: int = 1) -> str:
    """0.4 -> "40.0%"."""
    return f"{x * 100:.{nd}f}%"


def pct_ci(ci: tuple[float, float] | None, level: int = SHARE_CI_LEVEL) -> str:
    """(0.263, 0.554) -> "95% CI 26.3–55.4%"."""
    if ci is None:
        return f"{level}% CI not available"
    return f"{level}% CI {ci[0] * 100:.1f}–{ci[1] * 100:.1f}%"


def pts(x: float) -> str:
    """A change of a fraction in signed percentage points: -0.002 -> "−0.2 points"."""
    return f"{_signed(x * 100)} points"


def pts_ci(ci: tuple[float, float] | None, level: int = SLOPE_CI_LEVEL) -> str:
    """(-0.006, 0.002) -> "90% CI −0.6 to +0.2" (percentage points)."""
    if ci is None:
        return f"{level}% CI not available"
    return f"{level}% CI {_signed(ci[0] * 100)} to {_signed(ci[1] * 100)}"


def _signed(v: float) -> str:
    s = f"{v:+.1f}"
    if s in ("+0.0", "-0.0"):
        return "0.0"
    return s.replace("-", "−")


def num(n: int) -> str:
    return f"{n:,}"




# --------------------------------------------------------------------------- no data yet


def no_data_text(name: str, slug: str) -> str:
    """mrkdwn for a product with no data: "No data for Acme yet" and the two ways to get data in
    (``name`` and ``slug`` are escaped here)."""
    s = escape(slug)
    return (
        f":inbox_tray: *No data for {escape(name)} yet.* The gate reads your users' signups and weekly "
        "activity (and survey answers); none has arrived for a complete week so far. Two ways in:\n"
        f"• *From a file*, on the server: `pmfbot import signups FILE --product {s}` and "
        f"`pmfbot import events FILE --product {s}`\n"
        f"• *From your app*: `/pmf-check token {s}` gives a write key for the HTTP ingest API "
        "(`POST /api/v1/ingest`) or the Segment-compatible API (`/v1/batch`, any Segment or RudderStack source)\n"
        "Data from the current week counts once the week is over."
    )


def no_data_fallback(name: str, slug: str) -> str:
    """The same in one plain line (notifications, search)."""
    return (f"No data for {escape(name)} yet. Import signups and events with `pmfbot import signups|events FILE "
            f"--product {escape(slug)}`, or send them with a write key from `/pmf-check token {escape(slug)}` "
            "(HTTP ingest API or Segment API).")


# --------------------------------------------------------------------------- signal lines


def retention_n(s: RetentionSignal, *, total: bool = True) -> str:
    """What the retention level rests on: the judged tail's users and cohorts, the total as
    context ("474 users in 3 cohorts; 6,340 in all"), or "n=6,340 users" before there is a tail."""
    if not s.tail_cohorts:
        return f"n={num(s.users)} users"
    cohorts = len(s.tail_cohorts)
    text = f"{num(s.tail_users)} users in {cohorts} cohort{'s' if cohorts != 1 else ''}"
    return f"{text}; {num(s.users)} in all" if total else text


def retention_value(s: RetentionSignal) -> str:
    """The retention numbers, e.g. "levels off at 31.0% (90% CI 28.9–33.1%; 474 users in 3 cohorts;
    5,230 in all; 14 weeks with enough users); moving −0.2 points a week (90% CI −0.6 to +0.2)"."""
    n = f"{retention_n(s)}; {s.weeks_observed} weeks with enough users"
    if s.plateau_level is None:
        return f"({n})"
    text = f"levels off at {pct(s.plateau_level)} ({pct_ci(s.plateau_level_ci, PLATEAU_CI_LEVEL)}; {n})"
    if s.tail_slope is not None:
        text += f"; moving {pts(s.tail_slope)} a week ({pts_ci(s.tail_slope_ci, SLOPE_CI_LEVEL)})"
    return text


def organic_value(s: OrganicSignal) -> str:
    """E.g. "62.0% organic (95% CI 58.7–65.3%, n=806 classified signups, 4.0% unknown);
    share trend +1.1 points a week (90% CI +0.2 to +2.0)"."""
    classified = s.organic_signups + s.paid_signups
    n = f"n={num(classified)} classified signups"
    if s.unknown_share is not None:
        n += f", {pct(s.unknown_share)} unknown"
    if s.organic_share is None:
        return f"({n}, {s.weeks_observed} weeks of history)"
    text = f"{pct(s.organic_share)} organic ({pct_ci(s.organic_share_ci, SHARE_CI_LEVEL)}, {n})"
    if s.trend_per_week is not None:
        text += f"; share trend {pts(s.trend_per_week)} a week ({pts_ci(s.trend_ci, TREND_CI_LEVEL)})"
    return text


def survey_value(s: SurveySignal) -> str:
    """E.g. "40.0% very disappointed (95% CI 26.3–55.4%; 16 of 40 scored answers, 2 N/A left out)"."""
    n = f"n={num(s.responses)}, {num(s.not_applicable)} N/A"
    if s.score is None:
        return f"({n})"
    answers = f"{num(s.very_disappointed)} of {num(s.responses)} scored answers, {num(s.not_applicable)} N/A left out"
    text = f"{pct(s.score)} very disappointed ({pct_ci(s.ci, SCORE_CI_LEVEL)}; {answers})"
    if s.more_responses_needed > 0:
        text += f"; {s.more_responses_text} more responses would settle it"
    return text


def _signal_parts(
    name: str, signal: RetentionSignal | OrganicSignal | SurveySignal
) -> tuple[str, str]:
    """("Survey · borderline", "— 40.0% very disappointed (…)"): the label and the rest."""
    if isinstance(signal, RetentionSignal):
        value = retention_value(signal)
    elif isinstance(signal, OrganicSignal):
        value = organic_value(signal)
    else:
        value = survey_value(signal)
    label = f"{name} · {STATUS_LABEL[signal.status]}"
    if signal.status != "insufficient_data":
        return label, f"— {value}"
    return label, value if value.startswith("(") else f"— so far {value}"


def signal_line(name: str, signal: RetentionSignal | OrganicSignal | SurveySignal) -> str:
    """One signal in one line, without emoji: "Survey · borderline — 40.0% very disappointed
    (95% CI 26.3–55.4%, n=40, 2 N/A)"; insufficient data reads "Survey · not enough data yet
    (n=12, 1 N/A)", or "… — so far …" with whatever numbers exist."""
    return " ".join(_signal_parts(name, signal))


def _signals(report: GateReport) -> list[tuple[str, RetentionSignal | OrganicSignal | SurveySignal]]:
    return [("Retention", report.retention), ("Organic", report.organic), ("Survey", report.survey)]


# --------------------------------------------------------------------------- block helpers


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": limits.truncate(text, limit), "emoji": True}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": _plain(text, limits.HEADER_TEXT)}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(limits.truncate(text, limits.SECTION_TEXT))}


def _context(*texts: str) -> dict[str, Any]:
    elements = [_mrkdwn(limits.truncate(t, limits.CONTEXT_TEXT)) for t in texts if t]
    return {"type": "context", "elements": elements[: limits.CONTEXT_ELEMENTS]}


def _divider() -> dict[str, Any]:
    return {"type": "divider"}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(text, limits.BUTTON_TEXT),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _list_sections(title: str, lines: Sequence[str], *, max_sections: int = _LIST_SECTIONS_MAX) -> list[dict[str, Any]]:
    """``lines`` under a bold ``title``, packed into as few sections as fit the section limit;
    what does not fit in ``max_sections`` becomes a final "…and N more" line."""
    budget = limits.SECTION_TEXT - 40  # room for the "…and N more" line
    chunks: list[list[str]] = [[f"*{title}*"] if title else []]
    size = len(chunks[0][0]) if title else 0
    shown = 0
    for line in lines:
        line = limits.truncate(line, budget)
        if chunks[-1] and size + 1 + len(line) > budget:
            if len(chunks) == max_sections:
                break
            chunks.append([])
            size = -1
        chunks[-1].append(line)
        size += 1 + len(line)
        shown += 1
    if shown < len(lines):
        chunks[-1].append(f"_…and {num(len(lines) - shown)} more_")
    return [_section("\n".join(c)) for c in chunks if c]


def _bullets(title: str, lines: Sequence[str]) -> dict[str, Any]:
    return _section("\n".join([f"*{title}*", *(f"• {escape(line)}" for line in lines)]))


def _message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": limits.truncate(text, limits.FALLBACK_TEXT), "blocks": blocks}


# --------------------------------------------------------------------------- small messages


def help_message(sections: list[tuple[str, str]]) -> dict[str, Any]:
    """Usage: ``sections`` are (command, description) pairs, e.g. ("/pmf-check share", "Post the
    report in this channel"). Both are mrkdwn written by us, not user input."""
    lines = [f"`{cmd}` — {desc}" for cmd, desc in sections]
    blocks = [_header("PMF Gate · how to use it")]
    blocks += _list_sections("", lines)
    blocks.append(_context(f"_{RULE}_"))
    fallback = "PMF Gate commands:\n" + "\n".join(f"{cmd} — {desc}" for cmd, desc in sections)
    return _message(fallback, blocks)


_OWN_ICON = re.compile(r"^:[a-z0-9_+\-]+: ")


def error_message(text: str, usage: str | None = None) -> dict[str, Any]:
    """An ephemeral "what was wrong + the right usage" reply; nothing changed. ``text`` and
    ``usage`` are mrkdwn: escape user input in them with ``escape``."""
    # One icon: a message that brings its own (":lock: Only a manager …") keeps it alone.
    blocks = [_section(text if _OWN_ICON.match(text) else f":warning: {text}")]
    if usage:
        code = usage.replace("```", "'''")
        blocks.append(_section(limits.truncate(f"*Usage*\n```{code}", limits.SECTION_TEXT - 3) + "```"))
    fallback = text + (f"\nUsage: {usage}" if usage else "")
    return _message(fallback, blocks)


