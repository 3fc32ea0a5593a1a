"""Block Kit builders, tested by structure: every payload passes our limit checker and slack_sdk's
own model validation, fallbacks read alone, every number carries n and an interval, and long
inputs are truncated instead of producing an invalid payload."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.digests.blocks import digest_core
from bot.digests.ids import Action as DigestAction
from bot.domain.settings import ProductSettings, describe
from bot.domain.types import GateReport, Warning_
from bot.home.blocks import home_view
from bot.home.ids import Action as HomeAction
from bot.products.blocks import config_message, product_list_message
from bot.render import blocks as b
from bot.render.limits import validate_message, validate_view
from bot.reports.blocks import gate_report_message


def slack_sdk_validates(blocks: list[dict[str, Any]]) -> None:
    """slack_sdk's models check the same limits on ``to_dict()``; a second opinion on ours."""
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, f"slack_sdk does not know block {block}"
        parsed.to_dict()


def check_message(message: dict[str, Any]) -> None:
    assert set(message) == {"text", "blocks"}
    validate_message(message)
    slack_sdk_validates(message["blocks"])


def all_text(message: dict[str, Any]) -> str:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message["blocks"])
    return "\n".join(out)


def signal_sections(message: dict[str, Any]) -> list[str]:
    names = ("*Retention ·", "*Organic ·", "*Survey ·")
    return [
        blk["text"]["text"] for blk in message["blocks"]
        if blk["type"] == "section" and any(n in blk["text"]["text"] for n in names)
    ]


# --------------------------------------------------------------------------- gate report


def test_gate_report_is_valid_and_leads_with_the_verdict(report: GateReport) -> None:
    message = gate_report_message(report)
    check_message(message)
    header, verdict = message["blocks"][0], message["blocks"][1]
    assert header["type"] == "header"
    assert "Acme Analytics" in header["text"]["text"] and "2026-11-23" in header["text"]["text"]
    assert "*Not sure yet, so not yet*" in verdict["text"]["text"]
    assert "you don't have it yet" in verdict["text"]["text"]
    assert message["blocks"][-1]["type"] == "context"  # the status legend


def test_gate_report_fallback_reads_alone_with_verdict_and_numbers(report: GateReport) -> None:
    text = gate_report_message(report)["text"]
    first_line = text.splitlines()[0]
    assert "Acme Analytics" in first_line and "Not sure yet, so not yet" in first_line
    for expected in ("30.0%", "62.0% organic", "40.0% very disappointed", "95% CI 26.3–55.4%",
                     "16 of 40 scored answers", "n=806", "n=3,099", "2 N/A", "Paid signups grew 24%"):
        assert expected in text
    assert ":" + "warning" + ":" not in text  # no emoji codes in notifications


def test_survey_line_matches_the_spec_example(report: GateReport) -> None:
    assert b.signal_line("Survey", report.survey) == (
        "Survey · borderline — 40.0% very disappointed (95% CI 26.3–55.4%; 16 of 40 scored answers, 2 N/A left out)"
    )


def test_every_signal_line_has_n_and_an_interval(report: GateReport) -> None:
    for _, signal in b._signals(report):
        line = b.signal_line("x", signal)
        assert ("n=" in line or "scored answers" in line) and "% CI " in line


def test_each_signal_leads_with_one_plain_sentence_then_its_numbers(report: GateReport) -> None:
    sections = signal_sections(gate_report_message(report))
    assert len(sections) == 3
    for (name, signal), text in zip(b._signals(report), sections, strict=True):
        first, numbers = text.split("\n")[:2]
        assert first.endswith(b.HEADLINE[name][signal.status])
        assert numbers == signal.summary  # stated once, in words, after the sentence
    for jargon in ("tail slope", "pts/week", "usable weeks"):
        assert jargon not in all_text(gate_report_message(report))


