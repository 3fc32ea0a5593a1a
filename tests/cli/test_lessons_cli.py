"""`pmfbot survey lessons` on the demo's data (issue 21, item 10): phrases of 2-4 words, each with
its own quote, and "what holds others back" read from the somewhat disappointed's answers."""

from __future__ import annotations

import csv
import json

from tests.fakes.fixtures import AS_OF


def test_lessons_are_phrases_with_quotes_and_hold_back_shows_what_would_improve_it(run, demo_data) -> None:  # type: ignore[no-untyped-def]
    assert run("product", "create", "acme")[0] == 0
    for kind, path in (("signups", demo_data.signups), ("events", demo_data.events), ("responses", demo_data.responses)):
        code, _, err = run("import", kind, str(path), "--product", "acme")
        assert code == 0, err
    code, out, err = run("survey", "lessons", "--product", "acme", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    lessons = json.loads(out)
    for part in ("love", "hold_back"):
        phrases = lessons[part]["phrases"]
        assert phrases, lessons[part]["message"]
        for p in phrases:
            assert 2 <= len(p["phrase"].split()) <= 4 and p["quote"], p
        assert len({p["quote"] for p in phrases}) == len(phrases)  # one quote backs one line
    # Independent count from the file: somewhat disappointed answers (all in the window, one per
    # respondent in the demo) that say what would improve it. None of them names a main benefit, so
    # the list is theirs, and says so.
    with open(demo_data.responses, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["answer"] == "Somewhat disappointed"]
    assert all(not r["main_benefit"] for r in rows)
    improving = [r for r in rows if r["improve"].strip()]
    hold = lessons["hold_back"]
    assert hold["answers"] == len(improving) >= 5
    assert "none of them named a benefit the very disappointed love" in hold["message"]
    code, text, _ = run("survey", "lessons", "--product", "acme", "--as-of", AS_OF.isoformat())
    assert "What holds the somewhat disappointed back" in text and hold["phrases"][0]["phrase"] in text
