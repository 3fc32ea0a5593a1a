"""Custom rules never hide (SPEC §5 "Gate verdict", §8 "Audit"): when any of a product's gate
settings differs from its default, the gate is also computed with the defaults, and every
surface shows both verdicts where they differ. This module owns which settings are custom, the
settings the gate is recomputed with (the defaults, in the product's own time zone: the zone
decides where weeks start, it is no rule), which signals a custom setting can move (only those
are recomputed), and the plain lines every surface shows. Pure: settings and reports in, values
and text out."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.gate import STATUS_WORD, verdict_text
from bot.domain.settings import DEFAULT_CHANNEL_MAP, ProductSettings
from bot.domain.types import CustomSetting, DefaultRulesGate, GateReport, Status, Verdict

SIGNALS: tuple[str, ...] = ("retention", "organic", "survey")
# Settings that state facts about the product rather than bend a rule: kept as they are when the
# gate is recomputed with the defaults, and never listed as custom rules. The time zone decides
# where weeks start. (Answers a manager gives about the data itself — how a source is classified,
# whether referrals are rewarded — belong here too, by key prefix.)
NOT_RULES: tuple[str, ...] = ("timezone", "organic.referrals_rewarded", "organic.classify")


def is_rule(key: str) -> bool:
    return not any(key == p or key.startswith(p + ".") for p in NOT_RULES)


def custom_settings(settings: ProductSettings) -> tuple[CustomSetting, ...]:
    """Every gate setting of a product that differs from its default (in ``to_dict`` order)."""
    defaults = ProductSettings().to_dict_all()
    out = []
    for key, value in settings.to_dict().items():
        if not is_rule(key):
            continue
        if key.startswith("channel."):
            default = DEFAULT_CHANNEL_MAP.get(key[len("channel."):])
        else:
            default = defaults.get(key)
        out.append(CustomSetting(key, value, default))
    return tuple(out)


def default_settings(settings: ProductSettings) -> ProductSettings:
    """The settings the gate is recomputed with: every rule at its default, the facts (``NOT_RULES``:
    the time zone) as the product has them."""
    return settings.with_default_rules()


def signal_of(key: str) -> frozenset[str]:
    """The signals a setting can move: its group (the channel map is organic's); a key of no
    known group could move any of them."""
    group = key.split(".", 1)[0]
    if group == "channel":
        return frozenset({"organic"})
    return frozenset({group}) if group in SIGNALS else frozenset(SIGNALS)


def affected_signals(custom: Sequence[CustomSetting]) -> frozenset[str]:
    """The signals to recompute under the defaults (the others cannot differ)."""
    out: frozenset[str] = frozenset()
    for c in custom:
        out |= signal_of(c.key)
    return out


def outcome(verdict: Verdict, retention: Status, organic: Status, survey: Status,
            custom: Sequence[CustomSetting]) -> DefaultRulesGate:
    return DefaultRulesGate(verdict, retention, organic, survey, tuple(custom))


# --------------------------------------------------------------------------- words


def show(value: object) -> str:
    """A setting's value as a person types it (0.8, 6, organic; "none" for no default)."""
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def reset_command(c: CustomSetting) -> str:
    """The command that puts one setting back to its default."""
    default = c.default if c.default is not None else "unknown"
    return f"/pmf-check config {c.key} {show(default)}"


def _moved(report: GateReport) -> list[str]:
    d = report.default_rules
    assert d is not None
    mine = {"retention": report.retention.status, "organic": report.organic.status, "survey": report.survey.status}
    return [name for name in SIGNALS if mine[name] != d.statuses()[name]]


def default_rules_line(report: GateReport) -> str | None:
    """The one plain line every surface shows when the custom rules give another verdict than
    the defaults (None otherwise), with its next step: "Ready to scale with your custom rules; with
    the default rules: Not sure yet, so not yet — retention reads borderline under the defaults,
    pass under retention.drift_ratio 0 (default 0.8). To judge by the defaults again:
    `/pmf-check config retention.drift_ratio 0.8`.\""""
    d = report.default_rules
    if d is None or d.verdict == report.verdict:
        return None
    moved = _moved(report)
    mine = {"retention": report.retention.status, "organic": report.organic.status, "survey": report.survey.status}
    why = []
    resets = []
    for name in moved:
        keys = [c for c in d.custom if name in signal_of(c.key)]
        settings = ", ".join(f"{c.key} {show(c.value)} (default {show(c.default) if c.default is not None else 'none'})"
                             for c in keys)
        why.append(f"{name} reads {STATUS_WORD[d.statuses()[name]]} under the defaults, "
                   f"{STATUS_WORD[mine[name]]} under {settings}")
        resets += [f"`{reset_command(c)}`" for c in keys]
    line = (f"{verdict_text(report.verdict)} with your custom rules; with the default rules: "
            f"{verdict_text(d.verdict)}")
    if why:
        line += " — " + "; ".join(why)
    return line + ". To judge by the defaults again: " + ", ".join(dict.fromkeys(resets) or
                                                                   ["`/pmf-check config`"]) + "."


def default_rules_short(report: GateReport) -> str | None:
    """The history's per-week note: "with the default rules: Not sure yet, so not yet" (None when
    the verdicts agree or every rule is the default)."""
    if not report.verdict_differs_by_rules or report.default_rules is None:
        return None
    return f"with the default rules: {verdict_text(report.default_rules.verdict)}"


def same_verdict_note(report: GateReport) -> str | None:
    """Under custom rules that give the same verdict as the defaults: saying so, so a reader
    knows the rules were checked (None otherwise)."""
    if report.default_rules is None or report.verdict_differs_by_rules:
        return None
    return "The default rules give the same verdict."
