"""Block Kit and text for everything the weekly digest shows: the digest post itself (full, or
brief when a week brought no new data, with a "late" notice when it is), the replies to
``/pmf-check digest …``, and the note to a subscriber whose digest could not be delivered.

Pure presentation: plain values in, ``{"text": fallback, "blocks": [...]}`` out. The fallback
``text`` is the searchable version of the digest (Slack indexes it, notifications and screen
readers read it). Times are shown in the subscription's own time zone. Builds on the shared
pieces of ``bot.render.blocks`` so the digest reads like the ``/pmf-check`` report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from bot.digests.ids import Action as DigestAction

# The schedule's words (day names, defaults, "Mondays at 09:00 (Europe/Berlin)") live in schedule.py.
from bot.digests.schedule import ScheduleLike, default_when, describe, local_label
from bot.domain.default_rules import default_rules_line
from bot.domain.survey import who_answered
from bot.domain.types import GateReport
from bot.domain.weeks import last_complete_week, week_start
from bot.render import blocks as b
from bot.render import limits
from bot.render.blocks import STATUS_FOOTER, _button, _context, _header, _message, _section
from bot.render.names import DIGEST_CHART
from bot.reports.blocks import _fallback, _report_body
from bot.surveys.values import DEFAULT_DAYS

ERROR_HELP: dict[str, str] = {
    "channel_not_found": "the channel no longer exists, or it is private and the app is not in it "
    "(invite it with `/invite @PMF Gate`)",
    "not_in_channel": "the app is not a member of this private channel: invite it with `/invite @PMF Gate`",
    "is_archived": "the channel is archived",
    "account_inactive": "the app's access to this workspace was removed: reinstall PMF Gate",
    "token_revoked": "the app's access to this workspace was revoked: reinstall PMF Gate",
    "invalid_auth": "the app's token is no longer valid: reinstall PMF Gate",
    "not_authed": "the app's token is missing: reinstall PMF Gate",
    "missing_scope": "the app lacks a permission it needs: reinstall PMF Gate to grant it",
    "restricted_action": "a workspace admin restricted posting in this channel",
    "not_installed": "PMF Gate is not installed in this workspace any more: reinstall it",
}


# --------------------------------------------------------------------------- inputs (duck-typed)


class DeliveryLike(Protocol):
    @property
    def due_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def late(self) -> bool: ...
    @property
    def sent_at(self) -> datetime | None: ...
    @property
    def error(self) -> str | None: ...


class SubscriptionLike(Protocol):
    @property
    def product_slug(self) -> str: ...
    @property
    def product_name(self) -> str: ...
    @property
    def channel_id(self) -> str: ...
    @property
    def schedule(self) -> ScheduleLike: ...
    @property
    def active(self) -> bool: ...
    @property
    def paused_reason(self) -> str | None: ...
    @property
    def next_run(self) -> datetime | None: ...
    @property
    def last_delivery(self) -> DeliveryLike | None: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def last_error_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class SurveyLine:
    """An open survey of the product, as the digest mentions it (never the distribution)."""

    channel_id: str
    responses: int
    closes_at: datetime
    anonymous: bool


# --------------------------------------------------------------------------- formatting


def week_label(week: int) -> str:
    """"2–8 Mar 2026": the Monday-to-Sunday span of a week index."""
    start: date = week_start(week)
    end = start + timedelta(days=6)
    if start.month == end.month:
        return f"{start.day}–{end.day} {end:%b %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
    return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"


def late_notice(due_at: datetime, tz: str) -> str:
    """The line a late digest carries (SPEC: delivered late within 24 h, and says so)."""
    return f"This digest is late: it was due {local_label(due_at, tz, with_date=False)}."


def error_help(code: str) -> str:
    base = code.split(":", 1)[0].strip()
    return ERROR_HELP.get(base, f"Slack answered `{b.escape(code)}`")


def survey_status(surveys: Sequence[SurveyLine], tz: str) -> str | None:
    """The open-survey line(s) for the digest, or None when none is running."""
    if not surveys:
        return None
    lines = []
    for s in surveys:
        n = f"{b.num(s.responses)} response{'s' if s.responses != 1 else ''} so far"
        anon = ", anonymous" if s.anonymous else ""
        lines.append(f":bar_chart: Survey open in <#{s.channel_id}>{anon}: {n}, closes {local_label(s.closes_at, tz)}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the digest


def digest_message(
    report: GateReport,
    *,
    previous: GateReport | None,
    week: int | None = None,
    surveys: Sequence[SurveyLine] = (),
    tz: str = "UTC",
    late_due: datetime | None = None,
    no_new_data: bool = False,
    chart_follows: bool = True,
    custom_rules: str | None = None,
    source_problem: str | None = None,
) -> dict[str, Any]:
    """The weekly digest post. Full: verdict, the three signals with value, interval and change
    since ``previous``, warnings, survey status, next steps, the buttons. Brief when the week
    (``week``) brought no new activity, signups or responses. ``late_due`` (the due instant)
    adds the late notice; ``chart_follows`` says the chart is posted right after; ``custom_rules``
    (mrkdwn) is the product's "Custom rules: …" line, shown whenever it is given; ``source_problem``
    (mrkdwn) names a SQL source whose last sync failed. ``week``
    defaults to the last complete week before the report's ``as_of``."""
    if week is None:
        week = last_complete_week(report.as_of)
    notes = []
    if late_due is not None:
        notes.append(f":hourglass: {late_notice(late_due, tz)}")
    span = week_label(week)
    if not report.has_data:
        msg = _no_data(report, surveys, tz)
    elif no_new_data:
        notes.append(f":zzz: No new activity, signups or survey responses in the week of {span}, "
                     "so the figures are the same as last week.")
        msg = _brief(report, previous, surveys, tz)
    else:
        msg = digest_core(report, previous=previous, survey_status=survey_status(surveys, tz))
        if chart_follows:
            msg["blocks"].insert(-1, b._context(":chart_with_upwards_trend: The chart with all three signals "
                                                "is posted right below."))
    out_blocks = list(msg["blocks"])
    context = [f"Week of {span} · {b.escape(report.product_name)}"] + notes
    if custom_rules:
        context.append(f":warning: {custom_rules}")
    if source_problem:
        context.append(f":warning: {source_problem}")
    out_blocks.insert(1, b._context(*context))
    text = msg["text"]
    if late_due is not None:
        # First, so notifications and search show it (the brief text already says "no new data").
        text = f"{late_notice(late_due, tz)}\n{text}"
    message = {"text": limits.truncate(text, limits.FALLBACK_TEXT), "blocks": out_blocks}
    limits.validate_message(message)
    return message


