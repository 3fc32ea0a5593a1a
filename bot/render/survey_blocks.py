"""Block Kit for in-channel surveys: the survey message (open and closed), the thread intro,
the ephemeral replies to respondents, the "Tell us more" modal and the results post.

Pure presentation: survey values in (``bot.survey_values``), ``{"text", "blocks"}`` dicts or
view dicts out, always with fallback text, user-supplied text escaped and truncated to Block
Kit's limits (``limits``). While a survey is open only the number of responses is ever shown,
never the distribution, so early answers cannot sway later ones. The answer buttons carry only
the survey id, the modal's ``private_metadata`` only the survey id: nothing that names a
respondent travels through Slack payloads we build. Action, block and callback ids are the
``ACTION_*``/``BLOCK_*``/``CALLBACK_*`` constants here; ``handlers/ids.py`` re-exports them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.lessons import PhraseList
from bot.domain.survey import QUESTION, answer_label
from bot.domain.types import ANSWERS, Answer, SurveySignal
from bot.render import limits
from bot.render.blocks import STATUS_EMOJI, STATUS_LABEL, escape, num, pct, pct_ci
from bot.survey_values import MIN_GROUP, OTHER_ROLE, ROLES, FollowUp, SurveyInfo, SurveyResults

ACTION_ANSWER_PREFIX = "pmf.survey.answer."  # + very | somewhat | not | na
ACTION_FOLLOWUP = "pmf.survey.followup"
BLOCK_ANSWERS = "pmf.survey.answers"
CALLBACK_FOLLOWUP = "pmf.survey.followup_modal"
BLOCK_WHO = "pmf.survey.f.who"
BLOCK_BENEFIT = "pmf.survey.f.benefit"
BLOCK_IMPROVE = "pmf.survey.f.improve"
BLOCK_ROLE = "pmf.survey.f.role"
BLOCK_ROLE_OTHER = "pmf.survey.f.role_other"
INPUT_ACTION = "value"  # the action_id of every input element in the modal
CALLBACK_START = "pmf.survey.start_modal"  # the App Home's "Start survey" modal
BLOCK_START_CHANNEL = "pmf.survey.s.channel"
BLOCK_START_OPTIONS = "pmf.survey.s.options"
BLOCK_START_DAYS = "pmf.survey.s.days"
METADATA_RESULTS = "pmf_survey_results"  # message metadata event type of a results post

FOLLOWUP_TEXT_MAX = 1000  # characters a modal text answer may have
HOW_TO_ANSWER = "reply in this thread with *1*, *2*, *3* or *4* (or the words: very, somewhat, not, n/a)"


def answer_action_id(answer: Answer) -> str:
    return ACTION_ANSWER_PREFIX + answer


def answer_from_action_id(action_id: str) -> Answer | None:
    """The answer a button's action id stands for, or None when it is not an answer button."""
    if not action_id.startswith(ACTION_ANSWER_PREFIX):
        return None
    tail = action_id[len(ACTION_ANSWER_PREFIX):]
    return tail if tail in ANSWERS else None  # type: ignore[return-value]


# --------------------------------------------------------------------------- small helpers


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": limits.truncate(text, limit), "emoji": True}


def _section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": _mrkdwn(limits.truncate(text, limits.SECTION_TEXT))}
    if block_id:
        block["block_id"] = block_id
    return block


def _context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(limits.truncate(t, limits.CONTEXT_TEXT)) for t in texts if t]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "text": _plain(text, limits.BUTTON_TEXT), "action_id": action_id,
                         "value": value}
    if style:
        b["style"] = style
    return b


def _message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": limits.truncate(text, limits.FALLBACK_TEXT), "blocks": blocks}


