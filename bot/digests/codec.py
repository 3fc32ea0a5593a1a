"""A stored weekly snapshot is a ``GateReport`` as JSON: ``encode_report``/``decode_report`` turn the
frozen domain dataclasses into plain JSON and back, field by field, so a snapshot written by one
version reads back into the same values."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from datetime import date
from typing import Any, Literal

from bot.domain.types import GateReport

# =============================================================================== report codec (pure)
# Snapshots store the whole GateReport (the digest chart needs the cohort table and the weekly
# organic shares, which the SPEC §4 JSON leaves out), encoded generically from the dataclass type
# hints so a field added to the domain types is stored without touching this code.


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON (and PostgreSQL's json type) has no NaN/Infinity
    return value


def decode(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return decode(options[0], data) if len(options) == 1 else data
    if origin is Literal:
        return data
    if dataclasses.is_dataclass(tp):
        cls: Any = tp
        hints = typing.get_type_hints(cls)
        return cls(**{f.name: decode(hints[f.name], data[f.name])
                      for f in dataclasses.fields(cls) if f.name in data})
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in data)
        return tuple(decode(a, v) for a, v in zip(args, data, strict=True))
    if origin is list:
        return [decode(typing.get_args(tp)[0], v) for v in data]
    if origin is dict:
        k_tp, v_tp = typing.get_args(tp)
        return {decode(k_tp, k): decode(v_tp, v) for k, v in data.items()}
    if tp is date:
        return date.fromisoformat(data)
    if tp is float:
        return float(data)
    if tp is int:
        return int(data)
    return data


def encode_report(report: GateReport) -> dict[str, Any]:
    return typing.cast(dict[str, Any], encode(report))


def decode_report(data: dict[str, Any]) -> GateReport:
    return typing.cast(GateReport, decode(GateReport, data))


