"""How a CSV file is laid out, read before any row (SPEC §4 "Imports"): its separator, which of its
columns are ours (an export preset's names, ``--map`` overrides), and how its timestamps are
written (ISO 8601, epoch seconds or milliseconds, a day/month order). The row parsers in
``bot.ingest.formats`` keep one rule for timestamps; this layer only renames columns and rewrites a
non-ISO time cell into ISO before them, and says what it did in the import's summary.

Presets (the columns of each tool's usual CSV export; matching ignores case):

- events ``posthog``: ``distinct_id``, ``timestamp``, ``event``
- events ``mixpanel``: ``distinct_id``, ``time`` (epoch seconds), ``event``
- events ``amplitude``: ``user_id``, ``event_time``, ``event_type``
- events ``segment``: ``userId`` (else ``anonymousId``), ``timestamp``, ``event``
- signups ``stripe`` (the customers export): ``id``, ``Created (UTC)`` or ``created`` (epoch
  seconds from the API), ``Email``, and ``utm_source``/``utm_medium`` when kept as metadata
  (``utm_source (metadata)``); without them every signup is untagged (no channel).
- responses ``typeform``: the hidden field ``user_id`` (else ``email``, else the response id
  ``#``), ``Submit Date (UTC)``, the question "How would you feel if you could no longer use …?" as the answer, and the
  questions containing "type of people", "main benefit" and "improve".
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bot.errors import UserError
from bot.ingest.formats import _FORMATS, RowError, RowParser

SAMPLE_BYTES = 256 << 10  # what is read ahead to recognise the layout
SAMPLE_ROWS = 500
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_TIME_COLUMNS = {"events": ("occurred_at",), "signups": ("signed_up_at",), "responses": ("answered_at",)}
_OPTIONAL = {"events": ("event",),
             "signups": ("channel", "utm_source", "utm_medium", "utm_campaign", "landing_url", "referrer", "email"),
             "responses": ("segment", "who_benefits", "main_benefit", "improve")}
_EPOCH_RE = re.compile(r"^\d{9,14}(?:\.\d+)?$")
_DM_RE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


@dataclass(frozen=True)
class Preset:
    kind: str
    label: str
    # ours -> their column names, first found wins; a name ending in "*" matches any header containing it
    columns: Mapping[str, tuple[str, ...]]
    untagged_ok: bool = False  # signups without any channel column: all read as untagged


PRESETS: dict[str, Preset] = {
    "posthog": Preset("events", "PostHog", {"user_id": ("distinct_id",), "occurred_at": ("timestamp",),
                                            "event": ("event",)}),
    "mixpanel": Preset("events", "Mixpanel", {"user_id": ("distinct_id",), "occurred_at": ("time",),
                                              "event": ("event",)}),
    "amplitude": Preset("events", "Amplitude", {"user_id": ("user_id",), "occurred_at": ("event_time",),
                                                "event": ("event_type",)}),
    "segment": Preset("events", "Segment", {"user_id": ("userid", "anonymousid"), "occurred_at": ("timestamp",),
                                            "event": ("event",)}),
    "stripe": Preset("signups", "Stripe customers", {
        "user_id": ("id",), "signed_up_at": ("created (utc)", "created"), "email": ("email",),
        "utm_source": ("utm_source (metadata)", "utm_source"), "utm_medium": ("utm_medium (metadata)", "utm_medium"),
        "utm_campaign": ("utm_campaign (metadata)", "utm_campaign"), "channel": ("channel (metadata)", "channel")},
        untagged_ok=True),
    "typeform": Preset("responses", "Typeform", {
        "respondent_id": ("user_id", "email", "#"), "answered_at": ("submit date (utc)", "submitted at"),
        "answer": ("*no longer use*", "*how would you feel*", "*disappointed*"), "who_benefits": ("*type of people*", "*who benefit*"),
        "main_benefit": ("*main benefit*",), "improve": ("*improve*",)}),
}


def presets_for(kind: str) -> list[str]:
    return [name for name, p in PRESETS.items() if p.kind == kind]


@dataclass
class Layout:
    """What ``read_layout`` found: the separator, our column -> its index, the time columns to
    rewrite into ISO (index, column, converter), and plain-words notes for the summary."""

    delimiter: str = ","
    index: dict[str, int] = field(default_factory=dict)
    converters: list[tuple[int, str, Callable[[str], str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def plain(self) -> bool:
        """Comma-separated with ISO timestamps: what the vectorised events reader handles."""
        return self.delimiter == "," and not self.converters

    def wrap(self, parse: RowParser) -> RowParser:
        if not self.converters:
            return parse
        converters = self.converters

        def adapted(row: Sequence[str]) -> Any:
            cells = list(row)
            for i, _column, convert in converters:
                if i < len(cells):
                    cells[i] = convert(cells[i])
            return parse(cells)

        return adapted


    def without_email(self, secret: str | None) -> None:
        """An export's email column, dropped when there is no key to hash it with (PMFBOT_SECRET_KEY)."""
        if "email" in self.index and not secret:
            del self.index["email"]
            self.notes.append("emails left out (set PMFBOT_SECRET_KEY to keep them, hashed, for matching)")


