"""The gate's history as values: one ``GateReport`` per complete week, oldest first, and the
SPEC §10 JSON of it. Pure: built by ``bot.history.service``, drawn by ``charts``, shown by
``blocks``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain.settings import DEFAULT_ORGANIC_MIN_SHARE, DEFAULT_SURVEY_THRESHOLD
from bot.domain.types import CustomSetting, GateReport
from bot.domain.weeks import week_start


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _ci(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else [round(float(ci[0]), 4), round(float(ci[1]), 4)]


@dataclass(frozen=True)
class HistoryWeek:
    """The gate as it stood at the end of week ``week`` (a week index): its report as of the
    Monday that ends it. ``computed`` says whether it had to be computed now (no stored snapshot)."""

    week: int
    report: GateReport
    computed: bool = False

    def to_json(self) -> dict[str, Any]:
        r = self.report
        # The verdict under the default rules, in the weeks where custom rules give another one.
        differs = {"default_rules_verdict": r.default_rules_verdict} if r.verdict_differs_by_rules else {}
        return {
            "week": week_start(self.week).isoformat(),
            "as_of": r.as_of.isoformat(),
            "verdict": r.verdict,
            **differs,
            "retention": {"status": r.retention.status, "plateau_level": _r(r.retention.plateau_level),
                          "plateau_level_ci": _ci(r.retention.plateau_level_ci)},
            "organic": {"status": r.organic.status, "organic_share": _r(r.organic.organic_share),
                        "organic_share_ci": _ci(r.organic.organic_share_ci)},
            "survey": {"status": r.survey.status, "score": _r(r.survey.score), "ci": _ci(r.survey.ci),
                       "responses": r.survey.responses},
        }


@dataclass(frozen=True)
class History:
    """A product's gate week by week, oldest first (empty when the product has no complete week
    of data yet)."""

    product: str  # slug
    product_name: str
    weeks: tuple[HistoryWeek, ...]
    threshold: float = DEFAULT_SURVEY_THRESHOLD  # the survey's bar (the product's setting), drawn on the chart
    min_share: float = DEFAULT_ORGANIC_MIN_SHARE  # the organic bar
    # Changes of the product's gate rules (from the audit) in the weeks shown: (week index, what).
    rule_changes: tuple[tuple[int, str], ...] = ()

    @property
    def latest(self) -> GateReport | None:
        return self.weeks[-1].report if self.weeks else None

    @property
    def custom_rules(self) -> tuple[CustomSetting, ...]:
        """The custom settings every week shown was computed with (the product's current ones)."""
        latest = self.latest
        return latest.default_rules.custom if latest is not None and latest.default_rules is not None else ()

    @property
    def weeks_differing(self) -> int:
        """Weeks whose verdict under the default rules is another."""
        return sum(1 for w in self.weeks if w.report.verdict_differs_by_rules)

    def to_json(self) -> dict[str, Any]:
        return {"product": self.product, "weeks": [w.to_json() for w in self.weeks],
                "rule_changes": [{"week": week_start(w).isoformat(), "change": what} for w, what in self.rule_changes],
                "custom_rules": [{"key": c.key, "value": c.value, "default": c.default} for c in self.custom_rules]}