def _brief(report: GateReport, previous: GateReport | None, surveys: Sequence[SurveyLine], tz: str) -> dict[str, Any]:
    v = report.verdict
    verdict = f"{b.VERDICT_EMOJI[v]} *{b.VERDICT_TEXT[v]}*"
    if previous is not None and previous.verdict != v:
        verdict += f"  (last week: {b.VERDICT_TEXT[previous.verdict]})"
    if (both := default_rules_line(report)) is not None:  # custom rules never hide (SPEC §5)
        verdict += f"\n:warning: {b.escape(both)}"
    signals = "\n".join(f"{b.STATUS_EMOJI[s.status]} {b.signal_line(name, s)}"
                        for name, s in (("Retention", report.retention), ("Organic", report.organic),
                                        ("Survey", report.survey)))
    if who := who_answered(report.survey):  # whose answers the survey rests on (SPEC §5)
        signals += f"\n_Survey: {b.escape(who)}._"
    status = survey_status(surveys, tz) or "No survey running. Start one with `/pmf-check survey start`."
    blocks = [
        b._header(f"Weekly PMF digest · {report.product_name} · {report.as_of.isoformat()}"),
        b._section(f"{verdict}\n_{b.RULE}_"),
        b._section(signals),
        b._section(f"*Survey*\n{status}"),
        _actions(report.product),
    ]
    text = (f"Weekly PMF digest — {b.escape(report.product_name)}, as of {report.as_of.isoformat()}: "
            f"{b.VERDICT_TEXT[v]}. No new data this week; figures unchanged.")
    if both := default_rules_line(report):
        text += f"\n{b.escape(both)}"
    return {"text": text, "blocks": blocks}