def slack_date(at: datetime) -> str:
    """A date every reader sees in their own time zone, with a UTC fallback for old clients."""
    fallback = at.strftime("%b %d, %Y %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def question(product_name: str) -> str:
    return QUESTION.format(product=product_name)


def _label(answer: Answer, product_name: str) -> str:
    return answer_label(answer, product_name)


def _responses(n: int) -> str:
    return f"{num(n)} response" + ("" if n == 1 else "s")


def _anonymity_line(anonymous: bool) -> str:
    if anonymous:
        return (":lock: *Anonymous.* PMF Gate keeps only a keyed hash of who answered, never your name. "
                "The buttons are private; a reply in this thread is visible to the channel.")
    return ":bust_in_silhouette: *Not anonymous:* the team running this survey can see who answered what."


# --------------------------------------------------------------------------- the survey message


def survey_message(survey: SurveyInfo) -> dict[str, Any]:
    """The parent message: the question, the four buttons (open) or a closed note, how to
    answer, anonymity, the closing date and the live count of responses."""
    product = escape(survey.product_name)
    q = question(survey.product_name)
    if survey.closed_at is not None:
        blocks = [
            _section(f"*{escape(q)}*"),
            _section(f":checkered_flag: *Closed* {slack_date(survey.closed_at)} with "
                     f"*{_responses(survey.responses)}*. The results are in the thread."),
            _context(_anonymity_line(survey.anonymous)),
        ]
        text = f"Survey closed: {q} ({_responses(survey.responses)}; results in the thread)"
        return _message(text, blocks)
    value = str(survey.id)
    buttons = [_button(_label(a, survey.product_name), answer_action_id(a), value) for a in ANSWERS]
    blocks = [
        _section(f":wave: Quick question from the {product} team, it takes five seconds:\n*{escape(q)}*"),
        {"type": "actions", "block_id": BLOCK_ANSWERS, "elements": buttons},
        _context(f"Answer with a button, or {HOW_TO_ANSWER}. You can change your answer until the survey closes."),
        _context(_anonymity_line(survey.anonymous)),
        _context(f":hourglass_flowing_sand: Closes {slack_date(survey.closes_at)} · "
                 f"*{_responses(survey.responses)}* so far"),
    ]
    text = (f"{q} Answer: 1 Very disappointed, 2 Somewhat disappointed, 3 Not disappointed, "
            f"4 N/A — I no longer use {survey.product_name}. {_responses(survey.responses)} so far.")
    return _message(text, blocks)


def thread_intro(survey: SurveyInfo) -> dict[str, Any]:
    """The first reply in the survey's thread: how to answer by replying. It also makes the
    thread exist, which Slack requires before ephemeral messages can be shown in it."""
    lines = [f"*{n}* — {escape(_label(a, survey.product_name))}" for n, a in enumerate(ANSWERS, start=1)]
    note = ("Replies here are visible to the channel; use the buttons above to answer privately."
            if survey.anonymous else "Anything else you write here is kept as a comment on your answer.")
    text = f"To answer here, reply with 1, 2, 3 or 4. {note}"
    return _message(text, [_section("To answer here, reply with the number or the words:\n" + "\n".join(lines)),
                           _context(note)])


# --------------------------------------------------------------------------- ephemeral replies


def answer_recorded(survey: SurveyInfo, answer: Answer) -> dict[str, Any]:
    """The ephemeral thank-you after an answer, with the "Tell us more" button."""
    label = _label(answer, survey.product_name)
    privacy = " Only a keyed hash of you is stored." if survey.anonymous else ""
    body = (f":white_check_mark: Thanks! Your answer: *{escape(label)}*. Answer again any time before "
            f"{slack_date(survey.closes_at)} to change it.{privacy}")
    blocks = [
        _section(body),
        _section(f"Three short questions help the {escape(survey.product_name)} team even more.",
                 block_id="pmf.survey.more"),
        {"type": "actions", "elements": [_button("Tell us more", ACTION_FOLLOWUP, str(survey.id), style="primary")]},
    ]
    return _message(f"Thanks! Your answer: {label}. Tell us more?", blocks)


def survey_closed_note(survey: SurveyInfo) -> dict[str, Any]:
    when = slack_date(survey.closed_at or survey.closes_at)
    text = (f"Thanks for answering! This survey closed {when}, so your answer was not recorded. "
            "The results are in the thread.")
    return _message(text, [_section(f":lock: {text}")])


def not_an_answer_hint(survey: SurveyInfo) -> dict[str, Any]:
    text = (f"Your reply was not read as an answer. To answer, use a button on the survey or {HOW_TO_ANSWER}. "
            "Once you have answered, anything else you write here is kept with your answer.")
    return _message(text, [_section(f":information_source: {text}")])


def followup_saved(survey: SurveyInfo) -> dict[str, Any]:
    text = f"Thank you! Your details were saved with your answer about {survey.product_name}."
    return _message(text, [_section(f":pray: {escape(text)}")])


# --------------------------------------------------------------------------- commands


def survey_started(survey: SurveyInfo) -> dict[str, Any]:
    mode = "anonymous" if survey.anonymous else "named"
    text = (f"Survey posted in <#{survey.channel_id}> for *{escape(survey.product_name)}* ({mode}); it closes "
            f"{slack_date(survey.closes_at)}. Results will be posted in its thread. "
            "Use `/pmf-check survey status`, `remind` or `close` any time.")
    return _message(text, [_section(f":rocket: {text}")])


def survey_status(survey: SurveyInfo) -> dict[str, Any]:
    mode = "anonymous" if survey.anonymous else "named (not anonymous)"
    text = (f"*{escape(survey.product_name)}* survey in <#{survey.channel_id}>: *{_responses(survey.responses)}* so "
            f"far, {mode}, opened {slack_date(survey.opened_at)}, closes {slack_date(survey.closes_at)}. "
            "The distribution stays hidden until it closes, so early answers don't sway later ones.")
    return _message(text, [_section(f":bar_chart: {text}"),
                           _context("`/pmf-check survey remind` nudges the channel; "
                                    "`/pmf-check survey close` closes it now and posts the results.")])


def survey_reminder(survey: SurveyInfo) -> dict[str, Any]:
    """The reminder posted in the survey's thread (broadcast to the channel)."""
    q = question(survey.product_name)
    text = (f"Reminder: {_responses(survey.responses)} so far, and it closes {slack_date(survey.closes_at)}. "
            f"Haven't answered yet? *{escape(q)}* Use the buttons above or {HOW_TO_ANSWER}.")
    return _message(text, [_section(f":bell: {text}")])


def reminder_dm(survey: SurveyInfo, permalink: str | None) -> dict[str, Any]:
    where = f"<{permalink}|the survey in <#{survey.channel_id}>>" if permalink else f"the survey in <#{survey.channel_id}>"
    text = (f"Hi! The {escape(survey.product_name)} team would love your answer to one quick question: "
            f"*{escape(question(survey.product_name))}* It takes five seconds: answer in {where} before "
            f"{slack_date(survey.closes_at)}.")
    return _message(text, [_section(f":wave: {text}")])


def reminder_sent(survey: SurveyInfo, dms: int | None, reason: str | None = None) -> dict[str, Any]:
    text = f"Reminder posted in the survey's thread in <#{survey.channel_id}>."
    if dms is not None:
        text += f" Sending a direct message to {num(dms)} channel member{'s' if dms != 1 else ''} who " \
                "haven't answered yet, paced to Slack's limits."
    if reason:
        text += f" {reason}"
    return _message(text, [_section(f":bell: {text}")])


def survey_closing(survey: SurveyInfo) -> dict[str, Any]:
    text = (f"Closed the {escape(survey.product_name)} survey in <#{survey.channel_id}> with "
            f"{_responses(survey.responses)}. The results are being posted in its thread.")
    return _message(text, [_section(f":checkered_flag: {text}")])


# --------------------------------------------------------------------------- the modal


def _text_input(block_id: str, label: str, initial: str | None, placeholder: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": True,
                               "max_length": FOLLOWUP_TEXT_MAX, "placeholder": _plain(placeholder, 150)}
    if initial:
        element["initial_value"] = initial[:FOLLOWUP_TEXT_MAX]
    return {"type": "input", "block_id": block_id, "optional": True, "label": _plain(label, 2000),
            "element": element}


def _option(text: str) -> dict[str, Any]:
    return {"text": _plain(text, 75), "value": text[:150]}


def followup_modal(survey: SurveyInfo, current: FollowUp | None = None) -> dict[str, Any]:
    """The "Tell us more" modal: who would most benefit, the main benefit, how to improve, and
    the respondent's role (the segment), pre-filled with what they told us before."""
    cur = current or FollowUp()
    product = survey.product_name
    role_element: dict[str, Any] = {"type": "static_select", "action_id": INPUT_ACTION,
                                    "placeholder": _plain("Choose your role", 150),
                                    "options": [_option(r) for r in (*ROLES, OTHER_ROLE)]}
    other_initial: str | None = None
    if cur.segment:
        if cur.segment in ROLES or cur.segment == OTHER_ROLE:
            role_element["initial_option"] = _option(cur.segment)
        else:
            role_element["initial_option"] = _option(OTHER_ROLE)
            other_initial = cur.segment
    other: dict[str, Any] = {"type": "plain_text_input", "action_id": INPUT_ACTION, "max_length": 100,
                             "placeholder": _plain("e.g. Teacher", 150)}
    if other_initial:
        other["initial_value"] = other_initial[:100]
    privacy = ("This survey is anonymous: your details are stored with a keyed hash, never your name."
               if survey.anonymous else "The team running this survey will see these answers with your name.")
    blocks = [
        _context(f"Every question is optional. {privacy}"),
        _text_input(BLOCK_WHO, f"What type of person do you think would most benefit from {product}?",
                    cur.who_benefits, "Describe them in a few words"),
        _text_input(BLOCK_BENEFIT, f"What is the main benefit you receive from {product}?",
                    cur.main_benefit, "The one thing you'd miss most"),
        _text_input(BLOCK_IMPROVE, f"How can we improve {product} for you?", cur.improve, "Anything goes"),
        {"type": "input", "block_id": BLOCK_ROLE, "optional": True, "label": _plain("Your role", 2000),
         "element": role_element},
        {"type": "input", "block_id": BLOCK_ROLE_OTHER, "optional": True,
         "label": _plain("If other, which role?", 2000), "element": other},
    ]
    return {
        "type": "modal",
        "callback_id": CALLBACK_FOLLOWUP,
        # Only the survey id: the submission tells us who submitted it.
        "private_metadata": json.dumps({"survey_id": survey.id}),
        "title": _plain("Tell us more", 24),
        "submit": _plain("Save", 24),
        "close": _plain("Cancel", 24),
        "blocks": blocks,
    }


def followup_survey_id(private_metadata: str) -> int | None:
    try:
        value = json.loads(private_metadata or "{}").get("survey_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def followup_from_state(values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> FollowUp:
    """Read the submitted modal's ``view.state.values`` back into a ``FollowUp``."""

    def text(block: str) -> str | None:
        v = (values.get(block, {}).get(INPUT_ACTION) or {}).get("value")
        return (v.strip() or None) if isinstance(v, str) else None

    selected = (values.get(BLOCK_ROLE, {}).get(INPUT_ACTION) or {}).get("selected_option") or {}
    role = selected.get("value") if isinstance(selected, dict) else None
    other = text(BLOCK_ROLE_OTHER)
    segment: str | None
    if role == OTHER_ROLE or (role is None and other):
        segment = other or OTHER_ROLE
    else:
        segment = role if role in ROLES else None
    return FollowUp(who_benefits=text(BLOCK_WHO), main_benefit=text(BLOCK_BENEFIT), improve=text(BLOCK_IMPROVE),
                    segment=segment)


def followup_errors(message: str) -> dict[str, str]:
    """``response_action: errors`` payload for a submission that cannot be saved."""
    return {BLOCK_WHO: message}


# --------------------------------------------------------------------------- results


def _signal_value(s: SurveySignal) -> str:
    if s.score is None:
        return f"no scored answers yet (n=0, {num(s.not_applicable)} N/A)"
    return (f"*{pct(s.score)}* very disappointed ({num(s.very_disappointed)} of {num(s.responses)}; "
            f"{pct_ci(s.ci)}; n={num(s.responses)}, {num(s.not_applicable)} N/A)")


def _needed(s: SurveySignal, min_responses: int) -> str:
    if s.status in ("pass", "fail"):
        return "Settled: no more responses are needed for this signal."
    if s.more_responses_needed > 0:
        return (f"About *{num(s.more_responses_needed)} more responses* would settle it"
                + (f" (at least {min_responses} are needed for a verdict)." if s.status == "insufficient_data" else "."))
    return "More responses alone would not settle it: the score sits right at the bar."


def _phrases(title: str, pl: PhraseList) -> str:
    """One list of the lessons: each key phrase with its count and quote, or why there is none."""
    if not pl.phrases:
        return f"*{title}:* {escape(pl.message)}"
    lines = [f"*{title}* — {escape(pl.message)}"]
    for p in pl.phrases:
        said = f": \u201c{escape(p.quote)}\u201d" if p.quote else ""
        lines.append(f"• *{escape(p.phrase)}* ({num(p.count)} answer{'s' if p.count != 1 else ''}){said}")
    return "\n".join(lines)


def results_metadata(r: SurveyResults) -> dict[str, Any]:
    """Machine-readable figures attached to the results post (message metadata), so scripts and
    reconciliation can find and read it without parsing text."""
    s, g = r.signal, r.gate
    return {
        "event_type": METADATA_RESULTS,
        "event_payload": {
            "survey_id": r.survey.id,
            "product": r.survey.product_slug,
            "as_of": r.as_of.isoformat(),
            "counts": {"very": r.counts.very, "somewhat": r.counts.somewhat, "not": r.counts.not_, "na": r.counts.na},
            "survey": s.to_json(),
            "gate_survey": g.to_json(),
        },
    }


def results_message(r: SurveyResults) -> dict[str, Any]:
    """The results in the thread: distribution, score with Wilson interval and n, N/A share,
    the product's gate signal (Slack and imported answers), responses still needed, per-segment
    scores with n, and the lessons: who loves it most, what the very disappointed love, what holds
    back the somewhat disappointed who share that love."""
    sv, s, g = r.survey, r.signal, r.gate
    product = escape(sv.product_name)
    total = r.respondents
    bar = pct(r.settings.threshold, 0)
    rows = []
    for a, n in (("very", r.counts.very), ("somewhat", r.counts.somewhat), ("not", r.counts.not_), ("na", r.counts.na)):
        share = f" ({pct(n / total)})" if total else ""
        rows.append(f"• {escape(_label(a, sv.product_name))}: *{num(n)}*{share}")  # type: ignore[arg-type]
    na_share = f"{pct(r.counts.na / total)} of {num(total)} answers" if total else "none"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(f"Survey results: {sv.product_name}", limits.HEADER_TEXT)},
        _section(f"*{escape(question(sv.product_name))}*\n" + "\n".join(rows)),
        _section(f"*This survey:* {_signal_value(s)} — {STATUS_EMOJI[s.status]} {STATUS_LABEL[s.status]} against "
                 f"the {bar} bar.\nN/A (no longer use {product}): {num(r.counts.na)}, {na_share}; "
                 "they are left out of the score."),
        _section(f"*What this does to the gate* (the survey signal for {product}: one latest answer per person "
                 f"from the last {r.settings.window_days} days, Slack and imported): "
                 f"{STATUS_EMOJI[g.status]} *{STATUS_LABEL[g.status]}* — {_signal_value(g)}.\n"
                 f"{_needed(g, r.settings.min_responses)}"),
    ]
    seg_lines = []
    for row in r.segments:
        sc = row.score
        label = escape(sc.segment)
        if sc.score is None:
            seg_lines.append(f"• {label}: n={num(sc.responses)} (fewer than {MIN_GROUP}: score hidden)")
        else:
            seg_lines.append(f"• {label}: *{pct(sc.score)}* very disappointed ({pct_ci(sc.ci)}, n={num(sc.responses)})")
    if r.hidden_segments:
        seg_lines.append(f"• {num(r.hidden_segments)} more segment(s) with fewer than {MIN_GROUP} people each "
                         f"({num(r.hidden_respondents)} people) are not shown, to keep answers anonymous")
    if seg_lines:
        blocks.append(_section("*Score by role* (N/A excluded; n = scored answers)\n" + "\n".join(seg_lines)))
    blocks.append(_section(f"*Who loves it most:* {escape(r.lessons.segment.message)}"))
    blocks.append(_section(_phrases("What the very disappointed love (their main benefit)", r.lessons.love)))
    blocks.append(_section(_phrases("What holds back the somewhat disappointed who share that love", r.lessons.hold_back)))
    blocks.append(_context(f"Score = very disappointed ÷ (very + somewhat + not); 95% Wilson interval. "
                           f"Pass when the whole interval is at or above {bar}. "
                           "If you are not sure you have product-market fit, you don't have it yet."))
    score = f"{pct(s.score)} very disappointed" if s.score is not None else "no scored answers"
    text = (f"Survey results for {sv.product_name}: {score} (n={s.responses}, {s.counts.na} N/A). "
            f"Very {r.counts.very}, somewhat {r.counts.somewhat}, not {r.counts.not_}, N/A {r.counts.na}. "
            f"Gate survey signal: {STATUS_LABEL[g.status]}.")
    return _message(text, blocks)


