"""Per-product settings: the thresholds of SPEC §5, the channel map and the timezone.

Pure and immutable. Stored as JSON on the product row (only the keys that differ from the
defaults), changed one key at a time through ``with_value`` which validates the new value and
says what is wrong in words a user can act on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.active_events import ActiveEventsError, parse_active_events
from bot.domain.channels import DEFAULT_PAID_CHANNELS, is_ambiguous, normalise_channel
from bot.domain.confidence import SURVEY_PASS_Z
from bot.domain.suggest import did_you_mean
from bot.domain.types import ChannelClass

# Channel names are normalised (lower case, spaces/dashes -> "_") before lookup. Ambiguous names
# (partner, podcast, newsletter, a bare search ...) and referral tags are not in the map: see
# bot/domain/channels.py and ``organic.classify`` / ``organic.referrals_rewarded``.
DEFAULT_CHANNEL_MAP: dict[str, ChannelClass] = {
    **{k: "organic" for k in (
        "organic", "organic_search", "organic_social", "seo", "word_of_mouth", "wom", "community",
        "content", "blog", "press", "pr", "email", "social", "invite", "viral", "app_store",
        "hacker_news", "product_hunt",
    )},
    # Analytics tools' names for traffic that carried no tags at all (SPEC §5 "direct (untagged)").
    **{k: "direct" for k in ("direct", "none", "not_set", "untagged")},
    # The paid names live with the rest of the paid vocabulary (bot/domain/channels.py).
    **{k: "paid" for k in DEFAULT_PAID_CHANNELS},
    "unknown": "unknown",
    "other": "unknown",
}


# Defaults other modules need too (charts drawn without a product's settings, the demo): read
# them from these names, never write the numbers again.
DEFAULT_SURVEY_THRESHOLD = 0.40  # the survey's bar: share of "very disappointed" answers
DEFAULT_ORGANIC_MIN_SHARE = 0.5  # the organic bar: share of classified signups that are organic
DEFAULT_ORGANIC_WINDOW_WEEKS = 4  # the organic share's window


class SettingError(ValueError):
    """A setting key or value a user gave is not acceptable; the message says what to fix."""


@dataclass(frozen=True)
class RetentionSettings:
    min_weeks: int = 8
    tail_weeks: int = 6
    min_users: int = 50
    min_cohorts: int = 6
    flat_tolerance: float = 0.01
    relative_tolerance: float = 0.02
    min_plateau: float = 0.05
    drift_ratio: float = 0.95
    confirm_weeks: int = 2
    # What counts as activity (bot.domain.active_events): default, include:A,B or exclude:A,B.
    active_events: str = "default"


@dataclass(frozen=True)
class OrganicSettings:
    window_weeks: int = DEFAULT_ORGANIC_WINDOW_WEEKS
    trend_weeks: int = 12
    min_signups: int = 30
    min_share: float = DEFAULT_ORGANIC_MIN_SHARE
    untagged_paid_allowance: float = 0.25
    # The manager's answer to "are referrals rewarded?": "" (not asked or not answered), yes, no.
    referrals_rewarded: str = ""


@dataclass(frozen=True)
class SurveySettings:
    threshold: float = DEFAULT_SURVEY_THRESHOLD
    min_responses: int = 40
    window_days: int = 90
    pass_z: float = SURVEY_PASS_Z  # bot/domain/confidence.py


@dataclass(frozen=True)
class ProductSettings:
    timezone: str = "UTC"
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    organic: OrganicSettings = field(default_factory=OrganicSettings)
    survey: SurveySettings = field(default_factory=SurveySettings)
    # Overrides of DEFAULT_CHANNEL_MAP, normalised channel name -> class.
    channel_overrides: tuple[tuple[str, ChannelClass], ...] = ()
    # Ambiguous sources a manager classified (``organic.classify SOURCE organic|paid``).
    source_classes: tuple[tuple[str, ChannelClass], ...] = ()

    @property
    def channel_map(self) -> dict[str, ChannelClass]:
        return {**DEFAULT_CHANNEL_MAP, **dict(self.channel_overrides)}

    # ----------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Only what differs from the defaults, so that changing a default later reaches
        every product that never chose its own value."""
        out: dict[str, Any] = {}
        default = ProductSettings()
        if self.timezone != default.timezone:
            out["timezone"] = self.timezone
        for group in ("retention", "organic", "survey"):
            mine, base = getattr(self, group), getattr(default, group)
            for f in dataclasses.fields(mine):
                if getattr(mine, f.name) != getattr(base, f.name):
                    out[f"{group}.{f.name}"] = getattr(mine, f.name)
        for name, cls in self.channel_overrides:
            out[f"channel.{name}"] = cls
        for name, cls in self.source_classes:
            out[f"{CLASSIFY}.{name}"] = cls
        return out

    def to_dict_all(self) -> dict[str, Any]:
        """Every rule with its value (``group.name`` keys, and ``timezone``)."""
        out: dict[str, Any] = {"timezone": self.timezone}
        for group in ("retention", "organic", "survey"):
            g = getattr(self, group)
            out.update({f"{group}.{f.name}": getattr(g, f.name) for f in dataclasses.fields(g)})
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ProductSettings:
        s = cls()
        for key, value in sorted((data or {}).items()):
            s = s.with_value(key, str(value))
        return s

    def items(self) -> list[tuple[str, str]]:
        """Every key with its current value, for ``config`` listings."""
        rows = [("timezone", self.timezone)]
        for group in ("retention", "organic", "survey"):
            g = getattr(self, group)
            rows += [(f"{group}.{f.name}", str(getattr(g, f.name))) for f in dataclasses.fields(g)]
        rows += [(f"channel.{n}", c) for n, c in self.channel_overrides]
        rows += [(f"{CLASSIFY}.{n}", c) for n, c in self.source_classes]
        return rows

    def with_default_rules(self) -> ProductSettings:
        """The default rules with this product's answers about its data kept (timezone, the
        classified sources, whether referrals are rewarded): what "with the default rules" means."""
        return dataclasses.replace(
            ProductSettings(), timezone=self.timezone, source_classes=self.source_classes,
            organic=dataclasses.replace(OrganicSettings(), referrals_rewarded=self.organic.referrals_rewarded))

    # ----------------------------------------------------------------- changing one key
    def with_value(self, key: str, raw: str) -> ProductSettings:
        key = key.strip().lower()
        raw = raw.strip()
        if key == "timezone":
            return dataclasses.replace(self, timezone=validate_timezone(raw))
        if key.startswith("channel."):
            name = normalise_channel(key[len("channel."):])
            if not name:
                raise SettingError("Name the channel: `channel.NAME organic|paid|direct|unknown`.")
            cls_ = raw.lower()
            if cls_ not in ("organic", "paid", "direct", "unknown"):
                raise SettingError(
                    f"`{key}` must be organic, paid, direct or unknown (got `{raw}`)."
                )
            rest = tuple((n, c) for n, c in self.channel_overrides if n != name)
            return dataclasses.replace(self, channel_overrides=rest + ((name, cast(ChannelClass, cls_)),))
        if key == CLASSIFY or key.startswith(CLASSIFY + "."):
            return self._classify(key, raw)
        if key == "retention.active_events":
            try:
                rule = parse_active_events(raw)
            except ActiveEventsError as err:
                raise SettingError(str(err)) from None
            return dataclasses.replace(self, retention=dataclasses.replace(self.retention,
                                                                           active_events=rule.canonical()))
        if key == "organic.referrals_rewarded":
            answer = {"yes": "yes", "no": "no", "true": "yes", "false": "no", "": ""}.get(raw.lower())
            if answer is None:
                raise SettingError(f"`{key}` must be yes or no (got `{raw}`): are signups from referrals "
                                   "rewarded (credit, discounts, cash)? Rewarded referrals count as paid.")
            return dataclasses.replace(self, organic=dataclasses.replace(self.organic, referrals_rewarded=answer))
        group, _, name = key.partition(".")
        if group not in ("retention", "organic", "survey") or not name:
            hint = did_you_mean(key, known_keys())
            raise SettingError(f"Unknown setting `{key}`.{hint} Known settings: "
                               f"{', '.join(k for k, _ in self.items())}, channel.NAME.")
        g = getattr(self, group)
        fields = {f.name: f for f in dataclasses.fields(g)}
        if name not in fields:
            hint = did_you_mean(key, known_keys())
            raise SettingError(f"Unknown setting `{key}`.{hint} {group} settings: "
                               f"{', '.join(f'{group}.{n}' for n in fields)}.")
        current = getattr(g, name)
        value: int | float
        try:
            if isinstance(current, float) and raw.strip().endswith("%"):
                value = float(raw.strip()[:-1]) / 100  # "40%" is 0.4: shares are stored as fractions
            else:
                value = int(raw) if isinstance(current, int) else float(raw)
        except ValueError:
            kind = "a whole number" if isinstance(current, int) else "a number"
            raise SettingError(f"`{key}` must be {kind} (got `{raw}`).") from None
        _check_range(key, value)
        return dataclasses.replace(self, **{group: dataclasses.replace(g, **{name: value})})


    def _classify(self, key: str, raw: str) -> ProductSettings:
        """``organic.classify SOURCE organic|paid`` (or ``organic.classify.SOURCE organic|paid``,
        as stored)."""
        words = raw.split()
        if key != CLASSIFY:
            words = [key[len(CLASSIFY) + 1:], *words]
        usage = f"Use `{CLASSIFY} SOURCE organic|paid`, e.g. `{CLASSIFY} partner paid`."
        if len(words) < 2:
            raise SettingError(f"Name one source and how it counts. {usage}")
        name, cls_ = normalise_channel(" ".join(words[:-1])), words[-1].lower()
        if cls_ not in ("organic", "paid"):
            raise SettingError(f"A source counts as organic or paid (got `{words[-1]}`). {usage}")
        if name == "referral":
            raise SettingError("Referrals are classified by `organic.referrals_rewarded yes|no` "
                               "(rewarded referrals count as paid).")
        if not is_ambiguous(name):
            raise SettingError(f"`{name}` is not an ambiguous source (partner, podcast, influencer, creator, "
                               "sponsor, newsletter, a bare google/bing/search); to change how a channel name "
                               f"counts use `channel.{name or 'NAME'} organic|paid|direct|unknown`.")
        rest = tuple((n, c) for n, c in self.source_classes if n != name)
        return dataclasses.replace(self, source_classes=rest + ((name, cast(ChannelClass, cls_)),))


