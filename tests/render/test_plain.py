"""mrkdwn made plain for modal errors and plain_text fields: names instead of ids, no markers,
whole sentences within the limit."""

from __future__ import annotations

import pytest

from bot.render.plain import channel_names, field_error, shorten, to_plain


@pytest.mark.parametrize("mrkdwn, plain", [
    ("<#C0123ABCD|growth> already has one.", "#growth already has one."),
    ("<#C0123ABCD> already has one.", "that channel already has one."),
    ("Run `/pmf-check survey close` first.", "Run /pmf-check survey close first."),
    ("*Acme* &amp; <@U1|ann> said &lt;hi&gt;", "Acme & @ann said <hi>"),
    ("<https://x.slack.com/a|the survey> in <#C1|general>", "the survey in #general"),
    ("2 * 3 * 4", "2 * 3 * 4"),
])
def test_to_plain(mrkdwn: str, plain: str) -> None:
    assert to_plain(mrkdwn) == plain


def test_shorten_keeps_whole_sentences() -> None:
    text = "First sentence here. " + "Second one is long " * 10 + "end."
    assert shorten(text, 150) == "First sentence here."
    assert shorten("short.", 150) == "short."


def test_shorten_cuts_a_long_sentence_at_a_word_with_an_ellipsis() -> None:
    out = shorten("word " * 60, 150)
    assert len(out) <= 150 and out.endswith("word…")


def test_field_error_starts_with_a_capital_and_names_the_channel() -> None:
    out = field_error("<#C1> already has an open survey. See it with `/pmf-check survey status` " + "x" * 200,
                      unnamed_channel="this channel")
    assert out == "This channel already has an open survey."


def test_channel_names_for_the_placeholder() -> None:
    assert channel_names("survey start <#C1|growth> days 3") == "survey start #growth days 3"
