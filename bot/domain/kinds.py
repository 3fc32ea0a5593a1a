"""The domain's small vocabulary: statuses, verdicts, answers, channel classes and activity tiers,
and the rounding every ``to_json`` uses. Imported by ``bot.domain.types`` and the per-signal type
modules, so those never import each other."""

from __future__ import annotations

from typing import Literal

Status = Literal["pass", "borderline", "fail", "insufficient_data"]
Verdict = Literal["ready", "not_ready", "unclear"]
Answer = Literal["very", "somewhat", "not", "na"]
ChannelClass = Literal["organic", "paid", "direct", "unknown"]
# How active a respondent is: weeks active of the last 8 (1-2 light, 3-5 regular, 6-8 heavy).
ActivityTier = Literal["light", "regular", "heavy"]

STATUSES: tuple[Status, ...] = ("pass", "borderline", "fail", "insufficient_data")
TIERS: tuple[ActivityTier, ...] = ("light", "regular", "heavy")
ANSWERS: tuple[Answer, ...] = ("very", "somewhat", "not", "na")


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)


def _ci(ci: tuple[float, float] | None, nd: int = 4) -> list[float] | None:
    return None if ci is None else [round(float(ci[0]), nd), round(float(ci[1]), nd)]
