"""Retention's n in `pmfbot history` and `pmfbot check` is the judged tail (issue 21, item 4)."""

from __future__ import annotations

from tests.fakes.fixtures import AS_OF
from tests.handlers.test_retention_n import _tail_words


def test_cli_history_and_check_give_the_tail_as_the_n(run, seed_product, session_factory):  # type: ignore[no-untyped-def]
    seed_product("T1", "acme", "Acme")
    words, tail_users, cohorts = _tail_words(session_factory)
    code, out, err = run("history", "--product", "acme", "--workspace", "T1", "--weeks", "1", "--as-of",
                         AS_OF.isoformat())
    assert code == 0, err
    assert words in out
    code, out, err = run("check", "--product", "acme", "--workspace", "T1", "--as-of", AS_OF.isoformat())
    assert code == 0, err
    assert f"{cohorts} signup cohorts" in out and f"{tail_users:,} users)" in out