CLASSIFY = "organic.classify"
ACTIVE_EVENTS = "retention.active_events"

_RANGES: dict[str, tuple[float, float]] = {
    "retention.min_weeks": (3, 104),
    "retention.tail_weeks": (3, 52),
    "retention.min_users": (1, 10_000_000),
    "retention.min_cohorts": (1, 1000),
    "retention.flat_tolerance": (0.0, 0.2),
    "retention.relative_tolerance": (0.0, 0.5),
    "retention.min_plateau": (0.0, 1.0),
    "retention.drift_ratio": (0.0, 1.0),
    # 1 turns the confirmation off; the domain takes one previous week's status, not a history.
    "retention.confirm_weeks": (1, 2),
    "organic.window_weeks": (1, 26),
    "organic.trend_weeks": (3, 104),
    "organic.min_signups": (1, 10_000_000),
    "organic.min_share": (0.0, 1.0),
    "organic.untagged_paid_allowance": (0.0, 1.0),
    "survey.threshold": (0.01, 0.99),
    "survey.min_responses": (1, 1_000_000),
    "survey.window_days": (1, 3650),
    "survey.pass_z": (1.0, 5.0),
}


def _check_range(key: str, value: float) -> None:
    lo, hi = _RANGES[key]
    if not lo <= value <= hi:
        raise SettingError(f"`{key}` must be between {lo:g} and {hi:g} (got {value:g}).")


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(
            f"`{name}` is not an IANA time zone; use a name like Europe/Berlin or America/New_York."
        ) from None
    return name


