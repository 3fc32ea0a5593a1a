"""Block Kit for in-channel surveys: the survey message (open and closed), the thread intro,
the ephemeral replies to respondents, the "Tell us more" modal and the results post.

Pure presentation: survey values in (``bot.surveys.values``), ``{"text", "blocks"}`` dicts or
view dicts out, always with fallback text, user-supplied text escaped and truncated to Block
Kit's limits (``limits``). While a survey is open only the number of responses is ever shown,
never the distribution, so early answers cannot sway later ones. The answer buttons carry only
the survey id, the modal's ``private_metadata`` only the survey id: nothing that names a
respondent travels through Slack payloads we build. Action, block and callback ids are the
``ACTION_*``/``BLOCK_*``/``CALLBACK_*`` constants here; ``handlers/ids.py`` re-exports them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.lessons import PhraseList
from bot.domain.survey import QUESTION, answer_label, who_answered
from bot.domain.types import ANSWERS, Answer, SurveySignal
from bot.render import limits
from bot.render.blocks import STATUS_EMOJI, STATUS_LABEL, escape, num, pct, pct_ci
from bot.render.lessons import HOLD_TITLE, LOVE_TITLE
from bot.surveys.ids import Action, Block, Metadata, answer_action_id
from bot.surveys.values import MIN_GROUP, SurveyInfo, SurveyResults

FOLLOWUP_TEXT_MAX = 1000  # characters a modal text answer may have
HOW_TO_ANSWER = "reply in this thread with *1*, *2*, *3* or *4* (or the words: very, somewhat, not, n/a)"



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
        {"type": "actions", "block_id": Block.ANSWERS, "elements": buttons},
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
        {"type": "actions", "elements": [_button("Tell us more", Action.FOLLOWUP, str(survey.id), style="primary")]},
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
    # A mention cannot sit inside a link's label (Slack shows it raw): the link and the channel
    # are side by side.
    where = f"<{permalink}|the survey> in <#{survey.channel_id}>" if permalink else f"the survey in <#{survey.channel_id}>"
    text = (f"Hi! The {escape(survey.product_name)} team would love your answer to one quick question: "
            f"*{escape(question(survey.product_name))}* It takes five seconds: answer {where} before "
            f"{slack_date(survey.closes_at)}.")
    return _message(text, [_section(f":wave: {text}")])


def reminder_sent(survey: SurveyInfo, dms: int | None, reason: str | None = None, *,
                  in_thread: bool = True) -> dict[str, Any]:
    parts = [f"Reminder posted in the survey's thread in <#{survey.channel_id}>."] if in_thread else []
    if dms is not None:
        parts.append(f"Sending a direct message to {num(dms)} member{'s' if dms != 1 else ''} of "
                     f"<#{survey.channel_id}> who haven't answered yet, paced to Slack's limits.")
    if reason:
        parts.append(reason)
    text = " ".join(parts)
    return _message(text, [_section(f":bell: {text}")])


def reminder_not_sent(survey: SurveyInfo, reason: str) -> dict[str, Any]:
    text = f"Nothing was sent for the survey in <#{survey.channel_id}>. {reason}"
    return _message(text, [_section(f":information_source: {text}")])


def survey_closing(survey: SurveyInfo) -> dict[str, Any]:
    text = (f"Closed the {escape(survey.product_name)} survey in <#{survey.channel_id}> with "
            f"{_responses(survey.responses)}. The results are being posted in its thread.")
    return _message(text, [_section(f":checkered_flag: {text}")])


# --------------------------------------------------------------------------- results


def _signal_value(s: SurveySignal) -> str:
    if s.score is None:
        return f"no scored answers yet (n=0, {num(s.not_applicable)} N/A)"
    return (f"*{pct(s.score)}* very disappointed ({num(s.very_disappointed)} of {num(s.responses)} scored answers, "
            f"N/A left out; {pct_ci(s.ci)}; {num(s.not_applicable)} N/A)")


def _who(s: SurveySignal) -> str:
    """Whose answers the score rests on, and a status that moved only because answers left the
    window, each on a line of its own (SPEC §5 "Who answered")."""
    line = who_answered(s)
    out = f"\n_{escape(line[:1].upper() + line[1:])}._" if line else ""
    if s.changed_by_window:
        out += "\n_The status changed only because older answers left the window, not because of new ones._"
    return out


def _needed(s: SurveySignal, min_responses: int) -> str:
    if s.status in ("pass", "fail"):
        return "Settled: no more responses are needed for this signal."
    if s.more_responses_needed > 0:
        return (f"*{s.more_responses_text.capitalize()} more responses* would settle it"
                + (f" (at least {min_responses} are needed for a verdict)." if s.status == "insufficient_data" else "."))
    return "More responses alone would not settle it: the score sits right at the bar."


def _phrases(title: str, pl: PhraseList) -> str:
    """One list of the lessons: each key phrase with its count and quote, or why there is none."""
    if not pl.phrases:
        return f"*{title}:* {escape(pl.message)}"
    lines = [f"*{title}* — {escape(pl.message)}"]
    for p in pl.phrases:
        said = f": \u201c{escape(p.quote)}\u201d" if p.quote else ""
        name = " / ".join(escape(x) for x in (p.phrase, *p.also))  # one quote backing two phrases: one line
        lines.append(f"• *{name}* ({num(p.count)} answer{'s' if p.count != 1 else ''}){said}")
    return "\n".join(lines)


def results_metadata(r: SurveyResults) -> dict[str, Any]:
    """Machine-readable figures attached to the results post (message metadata), so scripts and
    reconciliation can find and read it without parsing text."""
    s, g = r.signal, r.gate
    return {
        "event_type": Metadata.RESULTS,
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
        share = f" of {num(total)} answers ({pct(n / total)})" if total else ""
        rows.append(f"• {escape(_label(a, sv.product_name))}: *{num(n)}*{share}")  # type: ignore[arg-type]
    na_share = f"{pct(r.counts.na / total)} of {num(total)} answers" if total else "none"
    own_status = (f"too few answers to decide on their own ({num(r.settings.min_responses)} needed)"
                  if s.status == "insufficient_data" else f"{STATUS_LABEL[s.status]} against the {bar} bar")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(f"Survey results: {sv.product_name}", limits.HEADER_TEXT)},
        _section(f"*{escape(question(sv.product_name))}*\n" + "\n".join(rows)),
        _section(f"*This survey:* {_signal_value(s)} — {STATUS_EMOJI[s.status]} {own_status}."
                 f"\nN/A (no longer use {product}): {num(r.counts.na)}, {na_share}; "
                 f"they are left out of the score.{_who(s)}"),
        _section(f"*What this does to the gate* (the survey signal for {product}: one latest answer per person "
                 f"from the last {r.settings.window_days} days, Slack and imported): "
                 f"{STATUS_EMOJI[g.status]} *{STATUS_LABEL[g.status]}* — {_signal_value(g)}.\n"
                 f"{_needed(g, r.settings.min_responses)}{_who(g)}"),
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
        people = f"{num(r.hidden_respondents)} {'person' if r.hidden_respondents == 1 else 'people'}"
        if r.hidden_segments == 1:
            seg_lines.append(f"• 1 more role, with fewer than {MIN_GROUP} people ({people}), is not shown, "
                             "to keep answers anonymous")
        else:
            seg_lines.append(f"• {num(r.hidden_segments)} more roles, each with fewer than {MIN_GROUP} people "
                             f"({people} in all), are not shown, to keep answers anonymous")
    if seg_lines:
        blocks.append(_section("*Score by role* (N/A excluded; n = scored answers)\n" + "\n".join(seg_lines)))
    blocks.append(_section(f"*Who loves it most:* {escape(r.lessons.segment.message)}"))
    blocks.append(_section(_phrases(LOVE_TITLE, r.lessons.love)))
    blocks.append(_section(_phrases(HOLD_TITLE, r.lessons.hold_back)))
    blocks.append(_context(f"Score = very disappointed ÷ (very + somewhat + not); 95% Wilson interval. "
                           f"Pass when the whole interval is at or above {bar}. "
                           "If you are not sure you have product-market fit, you don't have it yet."))
    score = f"{pct(s.score)} very disappointed" if s.score is not None else "no scored answers"
    # The gate's status is the product's survey signal (every answer in the window, Slack and
    # imported), not this survey's: say whose it is and on how many answers it rests.
    text = (f"Survey results for {sv.product_name}: {score} (n={s.responses}, {s.counts.na} N/A), {own_status}. "
            f"Very {r.counts.very}, somewhat {r.counts.somewhat}, not {r.counts.not_}, N/A {r.counts.na}. "
            f"The gate's survey signal for {sv.product_name} (all answers of the last {r.settings.window_days} "
            f"days, Slack and imported, n={g.responses}): {STATUS_LABEL[g.status]}.")
    return _message(text, blocks)


def results_chart_alt(r: SurveyResults) -> str:
    s = r.signal
    score = f"{pct(s.score)} very disappointed, {pct_ci(s.ci)}" if s.score is not None else "no scored answers"
    return (f"Answers to the {r.survey.product_name} survey: very {r.counts.very}, somewhat {r.counts.somewhat}, "
            f"not {r.counts.not_}, N/A {r.counts.na}; {score}.")


