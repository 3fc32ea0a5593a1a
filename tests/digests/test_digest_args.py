"""`/pmf-check digest weekly …` arguments: any order, each at most once, with a clear error."""

from __future__ import annotations

from datetime import time

import pytest

from bot.digests.schedule import WeeklyArgs, parse_channel_only, parse_weekly_args
from bot.errors import UserError


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ([], WeeklyArgs()),
        (["<#C0123ABCD|growth>"], WeeklyArgs(channel_id="C0123ABCD")),
        (["<#C0123ABCD>", "fri", "16:30", "Europe/Berlin"],
         WeeklyArgs("C0123ABCD", 4, time(16, 30), "Europe/Berlin")),
        (["Europe/Berlin", "9:05", "Wednesday"], WeeklyArgs(None, 2, time(9, 5), "Europe/Berlin")),
        (["mondays", "UTC"], WeeklyArgs(None, 0, None, "UTC")),
        (["SUN", "America/Argentina/Buenos_Aires"], WeeklyArgs(None, 6, None, "America/Argentina/Buenos_Aires")),
    ],
)
def test_weekly_args_parse(words: list[str], expected: WeeklyArgs) -> None:
    assert parse_weekly_args(words) == expected


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["25:00"], "not a time of day"),
        (["9:60"], "not a time of day"),
        (["Mars/Olympus"], "not a time zone I know"),
        (["#growth"], "could not read the channel"),
        (["mon", "tue"], "given twice"),
        (["daily"], "did not understand `daily`"),
    ],
)
def test_weekly_args_refuse_what_they_cannot_read(words: list[str], message: str) -> None:
    with pytest.raises(UserError) as err:
        parse_weekly_args(words)
    assert message in str(err.value)
    assert err.value.usage and "digest weekly" in err.value.usage


def test_channel_only() -> None:
    assert parse_channel_only([], "u") is None
    assert parse_channel_only(["<#C0123ABCD|x>"], "u") == "C0123ABCD"
    with pytest.raises(UserError):
        parse_channel_only(["<#C0123ABCD|x>", "now"], "u")
