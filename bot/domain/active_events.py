"""What counts as activity (SPEC §5 "Activity"): ``retention.active_events``.

``default`` — every event counts. ``exclude:NAME,NAME`` — every event but those. ``include:NAME,NAME``
— only those. Names are the import's ``event`` column values, matched exactly (after trimming
spaces). A non-default value is a custom rule. Pure: text in, a rule and words out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DEFAULT = "default"
Mode = Literal["default", "include", "exclude"]
USAGE = ("Use `retention.active_events default` (every event counts), "
         "`retention.active_events exclude:email_opened,notification_sent` (every event but those) or "
         "`retention.active_events include:login,project_created` (only those).")
MAX_NAMES = 50
MAX_NAME = 200


class ActiveEventsError(ValueError):
    """The value cannot be read; the message says how to write it."""


@dataclass(frozen=True)
class ActiveEvents:
    mode: Mode = "default"
    names: tuple[str, ...] = ()

    @property
    def is_default(self) -> bool:
        return self.mode == "default"

    def canonical(self) -> str:
        """The stored value: ``default``, or ``include:a,b`` / ``exclude:a,b`` (names sorted)."""
        return DEFAULT if self.mode == "default" else f"{self.mode}:{','.join(self.names)}"

    def counts(self, name: str) -> bool:
        """Whether an event of this name counts as activity."""
        if self.mode == "include":
            return name in self.names
        if self.mode == "exclude":
            return name not in self.names
        return True

    def describe(self) -> str:
        """In words: "every event counts", "every event except email_opened", "only login, signup"."""
        if self.mode == "include":
            return "only " + ", ".join(self.names) + " count"
        if self.mode == "exclude":
            return "every event counts except " + ", ".join(self.names)
        return "every event counts"


def parse_active_events(raw: str) -> ActiveEvents:
    """``default``, ``include:a,b`` or ``exclude:a,b`` (a space or ``=`` also separates the mode)."""
    text = raw.strip()
    if not text or text.lower() in (DEFAULT, "all", "any"):
        return ActiveEvents()
    head, sep, rest = text.partition(":")
    if not sep:
        for other in ("=", " "):
            head, sep, rest = text.partition(other)
            if sep:
                break
    mode = head.strip().lower()
    if mode not in ("include", "exclude"):
        raise ActiveEventsError(f"`retention.active_events` must start with include: or exclude: "
                                f"(or be `default`), got `{raw.strip()}`. {USAGE}")
    names = sorted({n.strip() for n in rest.replace(";", ",").split(",") if n.strip()})
    if not names:
        raise ActiveEventsError(f"Name at least one event after `{mode}:`. {USAGE}")
    long = [n for n in names if len(n) > MAX_NAME]
    if long:
        raise ActiveEventsError(f"An event name is at most {MAX_NAME} characters (`{long[0][:40]}…`).")
    if len(names) > MAX_NAMES:
        raise ActiveEventsError(f"Name at most {MAX_NAMES} events (got {len(names)}); "
                                "with many to leave out, list the ones that count with include:.")
    return ActiveEvents(mode, tuple(names))  # type: ignore[arg-type]


@dataclass(frozen=True)
class EventCount:
    """One event name and the active user-weeks it was seen in."""

    event: str
    user_weeks: int


@dataclass(frozen=True)
class ActiveEventsReport:
    """What retention counted as activity, for the report's details and ``config``.

    ``applies`` is False when a non-default rule is set but the imported events carry no names:
    then every event counts, and ``note`` says so."""

    rule: str
    counted: tuple[EventCount, ...] = ()
    excluded: tuple[EventCount, ...] = ()
    applies: bool = True
    note: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"rule": self.rule, "applies": self.applies,
                "counted": [{"event": c.event, "user_weeks": c.user_weeks} for c in self.counted],
                "excluded": [{"event": c.event, "user_weeks": c.user_weeks} for c in self.excluded],
                "note": self.note}

    def line(self, top: int = 5) -> str:
        """"Activity: every event counts except email_opened — counted: login (1,204 user-weeks), …"."""
        rule = parse_active_events(self.rule)
        out = f"Activity: {rule.describe()}"
        if self.counted:
            out += " — counted: " + ", ".join(f"{c.event} ({c.user_weeks:,} user-weeks)" for c in self.counted[:top])
            if len(self.counted) > top:
                out += f" and {len(self.counted) - top} more"
        if self.excluded:
            out += "; not counted: " + ", ".join(f"{c.event} ({c.user_weeks:,})" for c in self.excluded[:top])
        if self.note:
            out += f". {self.note}"
        return out


def top_event_lines(report: ActiveEventsReport, top: int = 10) -> list[str]:
    """For ``config``: the most frequent event names, "login: 1,204 user-weeks", marked
    "(not counted)" when the rule leaves them out, then how many more there are."""
    both = sorted([(c, True) for c in report.counted] + [(c, False) for c in report.excluded],
                  key=lambda x: (-x[0].user_weeks, x[0].event))
    lines = [f"{c.event}: {c.user_weeks:,} user-weeks" + ("" if counted else " (not counted)")
             for c, counted in both[:top]]
    if len(both) > top:
        lines.append(f"… and {len(both) - top} more event names")
    if report.note:
        lines.append(report.note)
    return lines


NO_NAMES_NOTE = ("retention.active_events is set, but the imported events carry no event names, so the "
                 "filter cannot apply and every event counts. Import events with an `event` column "
                 "(user_id,occurred_at,event) to use it.")


def active_events_report(rule: ActiveEvents, names: list[EventCount]) -> ActiveEventsReport:
    """Split the product's event names (most user-weeks first) into counted and not counted."""
    ordered = sorted(names, key=lambda c: (-c.user_weeks, c.event))
    if not rule.is_default and not ordered:
        return ActiveEventsReport(rule.canonical(), applies=False, note=NO_NAMES_NOTE)
    counted = tuple(c for c in ordered if rule.counts(c.event))
    excluded = tuple(c for c in ordered if not rule.counts(c.event))
    note = None
    if not rule.is_default:
        known = {c.event for c in ordered}
        unknown = [n for n in rule.names if n not in known]
        if unknown:
            note = f"No imported event is named {', '.join(unknown)}"
    return ActiveEventsReport(rule.canonical(), counted, excluded, True, note)