def results_chart_alt(r: SurveyResults) -> str:
    s = r.signal
    score = f"{pct(s.score)} very disappointed, {pct_ci(s.ci)}" if s.score is not None else "no scored answers"
    return (f"Answers to the {r.survey.product_name} survey: very {r.counts.very}, somewhat {r.counts.somewhat}, "
            f"not {r.counts.not_}, N/A {r.counts.na}; {score}.")


# --------------------------------------------------------------------------- start from the Home tab


def start_survey_modal(product_slug: str, *, default_days: int, max_days: int) -> dict[str, Any]:
    """The App Home's "Start survey" modal: which channel, anonymous or not, for how long."""
    return {
        "type": "modal",
        "callback_id": CALLBACK_START,
        "private_metadata": json.dumps({"product": product_slug}),
        "title": _plain("Start a PMF survey", 24),
        "submit": _plain("Post survey", 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            _section(f"Ask the Sean Ellis question about *{escape(product_slug)}* in a channel. "
                     "People answer with the buttons or in the thread; results are posted there when it closes."),
            {"type": "input", "block_id": BLOCK_START_CHANNEL, "label": _plain("Channel", 2000),
             "element": {"type": "conversations_select", "action_id": INPUT_ACTION,
                         "filter": {"include": ["public", "private"], "exclude_bot_users": True},
                         "placeholder": _plain("Choose a channel", 150)}},
            {"type": "input", "block_id": BLOCK_START_OPTIONS, "optional": True, "label": _plain("Privacy", 2000),
             "element": {"type": "checkboxes", "action_id": INPUT_ACTION, "options": [
                 {"text": _plain("Anonymous: store only a keyed hash of each respondent", 75), "value": "anonymous"}]}},
            {"type": "input", "block_id": BLOCK_START_DAYS, "label": _plain("Open for (days)", 2000),
             "element": {"type": "number_input", "action_id": INPUT_ACTION, "is_decimal_allowed": False,
                         "initial_value": str(default_days), "min_value": "1", "max_value": str(max_days)}},
        ],
    }


def start_survey_from_state(view: Mapping[str, Any]) -> tuple[str | None, str | None, bool, int | None]:
    """(product slug, channel id, anonymous, days) from a submitted start modal."""
    try:
        slug = json.loads(view.get("private_metadata") or "{}").get("product")
    except (ValueError, AttributeError):
        slug = None
    values = (view.get("state") or {}).get("values") or {}
    channel = (values.get(BLOCK_START_CHANNEL) or {}).get(INPUT_ACTION, {}).get("selected_conversation")
    chosen = (values.get(BLOCK_START_OPTIONS) or {}).get(INPUT_ACTION, {}).get("selected_options") or []
    raw_days = (values.get(BLOCK_START_DAYS) or {}).get(INPUT_ACTION, {}).get("value")
    try:
        days = int(raw_days) if raw_days is not None else None
    except ValueError:
        days = None
    return slug, channel, any(o.get("value") == "anonymous" for o in chosen), days