def test_each_interval_is_labelled_with_its_own_confidence_level(report: GateReport) -> None:
    text = gate_report_message(report)["text"]
    assert "levels off at 30.0% (90% CI 26.9–32.9%; n=3,099 users" in text
    assert "moving −0.2 points a week (90% CI −0.8 to +0.4)" in text
    assert "62.0% organic (95% CI 58.7–65.3%" in text
    assert "share trend +1.1 points a week (90% CI +0.2 to +2.0)" in text
    # and the convention is stated once, in the key
    key = gate_report_message(report)["blocks"][-1]["elements"][0]["text"]
    assert "95% for shares and the survey score, 90% for retention and trends" in key


@pytest.mark.parametrize(
    ("verdict", "words", "emoji"),
    [("ready", "Ready to scale", ":white_check_mark:"),
     ("not_ready", "Not ready to scale", ":no_entry:"),
     ("unclear", "Not sure yet, so not yet", ":warning:")],
)
def test_each_verdict_has_its_words_and_emoji(report: GateReport, verdict: str, words: str, emoji: str) -> None:
    message = gate_report_message(dataclasses.replace(report, verdict=verdict))  # type: ignore[arg-type]
    assert message["blocks"][1]["text"]["text"].startswith(f"{emoji} *{words}*")
    assert words in message["text"]


def test_insufficient_data_renders_with_n(insufficient_report: GateReport) -> None:
    message = gate_report_message(insufficient_report)
    check_message(message)
    sections = signal_sections(message)
    text = message["text"]
    assert "Retention · not enough data yet (n=144 users; 3 weeks with enough users)" in text
    assert "Organic · not enough data yet (n=9 classified signups" in text
    # A score that exists is still shown, with its interval, as "so far".
    assert "so far 41.7% very disappointed (95% CI 19.3–68.0%; 5 of 12 scored answers, 1 N/A left out)" in text
    assert all(":hourglass_flowing_sand:" in s and "Too few" in s for s in sections)
    assert "about 28 more responses would settle it" in message["text"]


def test_empty_report_says_no_data_yet_and_escapes_the_product_name(empty_report: GateReport) -> None:
    message = gate_report_message(empty_report, chart_note="chart below")
    check_message(message)
    assert "No data for Empty &amp; &lt;Co&gt; $5 yet" in message["text"]
    assert "<Co>" not in message["text"]
    text = all_text(message)
    assert "pmfbot import signups FILE --product empty" in text and "/pmf-check token empty" in text
    assert "Not sure yet" not in text and "Next steps" not in text and "chart below" not in text


def test_image_url_adds_an_image_block_with_alt_text(report: GateReport) -> None:
    message = gate_report_message(report, image_url="https://files.example.com/acme.png")
    check_message(message)
    images = [blk for blk in message["blocks"] if blk["type"] == "image"]
    assert len(images) == 1
    assert images[0]["image_url"] == "https://files.example.com/acme.png"
    assert "levels off at 30.0%" in images[0]["alt_text"]


def test_chart_note_becomes_a_context_line(report: GateReport) -> None:
    message = gate_report_message(report, chart_note="Retention chart posted in the thread.")
    check_message(message)
    assert {"type": "mrkdwn", "text": "Retention chart posted in the thread."} in [
        el for blk in message["blocks"] if blk["type"] == "context" for el in blk["elements"]
    ]
    assert not [blk for blk in message["blocks"] if blk["type"] == "image"]


def test_long_inputs_are_truncated_not_invalid(report: GateReport) -> None:
    huge = dataclasses.replace(
        report,
        product_name="Acme " * 100,
        retention=dataclasses.replace(report.retention, summary="flat " * 2000),
        warnings=tuple(Warning_("w", f"warning {i} " + "x" * 200) for i in range(200)),
        next_steps=tuple(f"step {i} " + "y" * 300 for i in range(200)),
    )
    message = gate_report_message(huge, chart_note="note " * 1000)
    check_message(message)
    assert len(message["blocks"]) <= 50
    assert message["blocks"][0]["text"]["text"].endswith("…")
    assert any(blk["type"] == "section" and blk["text"]["text"].endswith("…") for blk in message["blocks"])


# --------------------------------------------------------------------------- digest