def parse_map(text: str | None, kind: str) -> dict[str, str]:
    """``--map user_id=COLUMN,occurred_at=COLUMN`` as {ours: theirs (lower case)}."""
    if not text:
        return {}
    known = (*_FORMATS[kind].required, *_OPTIONAL[kind])
    out: dict[str, str] = {}
    for part in text.split(","):
        ours, sep, theirs = part.partition("=")
        ours, theirs = ours.strip().lower(), theirs.strip()
        if not sep or not ours or not theirs:
            raise UserError(f"--map {part.strip()!r}: write OURS=THEIRS, e.g. --map user_id=distinct_id,"
                            f"{_TIME_COLUMNS[kind][0]}=time.")
        if ours not in known:
            raise UserError(f"--map {ours}=…: {kind} have no column {ours!r}; they have {', '.join(known)}.")
        out[ours] = theirs.lower()
    return out


def detect_delimiter(first_line: str) -> str:
    """The separator of a header line: the most frequent of , ; tab | (a comma on a tie)."""
    counts = {d: first_line.count(d) for d in _SEPARATORS}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def sample(raw: IO[bytes]) -> tuple[str, list[list[str]]]:
    """(the separator, the first rows including the header) from the start of the file; the
    file is rewound. Undecodable bytes are replaced here: the real read names them by line."""
    head = raw.read(SAMPLE_BYTES)
    raw.seek(0)
    text = head.decode("utf-8-sig", errors="replace")
    complete = len(head) < SAMPLE_BYTES
    if not complete and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # never a half line
    delimiter = detect_delimiter(text.split("\n", 1)[0])
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows.append(row)
            if len(rows) > SAMPLE_ROWS:
                break
    except csv.Error:
        pass  # the real read reports it with its line number
    return delimiter, rows


def _find(header: Sequence[str], names: Sequence[str]) -> int | None:
    low = [h.strip().lower() for h in header]
    for name in names:
        if name.startswith("*") and name.endswith("*"):
            hit = next((i for i, h in enumerate(low) if name.strip("*") in h), None)
        else:
            hit = low.index(name) if name in low else None
        if hit is not None:
            return hit
    return None


def column_index(header: Sequence[str], kind: str, path: Path, preset: Preset | None,
                 mapping: Mapping[str, str]) -> tuple[dict[str, int], list[str]]:
    """Our column -> its index (our own names, then the preset's, then ``--map``), and notes."""
    fmt = _FORMATS[kind]
    index: dict[str, int] = {}
    notes: list[str] = []
    for i, name in enumerate(header):
        index.setdefault(name.strip().lower(), i)  # the first of two same-named columns wins
    found = ",".join(h.strip() for h in header) or "(nothing)"
    renamed: list[str] = []
    if preset is not None:
        for ours, theirs in preset.columns.items():
            hit = _find(header, theirs)
            if hit is not None:
                index[ours] = hit
                if header[hit].strip().lower() != ours:
                    renamed.append(f"{header[hit].strip()} → {ours}")
    for ours, column in mapping.items():
        hit = _find(header, (column,))
        if hit is None:
            raise UserError(f"{path}: --map {ours}={column}: there is no column {column!r}; found: {found}.")
        index[ours] = hit
        renamed.append(f"{header[hit].strip()} → {ours}")
    if renamed:
        notes.append("columns " + ", ".join(renamed))
    missing = [c for c in fmt.required if c not in index]
    tagged = any(c in index for c in ("channel", "utm_source", "utm_medium"))
    if kind == "signups" and not tagged:
        if preset is not None and preset.untagged_ok:
            notes.append("no channel or utm_* column: every signup counts as untagged")
        else:
            missing.append("channel (or utm_source,utm_medium)")
    if missing:
        hint = (f" Exports from {', '.join(presets_for(kind))} have their own names: pass --from "
                f"{'|'.join(presets_for(kind))}, or --map {missing[0].split(' ')[0]}=YOUR_COLUMN.")
        raise UserError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}. "
                        f"The header row must name the columns {fmt.usage} (any order, extra columns ignored); "
                        f"found: {found}.{hint}")
    return index, notes


