"""The survey's lessons: what the very disappointed love, what holds back those who share it, and when to say nothing."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from bot.domain.lessons import (
    contains,
    key_phrases,
    normalise,
    phrase_key,
    quote,
    shares,
    stem,
    survey_lessons,
)
from bot.domain.types import Answer, SurveyResponse

DAY = date(2025, 11, 24)

# Seven very disappointed answers, worked out by hand (stop words dropped, words stemmed):
#   "team scheduling" is contained in 1 and 2 (3 has both words but not next to each other);
#   "saves hours" in 1 and 6; "keyboard shortcuts" in 4 and 5. "shortcuts" (4, 5, 7), "scheduling"
#   and "team" (1, 2, 3), "hours" and "saves" (1, 6) are hidden by the longer phrases, which cover
#   at least half of their answers; every other word is in one answer only.
LOVE = [
    "Team scheduling; saves hours every week.",
    "Team scheduling, no doubt.",
    "Scheduling for the whole team in one place.",
    "Keyboard shortcuts make everything faster.",
    "The keyboard shortcuts!",
    "It saves hours of admin.",
    "Honestly the shortcuts.",
]
# Somewhat disappointed: (main benefit, how to improve). All but "Nice colours" and the one without
# a benefit share a loved phrase ("Scheduling the team" and "hours saved" share in any order), so
# six improvement answers count: "mobile app" is in four, "offline mode" in three.
SOMEWHAT = [
    ("Scheduling the team is easier", "Needs a mobile app."),
    ("shortcuts on the keyboard", "A mobile app please"),
    ("Nice colours", "Cheaper pricing, cheaper pricing"),
    ("saves hours", "Better mobile app, offline mode."),
    ("team scheduling", "Offline mode for flights."),
    ("Keyboard shortcuts", "mobile app"),
    ("hours saved", "offline mode"),
    (None, "Cheaper pricing"),
]


def survey(
    love: list[str] = LOVE,
    somewhat: list[tuple[str | None, str | None]] = SOMEWHAT,
    *,
    not_: int = 4,
    na: int = 1,
) -> list[SurveyResponse]:
    out = [SurveyResponse(f"v{i}", DAY, "very", segment="Engineer", main_benefit=b) for i, b in enumerate(love)]
    out += [
        SurveyResponse(f"s{i}", DAY, "somewhat", segment="Designer", main_benefit=b, improve=imp)
        for i, (b, imp) in enumerate(somewhat)
    ]
    rest: list[Answer] = ["not"] * not_ + ["na"] * na
    out += [SurveyResponse(f"n{i}", DAY, a, segment="Founder") for i, a in enumerate(rest)]
    return out


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("saves", "sav"), ("saved", "sav"), ("saving", "sav"), ("save", "sav"),
        ("shortcuts", "shortcut"), ("speeds", "speed"), ("speed", "speed"), ("meetings", "meet"),
        ("replies", "reply"), ("boxes", "box"), ("focus", "focus"), ("bring", "bring"),
    ],
)
def test_stem_matches_forms_of_the_same_word(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize(
    ("scenario", "answer", "phrase", "contained", "shared"),
    [
        ("same_words_in_order", "Team scheduling is great", "team scheduling", True, True),
        ("plural_and_verb_forms", "It saved hours", "saves hour", True, True),
        ("stop_word_between", "time to market went down", "time market", True, True),
        ("typographic_apostrophe_and_case", "I DON\u2019T double-book", "double book", True, True),
        ("reversed_order_only_shares", "shortcuts on the keyboard", "keyboard shortcuts", False, True),
        ("words_apart_only_share", "Scheduling for the whole team", "team scheduling", False, True),
        ("across_a_sentence_break_only_shares", "A team. Scheduling too", "team scheduling", False, True),
        ("one_word_missing", "team calendars", "team scheduling", False, False),
    ],
)
def test_contains_and_shares(scenario: str, answer: str, phrase: str, contained: bool, shared: bool) -> None:
    clauses, key = normalise(answer), phrase_key(phrase)
    assert (contains(clauses, key), shares(clauses, key)) == (contained, shared), scenario


@pytest.mark.parametrize(
    ("scenario", "text", "expected"),
    [
        ("short_kept_whole", "  Fast   and  simple. ", "Fast and simple."),
        ("exactly_at_the_limit", "a" * 120, "a" * 120),
        ("trimmed_at_a_word_boundary", "word " * 40, ("word " * 24).strip() + "\u2026"),
        ("punctuation_before_the_cut_dropped", "x" * 100 + ", " + "y" * 30, "x" * 100 + "\u2026"),
    ],
)
def test_quote(scenario: str, text: str, expected: str) -> None:
    q = quote(text)
    assert q == expected, scenario
    assert len(q) <= 120


# --------------------------------------------------------------------------- key phrases


def test_benefits_with_shared_phrases_give_the_hand_counted_phrases() -> None:
    phrases = key_phrases(LOVE)
    assert sorted((p.phrase, p.count) for p in phrases) == [
        ("keyboard shortcuts", 2), ("saves hours", 2), ("team scheduling", 2),
    ]
    quotes = {p.phrase: p.quote for p in phrases}
    # The shortest answer that contains the phrase and says more than the phrase alone (stop words
    # and punctuation aside).
    assert quotes == {
        "keyboard shortcuts": "Keyboard shortcuts make everything faster.",  # "The keyboard shortcuts!" is bare
        "saves hours": "It saves hours of admin.",
        "team scheduling": "Team scheduling, no doubt.",
    }


def test_one_word_is_a_fragment_not_a_phrase() -> None:
    # "shortcuts" is in 5 answers, "keyboard shortcuts" in 2: only the phrase of 2+ words is a lesson.
    texts = ["Keyboard shortcuts", "keyboard shortcuts rock", "shortcuts", "The shortcuts.", "shortcuts!!", "Calm inbox"]
    assert [(p.phrase, p.count) for p in key_phrases(texts)] == [("keyboard shortcuts", 2)]
    assert key_phrases(["team", "Team!", "the team", "week", "week"]) == ()


def test_one_persons_words_are_not_a_theme() -> None:
    assert key_phrases(["Fast search", "Clean design", "Great support", "Cheap", "Calendar sync"]) == ()


def test_at_most_top_phrases_ranked_by_count() -> None:
    texts = (["alpha beta"] * 5 + ["gamma ray"] * 4 + ["delta wing"] * 3 + ["epsilon eridani"] * 2
             + ["zeta function"] * 2 + ["eta carinae"] * 2)
    counts = [p.count for p in key_phrases(texts, top=5)]
    assert counts == [5, 4, 3, 2, 2]


def test_key_phrases_do_not_depend_on_input_order() -> None:
    first = key_phrases(LOVE)
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(len(LOVE))
        assert key_phrases([LOVE[i] for i in order]) == first


def test_ties_are_broken_by_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # Equal counts and equal relevance (YAKE rarely scores two phrases exactly alike, so the
    # relevance is fixed here): the order is alphabetical, whatever order the candidates came in.
    import bot.domain.lessons as lessons_module

    texts = ["plum tart, apple pie", "apple pie and plum tart", "zucchini bread"]
    for order in (["plum tart", "apple pie"], ["apple pie", "plum tart"]):
        fixed = {phrase_key(text): (0.5, text) for text in order}
        monkeypatch.setattr(lessons_module, "_candidates", lambda _texts, fixed=fixed: fixed)
        # Both are quoted by the same answer, so they are one line: the first alphabetically leads.
        assert [(p.phrase, p.also) for p in key_phrases(texts)] == [("apple pie", ("plum tart",))]


def test_one_quote_backing_two_phrases_merges_them() -> None:
    # "weekly digest" and "status meeting" are each in the first two answers; the shortest of them
    # that says more than one phrase alone quotes both, so they are one line.
    texts = ["Weekly digest and status meeting notes", "weekly digest, status meeting", "Calm inbox", "calm inbox"]
    phrases = key_phrases(texts)
    assert sorted((p.phrase, p.count, p.also, p.quote) for p in phrases) == [
        ("calm inbox", 2, (), "Calm inbox"),
        ("weekly digest", 2, ("status meeting",), "weekly digest, status meeting"),
    ]


# --------------------------------------------------------------------------- the lessons


def test_the_somewhat_disappointed_who_share_the_love_say_what_holds_them_back() -> None:
    lessons = survey_lessons(survey(), anonymous=False)
    assert lessons.respondents.somewhat_sharing == 6
    assert lessons.respondents.somewhat_sharing_with_improve == 6
    hold = lessons.hold_back
    assert (hold.answers, hold.respondents) == (6, 6)
    # "Cheaper pricing" came from people who do not share the love: it is not what holds them back.
    assert [(p.phrase, p.count, p.quote) for p in hold.phrases] == [
        # "mobile app", "A mobile app please" and "Needs a mobile app." say nothing but the phrase.
        ("mobile app", 4, "Better mobile app, offline mode."),
        ("offline mode", 3, "Offline mode for flights."),
    ]


def test_full_json_shape() -> None:
    out = survey_lessons(survey(), anonymous=False).to_json()
    json.dumps(out)  # plain JSON types only
    assert set(out) == {"anonymous", "segment", "love", "hold_back", "respondents"}
    assert set(out["love"]) == {"answers", "respondents", "message", "phrases"}
    assert set(out["love"]["phrases"][0]) == {"phrase", "count", "quote", "also"}
    assert out["respondents"] == {
        "total": 20, "scored": 19, "very": 7, "somewhat": 8, "not": 4, "na": 1,
        "very_with_benefit": 7, "somewhat_sharing": 6, "somewhat_sharing_with_improve": 6,
    }
    assert out["segment"]["name"] == "Engineer" and out["segment"]["n"] == 7
    assert out["love"]["message"] == "From 7 answers of very disappointed users about the main benefit."
    # Nothing names a respondent: no respondent key appears anywhere in the output.
    text = json.dumps(out)
    assert not any(f'"{k}"' in text or f" {k} " in text for k in ("v0", "s0", "n0"))


@pytest.mark.parametrize(
    ("scenario", "love", "anonymous", "quotes"),
    [
        ("named_survey_shows_quotes", LOVE, False, True),
        ("anonymous_with_seven_people_shows_quotes", LOVE, True, True),
    ],
)
def test_quotes(scenario: str, love: list[str], anonymous: bool, quotes: bool) -> None:
    lessons = survey_lessons(survey(love), anonymous=anonymous)
    assert lessons.love.phrases, scenario
    assert all((p.quote is not None) == quotes for p in lessons.love.phrases + lessons.hold_back.phrases)


def test_anonymous_survey_with_fewer_than_five_people_shows_no_quote() -> None:
    # Four people would be too few for any list; with the minimum lowered to 3 the phrases show,
    # but an anonymous survey still withholds the quotes below 5 contributors.
    texts = ["Team scheduling", "team scheduling rocks", "Keyboard shortcuts", "keyboard shortcuts"]
    lessons = survey_lessons(survey(texts, []), anonymous=True, min_answers=3)
    assert sorted((p.phrase, p.count) for p in lessons.love.phrases) == [("keyboard shortcuts", 2), ("team scheduling", 2)]
    assert all(p.quote is None for p in lessons.love.phrases)
    assert "Quotes are shown once at least 5 people have answered." in lessons.love.message
    named = survey_lessons(survey(texts, []), anonymous=False, min_answers=3)
    assert all(p.quote is not None for p in named.love.phrases)


@pytest.mark.parametrize("anonymous", [False, True])
def test_fewer_than_five_answers_claims_nothing(anonymous: bool) -> None:
    lessons = survey_lessons(survey(LOVE[:3], SOMEWHAT), anonymous=anonymous)
    assert lessons.love.phrases == ()
    assert lessons.love.message.startswith("Not enough answers yet (n=3)")
    # What the very disappointed love is unknown: the hold-back list is every somewhat disappointed
    # user's improvement answer, and says so.
    assert lessons.hold_back.answers == 8
    assert "(what the very disappointed love is not clear yet)" in lessons.hold_back.message
    assert [(p.phrase, p.count) for p in lessons.hold_back.phrases][:2] == [("mobile app", 4), ("offline mode", 3)]
    assert lessons.segment.stands_out is False


def test_too_few_sharing_improvements_claims_nothing() -> None:
    lessons = survey_lessons(survey(LOVE, SOMEWHAT[:4]), anonymous=False)
    assert lessons.love.phrases
    # three of the four share the love and said how to improve: too few, so all four answers are
    # taken, still too few to claim anything
    assert lessons.respondents.somewhat_sharing_with_improve == 3
    assert lessons.hold_back.answers == 4
    assert lessons.hold_back.phrases == ()
    assert lessons.hold_back.message.startswith("Not enough answers yet (n=4)")


def test_nobody_somewhat_disappointed_shares_the_love() -> None:
    somewhat = [("Nice colours", "cheaper pricing please"), ("Nice colours", "Cheaper pricing")] * 3
    lessons = survey_lessons(survey(LOVE, somewhat), anonymous=False)
    assert lessons.respondents.somewhat_sharing == 0
    # what holds them back is still shown: every somewhat disappointed user's answer, said so
    assert [(p.phrase, p.count) for p in lessons.hold_back.phrases] == [("cheaper pricing", 6)]
    assert "(none of them named a benefit the very disappointed love)" in lessons.hold_back.message


def test_blank_answers_do_not_count() -> None:
    lessons = survey_lessons(survey(LOVE[:4] + ["   ", ""]), anonymous=False)
    assert lessons.respondents.very_with_benefit == 4
    assert lessons.love.message.startswith("Not enough answers yet (n=4)")


def test_lessons_do_not_depend_on_input_order() -> None:
    responses = survey()
    first = json.dumps(survey_lessons(responses, anonymous=False).to_json(), sort_keys=True)
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(responses))
        again = survey_lessons([responses[i] for i in order], anonymous=False).to_json()
        assert json.dumps(again, sort_keys=True) == first
