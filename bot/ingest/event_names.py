"""Rows of an events file that names its events, shaped for the writers: the (user, week) pairs
for ``activity_weeks`` and, beside them, the named (user, week, event) triples for
``activity_event_weeks`` (storage.event_weeks). The vectorised reader builds the same shape in
Arrow (bot.ingest.csv_fast); this is the csv-module path's, for the few rows that take it."""

from __future__ import annotations

from collections.abc import Collection

from storage.staging import EventPairs, EventWeeks


def named_pairs(triples: Collection[tuple[str, int, str]]) -> EventPairs:
    """Distinct (user id, week, event name) rows as EventPairs with their EventWeeks (a blank
    name is activity without a name: a pair, no triple)."""
    users = sorted({u for u, _, _ in triples})
    ui = {u: i for i, u in enumerate(users)}
    pairs = sorted({(ui[u], w) for u, w, _ in triples})
    first: dict[int, int] = {}
    for i, w in pairs:  # sorted: a user's first pair is their earliest week
        first.setdefault(i, w)
    names = sorted({e for _, _, e in triples if e})
    ni = {n: i for i, n in enumerate(names)}
    named = sorted({(ui[u], w, ni[e]) for u, w, e in triples if e})
    return EventPairs(users, [first[i] for i in range(len(users))], [p[0] for p in pairs], [p[1] for p in pairs],
                      events=EventWeeks(names, [t[0] for t in named], [t[1] for t in named], [t[2] for t in named]))