# What each setting means and its unit, for ``config`` listings (SPEC §5). Defaults come from the
# dataclasses above, so they cannot drift from what the gate uses.
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "timezone": ("weeks start Monday 00:00 in this zone", "IANA zone"),
    "retention.min_weeks": ("fewest usable weeks of retention before a verdict", "weeks"),
    "retention.tail_weeks": ("weeks at the end of the curve that must be flat", "weeks"),
    "retention.min_users": ("fewest users a retention point must rest on", "users"),
    "retention.min_cohorts": ("fewest signup cohorts the flat tail must rest on", "cohorts"),
    "retention.flat_tolerance": ("how much the tail may fall and still count as flat", "share per week"),
    "retention.relative_tolerance": ("the same, as a share of the remaining users", "share per week"),
    "retention.min_plateau": ("lowest retention level that counts as a plateau", "share of users"),
    "retention.drift_ratio": ("newer cohorts retaining below this ratio of older ones hold the signal back",
                              "ratio"),
    "retention.confirm_weeks": ("weeks in a row a plateau must hold to pass (1 turns this off)", "weeks"),
    "retention.active_events": ("which events count as activity", "default, include:A,B or exclude:A,B"),
    "organic.window_weeks": ("recent weeks the organic share is measured over", "weeks"),
    "organic.trend_weeks": ("weeks the organic trend is measured over", "weeks"),
    "organic.min_signups": ("fewest classified signups in the window before a verdict", "signups"),
    "organic.min_share": ("organic share of signups needed to pass", "share of signups"),
    "organic.untagged_paid_allowance": ("untagged signups counted as paid, per tagged paid signup",
                                        "ratio"),
    "organic.referrals_rewarded": ("are referral signups rewarded (yes: they count as paid)",
                                   "yes, no or unanswered"),
    "survey.threshold": ("share answering \"very disappointed\" needed to pass", "share of answers"),
    "survey.min_responses": ("fewest answers before the survey signal decides", "answers"),
    "survey.window_days": ("answers older than this are not counted", "days"),
    "survey.pass_z": ("how sure the score must be above the threshold to pass", "z-score"),
}
CHANNEL_DESCRIPTION = ("how signups from channel NAME count", "organic, paid, direct or unknown")


@dataclass(frozen=True)
class SettingRow:
    """One line of a ``config`` listing."""

    key: str
    value: str
    default: str
    meaning: str
    unit: str


def describe(settings: ProductSettings) -> list[SettingRow]:
    """Every setting with its value, default, meaning and unit (channel overrides last)."""
    defaults = dict(ProductSettings().items())
    rows = []
    for key, value in settings.items():
        if key.startswith("channel."):
            name = key[len("channel."):]
            default = DEFAULT_CHANNEL_MAP.get(name, "unknown")
            meaning, unit = CHANNEL_DESCRIPTION
            rows.append(SettingRow(key, value, default, meaning.replace("NAME", name), unit))
        elif key.startswith(CLASSIFY + "."):
            name = key[len(CLASSIFY) + 1:]
            rows.append(SettingRow(key, value, "unknown", f"how signups from the ambiguous source {name} count",
                                   "organic or paid"))
        else:
            meaning, unit = DESCRIPTIONS[key]
            # An unanswered question (organic.referrals_rewarded) reads as such, not as blank.
            rows.append(SettingRow(key, value or "not answered", defaults[key] or "not answered", meaning, unit))
    return rows


def known_keys() -> list[str]:
    return [k for k, _ in ProductSettings().items()]