def test_digest_shows_changes_since_last_week_and_buttons(report: GateReport, previous_report: GateReport) -> None:
    message = digest_core(report, previous=previous_report, survey_status="Survey in <#C0123ABCD>: 23 responses")
    check_message(message)
    text = all_text(message)
    assert "+0.4 points since last week, was borderline" in text
    assert "+1.2 points since last week" in text and "+2.9 points since last week" in text
    assert "Survey in <#C0123ABCD>: 23 responses" in text  # caller's mrkdwn kept as is
    buttons = [el for blk in message["blocks"] if blk["type"] == "actions" for el in blk["elements"]]
    assert [(x["text"]["text"], x["action_id"], x["value"]) for x in buttons] == [
        ("Run a PMF survey", DigestAction.SURVEY, "acme"),
        ("Details", DigestAction.DETAILS, "acme"),
    ]
    assert "since last week" in message["text"]


def test_digest_without_previous_or_survey(insufficient_report: GateReport) -> None:
    message = digest_core(insufficient_report)
    check_message(message)
    assert "since last week" not in all_text(message)
    assert "No survey running" in all_text(message)


# --------------------------------------------------------------------------- small messages


def test_help_lists_every_command_and_stays_within_limits() -> None:
    message = b.help_message([("/pmf-check", "Your gate report"), ("/pmf-check share", "Post it here")])
    check_message(message)
    assert "`/pmf-check share` — Post it here" in all_text(message)
    assert "/pmf-check share — Post it here" in message["text"]
    many = b.help_message([(f"/pmf-check cmd{i}", "d" * 400) for i in range(300)])
    check_message(many)
    assert "more_" in all_text(many)


def test_error_message_says_what_was_wrong_and_the_usage() -> None:
    message = b.error_message("`days` must be a whole number (got `ten`).", "/pmf-check survey start [#channel] [days N]")
    check_message(message)
    assert message["blocks"][0]["text"]["text"].startswith(":warning: `days` must be")
    assert "```/pmf-check survey start [#channel] [days N]```" in message["blocks"][1]["text"]["text"]
    assert "Usage: /pmf-check survey start" in message["text"]
    long = b.error_message("e" * 5000, "u" * 5000)
    check_message(long)
    assert long["blocks"][1]["text"]["text"].endswith("…```")


def test_product_list_marks_the_bound_product_and_escapes_names() -> None:
    message = product_list_message([("acme", "Acme <Analytics>", True), ("beta", "Beta", False)])
    check_message(message)
    text = all_text(message)
    assert "*Acme &lt;Analytics&gt;* `acme` — :pushpin: bound to this channel" in text
    assert text.count("bound to this channel") == 1
    assert "product use SLUG" in text
    assert "acme, bound to this channel" in message["text"]


def test_product_list_empty_and_huge() -> None:
    empty = product_list_message([])
    check_message(empty)
    assert "product create SLUG" in empty["text"]
    huge = product_list_message([(f"p{i}", "Name " * 30, False) for i in range(2000)])
    check_message(huge)


def test_config_lists_each_setting_with_its_meaning_unit_and_default() -> None:
    settings = ProductSettings().with_value("survey.threshold", "0.5").with_value("channel.podcast", "paid")
    message = config_message("acme", describe(settings))
    check_message(message)
    text = all_text(message)
    assert "`survey.threshold` = *0.5* (share of answers; default 0.4) — changed" in text
    assert "very disappointed" in text
    assert "`retention.min_weeks` = *8* (weeks; default 8)" in text
    assert "`channel.podcast` = *paid* (organic, paid, direct or unknown; default unknown) — changed" in text
    assert "`organic.referrals_rewarded` = *not answered*" in text
    assert "config KEY VALUE" in text
    assert "survey.threshold=0.5" in message["text"]
    check_message(config_message("acme", []))


def test_a_config_change_is_one_message_that_leads_with_the_change() -> None:
    message = config_message("acme", describe(ProductSettings()), changed="Changed `timezone` of `acme`.")
    check_message(message)
    assert message["blocks"][0]["text"]["text"] == "Changed `timezone` of `acme`."
    assert message["text"].startswith("Changed `timezone` of `acme`.")


