"""The shapes an import chunk takes on its way into the database: the signup and response rows (the
one home of their fields), a vectorised reader's (user, week) pair columns, and the definitions of
the TEMP staging tables the bulk writer loads them into (``storage.bulk``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple


class SignupRow(NamedTuple):
    """One user's signup as the parsers make it and ``BulkWriter.signups`` stores it. A new signup
    column is a field here, its line in ``_SIGNUP_STAGED``, its parser and its ``ProductUser``
    column (the writer's SQL is built from these fields)."""

    user_id: str  # the product's external id
    signup_week: int
    signed_up_at: datetime  # aware
    channel: str | None  # the label shown (the channel, or the UTM pair)
    channel_class: str
    channel_key: str | None = None  # why the class is what it is (see ProductUser.channel_key)
    email_hash: str | None = None  # the keyed hash of the signup's email, never the address; None: none given


class ResponseRow(NamedTuple):
    """One imported survey answer as the parser makes it and ``BulkWriter.responses`` stores it
    (each field a ``survey_responses`` column of the same name)."""

    dedupe_key: str
    respondent_key: str
    answered_at: datetime  # aware
    answer: str
    segment: str | None = None
    who_benefits: str | None = None
    main_benefit: str | None = None
    improve: str | None = None


# Each SignupRow field's type in pmf_stage_signups, where the column has the field's name (the
# user's is ``uid``, as in the other staging tables).
_SIGNUP_STAGED: dict[str, str] = {
    "user_id": "VARCHAR(255) NOT NULL", "signup_week": "INTEGER NOT NULL", "signed_up_at": "{ts} NOT NULL",
    "channel": "VARCHAR(200)", "channel_class": "VARCHAR(10)", "channel_key": "VARCHAR(100)", "email_hash": "VARCHAR(64)",
}
# pmf_stage_signups' columns after ``ui``: the SignupRow fields, in order.
SIGNUP_STAGED = tuple("uid" if f == "user_id" else f for f in SignupRow._fields)
# The fields a signup sets on its product_users row. Not the email hash: a signup without one
# leaves the user's as it is (``BulkWriter.signups`` writes it apart).
SIGNUP_COLUMNS = tuple(f for f in SignupRow._fields if f not in ("user_id", "email_hash"))
_RESPONSE_STAGED: dict[str, str] = {
    "dedupe_key": "VARCHAR(400) NOT NULL", "respondent_key": "VARCHAR(255) NOT NULL", "answered_at": "{ts} NOT NULL",
    "answer": "VARCHAR(10) NOT NULL", "segment": "VARCHAR(200)", "who_benefits": "TEXT", "main_benefit": "TEXT",
    "improve": "TEXT",
}


@dataclass
class EventWeeks:
    """A chunk's distinct (user, week, event name) triples, beside its EventPairs: ``user`` indexes
    ``EventPairs.users``, ``event`` indexes ``names`` (the chunk's distinct, non-blank names)."""

    names: list[str]
    user: Any
    week: Any
    event: Any

    def __len__(self) -> int:
        return len(self.week)


@dataclass
class EventPairs:
    """A chunk's distinct (user, week) pairs in columns, as a vectorised reader makes them:
    ``users`` distinct and sorted, ``first_weeks[k]`` the earliest week of ``users[k]``, and pair
    ``i`` is ``(users[pair_user[i]], pair_week[i])``, sorted. The writer stages them as integers,
    with no grouping left for SQL to do."""

    # Each a sliceable column: a list, or (from the reader) an Arrow string array and numpy arrays.
    users: Any
    first_weeks: Any
    pair_user: Any
    pair_week: Any
    # The event names, when the source has them (written to activity_event_weeks; see
    # storage.event_weeks). The activity_weeks writer never reads them.
    events: EventWeeks | None = None

    def __len__(self) -> int:
        return len(self.pair_week)

# Column definitions of the staging tables. ``ui`` numbers the users of one chunk, so the
# big joins run on integers (SQLite: the rowid) instead of on external ids; each staged user's
# product_users id, first week and cohort week go into pmf_stage_ids (see _upsert_users).
_STAGING: dict[str, str] = {
    # One row per distinct (user, week) of an events chunk, as the parser produced them. On
    # SQLite the table is keyed by them (see _SQLITE_KEYS), so it is kept sorted as it is filled.
    "pmf_stage_pairs": "uid VARCHAR(255) NOT NULL, week INTEGER NOT NULL",
    # The same from EventPairs: ``ui`` numbers the users of pmf_stage_users.
    "pmf_stage_upairs": "ui INTEGER NOT NULL, week INTEGER NOT NULL",
    # The chunk's users in external-id order (so the lookups walk the unique index in order), with
    # their earliest week in the chunk.
    "pmf_stage_users": "ui INTEGER PRIMARY KEY, uid VARCHAR(255) NOT NULL, mw INTEGER NOT NULL",
    "pmf_stage_signups": "ui INTEGER PRIMARY KEY, " + ", ".join(
        f"{c} {_SIGNUP_STAGED[f]}" for c, f in zip(SIGNUP_STAGED, SignupRow._fields, strict=True)),
    # A signups chunk's keyed email hashes (never addresses), one per user.
    "pmf_stage_emails": "uid VARCHAR(255) PRIMARY KEY, email_hash VARCHAR(64) NOT NULL",
    "pmf_stage_ids": "ui INTEGER PRIMARY KEY, id BIGINT NOT NULL, fw INTEGER, cw INTEGER",
    "pmf_stage_new": "ui INTEGER PRIMARY KEY, id BIGINT NOT NULL, fw INTEGER, cw INTEGER",
    # Users whose cohort week changes in this chunk (see _moving).
    "pmf_stage_moved": "id BIGINT PRIMARY KEY, week INTEGER NOT NULL",
    # A chunk's event names and its (user, week, event) triples (storage.event_weeks).
    "pmf_stage_evnames": "ev INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL",
    "pmf_stage_evweeks": "ui INTEGER NOT NULL, week INTEGER NOT NULL, ev INTEGER NOT NULL",
    "pmf_stage_responses": ", ".join(f"{f} {_RESPONSE_STAGED[f]}" for f in ResponseRow._fields),
}
# SQLite staging tables stored as a B-tree on these columns (WITHOUT ROWID): grouping the pairs by
# user, and joining the users back to their pairs, then walk the key instead of sorting. (On
