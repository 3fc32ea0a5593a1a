""""Responses needed" as a range (issue 21, item 12): as answers arrive one by one, the new estimate
always lies inside the range shown before it, so the reader never sees it jump out of what was said.
Seeded simulation of answer streams around the bar."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from bot.domain.settings import SurveySettings
from bot.domain.survey import responses_needed, survey_signal
from bot.domain.types import SurveyResponse

AS_OF = date(2026, 11, 23)


def _signal(answers: list[str]):  # type: ignore[no-untyped-def]
    rows = [SurveyResponse(f"r{i}", date(2026, 11, 20), a) for i, a in enumerate(answers)]
    return survey_signal(rows, AS_OF, SurveySettings())


@pytest.mark.parametrize("seed", range(4))
def test_each_new_estimate_lies_in_the_range_shown_before(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = 0.44 + 0.04 * rng.random()  # near the 40% bar, where the estimate moves most
    answers = ["very" if rng.random() < p else "not" for _ in range(120)]
    before = None
    checked = 0
    for k in range(len(answers) + 1, len(answers) + 25):
        answers.append("very" if rng.random() < p else "not")
        s = _signal(answers[:k])
        if before is not None and before.more_responses_range and s.more_responses_needed:
            lo, hi = before.more_responses_range
            assert lo <= s.more_responses_needed <= hi, (k, before.more_responses_range, s.more_responses_needed)
            checked += 1
        before = s
    assert checked >= 10


def test_the_range_is_the_estimate_after_either_next_answer() -> None:
    s = _signal(["very"] * 66 + ["not"] * 74)
    settings = SurveySettings()
    # Independent: the unweighted estimate for 66/140, 67/141 and 66/141 straight from responses_needed.
    expected = [responses_needed(v, n, settings.threshold, settings.min_responses) for v, n in
                ((66, 140), (67, 141), (66, 141))]
    assert s.more_responses_needed == expected[0]
    assert s.more_responses_range == (min(expected), max(expected))
    assert s.more_responses_text == f"about {min(expected):,}–{max(expected):,}"
