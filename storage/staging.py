"""The shapes an import chunk takes on its way into the database: the signup and response rows, a
vectorised reader's (user, week) pair columns, and the definitions of the TEMP staging tables the
bulk writer loads them into (``storage.bulk``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# (external id, signup week, signed_up_at (aware), channel, channel class[, channel key]): the key
# (why the class is what it is, see ProductUser.channel_key) is None when left out.
SignupRow = tuple[str, int, datetime, str | None, str] | tuple[str, int, datetime, str | None, str, str | None]
# (dedupe key, respondent key, answered_at (aware), answer, segment, who_benefits, main_benefit, improve)
ResponseRow = tuple[str, str, datetime, str, str | None, str | None, str | None, str | None]
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
    "pmf_stage_signups": (
        "ui INTEGER PRIMARY KEY, uid VARCHAR(255) NOT NULL, signup_week INTEGER NOT NULL, "
        "signed_up_at {ts} NOT NULL, channel VARCHAR(200), channel_class VARCHAR(10), channel_key VARCHAR(100)"
    ),
    # A signups chunk's keyed email hashes (never addresses), one per user.
    "pmf_stage_emails": "uid VARCHAR(255) PRIMARY KEY, email_hash VARCHAR(64) NOT NULL",
    "pmf_stage_ids": "ui INTEGER PRIMARY KEY, id BIGINT NOT NULL, fw INTEGER, cw INTEGER",
    "pmf_stage_new": "ui INTEGER PRIMARY KEY, id BIGINT NOT NULL, fw INTEGER, cw INTEGER",
    # Users whose cohort week changes in this chunk (see _moving).
    "pmf_stage_moved": "id BIGINT PRIMARY KEY, week INTEGER NOT NULL",
    # A chunk's event names and its (user, week, event) triples (storage.event_weeks).
    "pmf_stage_evnames": "ev INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL",
    "pmf_stage_evweeks": "ui INTEGER NOT NULL, week INTEGER NOT NULL, ev INTEGER NOT NULL",
    "pmf_stage_responses": (
        "dedupe_key VARCHAR(400) NOT NULL, respondent_key VARCHAR(255) NOT NULL, answered_at {ts} NOT NULL, "
        "answer VARCHAR(10) NOT NULL, segment VARCHAR(200), who_benefits TEXT, main_benefit TEXT, improve TEXT"
    ),
}
# SQLite staging tables stored as a B-tree on these columns (WITHOUT ROWID): grouping the pairs by
# user, and joining the users back to their pairs, then walk the key instead of sorting. (On