def _no_data(report: GateReport, surveys: Sequence[SurveyLine], tz: str) -> dict[str, Any]:
    """A product with no data yet: the ways to get data in instead of a verdict, and no chart."""
    blocks = [
        b._header(f"Weekly PMF digest · {report.product_name} · {report.as_of.isoformat()}"),
        b._section(b.no_data_text(report.product_name, report.product)),
    ]
    status = survey_status(surveys, tz)
    if status:
        blocks.append(b._section(f"*Survey*\n{status}"))
    blocks.append(_actions(report.product))
    return {"text": f"Weekly PMF digest — {b.no_data_fallback(report.product_name, report.product)}",
            "blocks": blocks}


def survey_button(product_slug: str) -> dict[str, Any]:
    """"Run a PMF survey" posts in the channel for everyone: Slack asks the clicker first."""
    button = b._button("Run a PMF survey", DigestAction.SURVEY, product_slug, style="primary")
    button["confirm"] = {
        "title": {"type": "plain_text", "text": "Post a PMF survey here?"},
        "text": {"type": "plain_text", "text": (
            f"This posts the Sean Ellis question in this channel now, for everyone here to answer, with named "
            f"answers, open for {DEFAULT_DAYS} days. To choose the channel, anonymity or length, use "
            "/pmf-check survey start instead.")},
        "confirm": {"type": "plain_text", "text": "Post survey"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    return button


def _actions(product_slug: str) -> dict[str, Any]:
    return {"type": "actions", "elements": [
        survey_button(product_slug),
        b._button("Details", DigestAction.DETAILS, product_slug),
    ]}


def chart_title(product_name: str, week: int) -> str:
    return f"{product_name} · {DIGEST_CHART} · week of {week_label(week)}"


def chart_filename(product_slug: str, week: int) -> str:
    return f"pmf-digest-{product_slug}-{week_start(week).isoformat()}.png"


# --------------------------------------------------------------------------- command replies


def subscribed_message(sub: SubscriptionLike, *, tz_from_profile: bool) -> dict[str, Any]:
    name = b.escape(sub.product_name)
    nxt = f" Next: {local_label(sub.next_run, sub.schedule.timezone)}." if sub.next_run else ""
    text = (f":calendar: Weekly PMF digest for *{name}* in <#{sub.channel_id}>: "
            f"{describe(sub.schedule)}.{nxt}")
    hints = []
    if tz_from_profile:
        hints.append("Time zone from your Slack profile; add e.g. `Europe/Berlin` to choose another.")
    hints.append("Change it: `/pmf-check digest weekly [#channel] [mon…sun] [HH:MM] [Area/City]` · "
                 "stop it: `/pmf-check digest off [#channel]`.")
    message = {"text": text.replace("*", ""), "blocks": [b._section(text), b._context(*hints)]}
    limits.validate_message(message)
    return message


def unsubscribed_message(subs: Sequence[SubscriptionLike]) -> dict[str, Any]:
    names = ", ".join(f"*{b.escape(s.product_name)}*" for s in subs)
    channel = subs[0].channel_id if subs else ""
    text = f":no_bell: Weekly digest of {names} in <#{channel}> turned off. Turn it on again with `/pmf-check digest weekly <#{channel}>`."
    return {"text": text.replace("*", ""), "blocks": [b._section(text)]}


def posted_now_message(channel_id: str, product_name: str) -> dict[str, Any]:
    text = f":white_check_mark: Posted the PMF digest of *{b.escape(product_name)}* in <#{channel_id}>."
    return {"text": text.replace("*", ""), "blocks": [b._section(text)]}


def _last_line(sub: SubscriptionLike) -> str:
    tz = sub.schedule.timezone
    d = sub.last_delivery
    parts = []
    if d is None:
        parts.append("nothing delivered yet")
    elif d.status == "sent" and d.sent_at is not None:
        parts.append(f"last delivered {local_label(d.sent_at, tz)}" + (" (late)" if d.late else ""))
        if d.error and d.error.startswith("chart:"):
            parts.append(f"chart not posted ({b.escape(d.error[7:].strip())})")
    elif d.status == "skipped":
        parts.append(f"skipped the run due {local_label(d.due_at, tz)}" + (f" ({b.escape(d.error)})" if d.error else ""))
    elif d.status == "failed":
        parts.append(f":x: run due {local_label(d.due_at, tz)} failed: {error_help(d.error or 'unknown')}")
    else:
        parts.append(f"run due {local_label(d.due_at, tz)} in progress" + (f", retrying after `{b.escape(d.error)}`"
                                                                       if d.error else ""))
    if sub.last_error and (d is None or d.status != "failed"):
        at = f" ({local_label(sub.last_error_at, tz)})" if sub.last_error_at else ""
        parts.append(f"last error{at}: {error_help(sub.last_error)}")
    return "; ".join(parts)


def subscriptions_message(subs: Sequence[SubscriptionLike]) -> dict[str, Any]:
    """``digest list``: each digest with its schedule, next run in its own zone, and its last
    delivery or error; paused ones say why and how to resume."""
    if not subs:
        text = "No weekly digests in this workspace. Subscribe a channel with `/pmf-check digest weekly [#channel]`."
        return {"text": text, "blocks": [b._section(text)]}
    lines = []
    for s in subs:
        head = f"• *{b.escape(s.product_name)}* in <#{s.channel_id}> — {describe(s.schedule)}"
        if s.active and s.next_run is not None:
            state = f"next: {local_label(s.next_run, s.schedule.timezone)}"
        else:
            state = (f":double_vertical_bar: {b.escape(s.paused_reason or 'paused')} — resume with "
                     f"`/pmf-check digest weekly <#{s.channel_id}>`")
        lines.append(f"{head}\n      {state}; {_last_line(s)}")
    blocks = b._list_sections("Weekly PMF digests", lines)
    blocks.append(b._context("Times are in each digest's own time zone. Change one: "
                             "`/pmf-check digest weekly [#channel] [mon…sun] [HH:MM] [Area/City]`."))
    fallback = "Weekly PMF digests:\n" + "\n".join(
        f"{s.product_name} in #{s.channel_id}: {describe(s.schedule)}"
        + (f", next {local_label(s.next_run, s.schedule.timezone)}" if s.active and s.next_run else ", paused")
        for s in subs)
    message = {"text": limits.truncate(fallback, limits.FALLBACK_TEXT), "blocks": blocks}
    limits.validate_message(message)
    return message


def failure_notice(*, product_name: str, channel_id: str, error: str, paused: bool) -> dict[str, Any]:
    """The one direct message to the subscriber when their digest could not be delivered."""
    what = f"The weekly PMF digest of *{b.escape(product_name)}* could not be posted in <#{channel_id}>: {error_help(error)}."
    if paused:
        then = (f"The digest is paused. Once that is fixed, resume it with `/pmf-check digest weekly <#{channel_id}>`.")
    else:
        then = ("I will try again next week and pause it if it keeps failing. "
                "`/pmf-check digest list` shows its state.")
    text = f":warning: {what}\n{then}"
    return {"text": text.replace("*", ""), "blocks": [b._section(text)]}


def usage_lines() -> list[tuple[str, str]]:
    return [
        ("/pmf-check digest weekly [#channel] [mon…sun] [HH:MM] [Area/City]",
         "a weekly scaling-readiness digest (also `subscribe`; default: this channel, "
         f"{default_when()}, your time zone)"),
        ("/pmf-check digest off [#channel]", "stop a channel's weekly digest (also `unsubscribe`, `stop`)"),
        ("/pmf-check digest now [#channel]", "post the digest now"),
        ("/pmf-check digest list", "every digest, its next run and its last delivery or error"),
    ]
def digest_core(
    report: GateReport, *, previous: GateReport | None = None, survey_status: str | None = None
) -> dict[str, Any]:
    """The weekly digest post: like the gate report, plus each signal's change since
    ``previous`` (last week's report), the open-survey status line ``survey_status`` (mrkdwn from
    the caller, or None for "no survey running") and the buttons "Run a PMF survey"
    (``DigestAction.SURVEY``) and "Details" (``DigestAction.DETAILS``), both valued with the
    product slug. The chart (``charts.digest_chart``) is uploaded separately."""
    blocks = [_header(f"Weekly PMF digest · {report.product_name} · {report.as_of.isoformat()}")]
    blocks += _report_body(report, previous)
    blocks.append(_section(f"*Survey*\n{survey_status or 'No survey running. Start one with `/pmf-check survey start`.'}"))
    blocks.append({
        "type": "actions",
        "elements": [
            survey_button(report.product),
            _button("Details", DigestAction.DETAILS, report.product),
        ],
    })
    blocks.append(_context(STATUS_FOOTER))
    return _message(_fallback(report, "Weekly PMF digest", previous), blocks)