# --------------------------------------------------------------------------- App Home


def check_view(view: dict[str, Any]) -> None:
    assert view["type"] == "home"
    validate_view(view)
    View(**view).to_dict()


def test_home_without_products_shows_getting_started() -> None:
    view = home_view([], subscriptions=[], open_surveys=[])
    check_view(view)
    text = all_text({"blocks": view["blocks"]})
    assert "*Getting started*" in text and "product create SLUG" in text
    assert "digest weekly" in text and "survey start" in text


def test_home_shows_verdict_signals_and_buttons_per_product(report: GateReport, insufficient_report: GateReport) -> None:
    view = home_view(
        [(report, "acme", "Acme Analytics"), (insufficient_report, "newco", "NewCo"), (None, "blank", "Blank")],
        subscriptions=["<#C0123ABCD> · Mondays 09:00 Europe/Berlin · acme"],
        open_surveys=["acme in <#C0123ABCD>: 23 responses, closes 2026-12-07"],
    )
    check_view(view)
    text = all_text({"blocks": view["blocks"]})
    assert "*Acme Analytics* `acme` — :warning: *Not sure yet, so not yet* · as of 2026-11-23" in text
    assert "Survey · borderline — 40.0% very disappointed (95% CI 26.3–55.4%; 16 of 40 scored answers, 2 N/A left out)" in text
    assert "No data for Blank yet" in text and "/pmf-check token blank" in text
    assert "Mondays 09:00 Europe/Berlin" in text and "23 responses" in text
    buttons = [el for blk in view["blocks"] if blk["type"] == "actions" for el in blk["elements"]]
    assert {(x["action_id"], x["value"]) for x in buttons} == {
        (action, slug)
        for action in (HomeAction.CHECK, HomeAction.SURVEY, HomeAction.DIGEST)
        for slug in ("acme", "newco", "blank")
    }


def test_home_with_many_products_and_lines_stays_within_100_blocks(report: GateReport) -> None:
    entries: list[tuple[GateReport | None, str, str]] = [(report, f"p{i}", f"Product {i}") for i in range(60)]
    view = home_view(entries, subscriptions=["s" * 500] * 200, open_surveys=["o" * 500] * 200)
    check_view(view)
    assert len(view["blocks"]) <= 100
    assert "more products" in all_text({"blocks": view["blocks"]})


def test_action_ids_are_namespaced_constants() -> None:
    ids = {f"{enum.__module__}.{member.name}": member.value for enum in (HomeAction, DigestAction) for member in enum}
    assert ids == {
        "bot.home.ids.CHECK": "pmf.home.check",
        "bot.home.ids.SURVEY": "pmf.home.survey",
        "bot.home.ids.DIGEST": "pmf.home.digest",
        "bot.digests.ids.SURVEY": "pmf.digest.survey",
        "bot.digests.ids.DETAILS": "pmf.digest.details",
    }


def test_home_shows_the_survey_lessons_under_the_signals_without_extra_blocks(report: GateReport) -> None:
    from bot.domain.lessons import survey_lessons
    from bot.domain.types import SurveyResponse

    answers = [SurveyResponse(respondent=f"r{i}", answered_at_day=report.as_of, answer="very" if i % 2 else "somewhat",
                              segment="Engineer", main_benefit=("saves hours of reporting", "saves hours", "saves hours every week",
                                                                 "saves hours")[i % 4],
                              improve="faster import <please>") for i in range(20)]
    lessons = survey_lessons(answers, anonymous=False)
    plain = home_view([(report, "acme", "Acme")], subscriptions=[], open_surveys=[])
    view = home_view([(report, "acme", "Acme")], subscriptions=[], open_surveys=[], lessons={"acme": lessons})
    check_view(view)
    assert len(view["blocks"]) == len(plain["blocks"])
    text = all_text({"blocks": view["blocks"]})
    assert "*Who loves it most:* No segment stands out yet" in text
    assert "*They love:* saves hours (10)" in text, text
    assert "*Holds others back:* faster import" in text and "<please>" not in text
