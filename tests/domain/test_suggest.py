"""Did-you-mean: the closest known word within a small edit distance, or nothing."""

from __future__ import annotations

import pytest

from bot.domain.suggest import closest, did_you_mean, edit_distance


@pytest.mark.parametrize("a, b, d", [
    ("status", "status", 0), ("stauts", "status", 1), ("statsu", "status", 1), ("sttus", "status", 1),
    ("survey", "surveys", 1), ("", "abc", 3), ("abc", "", 3), ("kitten", "sitting", 3),
])
def test_edit_distance_counts_a_swap_as_one_edit(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d


@pytest.mark.parametrize("word, expected", [
    ("stauts", "status"), ("STAUTS", "status"), ("confg", "config"), ("tokn", "token"),
    ("survey.treshold", "survey.threshold"), ("xylophone", None), ("shar", "share"), ("", None),
    ("zz", None),
])
def test_closest_only_guesses_when_the_word_is_near(word: str, expected: str | None) -> None:
    assert closest(word, ["status", "share", "config", "token", "survey", "survey.threshold"]) == expected


def test_did_you_mean_is_a_sentence_or_nothing() -> None:
    assert did_you_mean("stauts", ["status"]) == " Did you mean `status`?"
    assert did_you_mean("xylophone", ["status"]) == ""