def _epoch(column: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        s = raw.strip()
        if not _EPOCH_RE.match(s):
            return raw  # not a number: the ISO rules decide
        value = float(s)
        seconds = value / 1000 if value >= 1e11 else value  # by magnitude: 1e11 s is the year 5138
        try:
            return datetime.fromtimestamp(seconds, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            raise RowError(column, f"{column} {s!r} is not a time in epoch seconds or milliseconds") from None
    return convert


def _strptime(column: str, fmt: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        s = raw.strip()
        try:
            dt = datetime.strptime(s, fmt)
        except ValueError:
            raise RowError(column, f"{column} {s[:40]!r} does not match --date-format {fmt}") from None
        # A format without a time of day gives a bare date (that day in the product's timezone).
        return dt.date().isoformat() if "%H" not in fmt and "%I" not in fmt else dt.isoformat()
    return convert


def _day_month_format(value: str, day_first: bool) -> str:
    m = _DM_RE.match(value)
    assert m is not None
    sep = value[len(m.group(1))]
    year = "%Y" if len(m.group(3)) == 4 else "%y"
    date_part = f"%d{sep}%m{sep}{year}" if day_first else f"%m{sep}%d{sep}{year}"
    rest = value[m.end(3):]
    if not rest:
        return date_part
    return date_part + rest[0] + ("%H:%M:%S" if rest.count(":") == 2 else "%H:%M")


def time_converters(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], kind: str,
                    index: Mapping[str, int], date_format: str | None,
                    ) -> tuple[list[tuple[int, str, Callable[[str], str]]], list[str]]:
    """How each time column is written, from the sampled rows: ISO (nothing to do), epoch seconds
    or milliseconds (by magnitude), or day/month dates (order from a day > 12, or --date-format)."""
    converters: list[tuple[int, str, Callable[[str], str]]] = []
    notes: list[str] = []
    for column in _TIME_COLUMNS[kind]:
        i = index[column]
        name = header[i].strip()
        values = [r[i].strip() for r in rows if i < len(r) and r[i].strip()]
        if date_format:
            converters.append((i, column, _strptime(column, date_format)))
            notes.append(f"{name} read with --date-format {date_format}")
            continue
        if values and all(_EPOCH_RE.match(v) for v in values):
            ms = sum(float(v) >= 1e11 for v in values)
            unit = "milliseconds" if ms == len(values) else "seconds" if not ms else "seconds and milliseconds"
            converters.append((i, column, _epoch(column)))
            notes.append(f"{name} read as epoch {unit} (UTC)")
            continue
        matches = [m for m in (_DM_RE.match(v) for v in values) if m]
        if not values or len(matches) < len(values):
            continue  # ISO 8601 (or a mix, whose odd rows are reported by line)
        day_first = any(int(m.group(1)) > 12 for m in matches)
        month_first = any(int(m.group(2)) > 12 for m in matches)
        example = values[0]
        if day_first == month_first:
            why = "both orders appear" if day_first else "no day is above 12 in the first rows"
            raise UserError(f"{path}: {name} is written like {example!r}, and day/month is ambiguous ({why}); "
                            "nothing was imported. Say which it is: --date-format '%d/%m/%Y' (day first) or "
                            "--date-format '%m/%d/%Y' (month first); add ' %H:%M' when there is a time.")
        fmt = _day_month_format(example, day_first)
        converters.append((i, column, _strptime(column, fmt)))
        notes.append(f"{name} read as {'day' if day_first else 'month'} first ({fmt})")
    return converters, notes


def read_layout(raw: IO[bytes], path: Path, kind: str, header: Sequence[str], delimiter: str,
                rows: Sequence[Sequence[str]], preset_name: str | None, mapping_text: str | None,
                date_format: str | None) -> Layout:
    preset = None
    if preset_name:
        preset = PRESETS.get(preset_name.lower())
        if preset is None or preset.kind != kind:
            raise UserError(f"--from {preset_name}: {kind} presets are {', '.join(presets_for(kind))}.")
    if date_format is not None and "%" not in date_format:
        raise UserError(f"--date-format {date_format!r}: use strftime codes, e.g. '%d/%m/%Y' or '%m/%d/%Y %H:%M'.")
    index, notes = column_index(header, kind, path, preset, parse_map(mapping_text, kind))
    converters, time_notes = time_converters(path, header, rows[1:], kind, index, date_format)
    layout = Layout(delimiter=delimiter, index=index, converters=converters)
    if preset is not None:
        layout.notes.append(f"{preset.label} preset")
    if delimiter != ",":
        layout.notes.append(f"{_SEPARATORS[delimiter]}-separated")
    layout.notes += notes + time_notes
    return layout
