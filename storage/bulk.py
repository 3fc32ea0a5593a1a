"""Set-based bulk writes for imports: per-chunk staging tables and ``INSERT ... SELECT``.

``BulkWriter`` owns the engine-specific part of ingestion. Each chunk of already-validated rows is
loaded into a TEMP staging table (SQLite: multi-row INSERTs; PostgreSQL: ``COPY`` through psycopg 3),
then merged into ``product_users``, ``activity_weeks`` and ``survey_responses`` with a handful of
set-based statements that use ``ON CONFLICT DO NOTHING`` so re-importing the same rows changes
nothing. It also keeps each user's cohort week current, on the user and on their activity rows
(see ``storage.models.ActivityWeek``), moving a user's rows when a signup or an earlier event
changes it. It works inside the caller's open transaction and never commits: the caller decides
whether the whole import is kept, which is what makes a failed or interrupted import leave the
database untouched. Rows are tuples (``storage.staging``); nothing here knows about CSV, HTTP or Slack.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, islice
from operator import attrgetter
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from storage.packed import as_list, copy_binary, insert_packed, staged_ids
from storage.staging import _STAGING, SIGNUP_COLUMNS, SIGNUP_STAGED, EventPairs, ResponseRow, SignupRow

# PostgreSQL, hash aggregation and hash joins over an unordered COPY are cheaper.)
_SQLITE_KEYS = {"pmf_stage_pairs": "uid, week", "pmf_stage_upairs": "ui, week"}

# SQLite's page cache for the import connection (KiB): the indexes an import probes stay in
# memory instead of being re-read from the OS for every chunk (128 MB: ~20% faster than 64 MB at
# 1M users; the whole import then peaks near 380 MB of its 400 MB budget). Staging tables stay in
# the default temp store (files the OS caches), which keeps them out of that budget. The cache is
# reset when the writer closes, so a pooled connection does not keep the memory. A caller whose
# own buffers take more of the budget asks for less (bot.ingest.csv_fast: 64 MB).
_SQLITE_IMPORT_CACHE_KIB = 131072
_SQLITE_DEFAULT_CACHE_KIB = 2000
_SQLITE_TEMP_CACHE_KIB = 16384
_PG_WORK_MEM = "64MB"
# Parameters per statement: SQLite's limit is 32766 since 3.32, 999 before.
_SQLITE_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


@dataclass(frozen=True)
class _Ids:
    """Where a chunk's staged rows (alias ``s``) meet their users: a FROM clause, and the
    expressions for each row's product_users id, first week and cohort week before the chunk
    (for a user created by the chunk: as created)."""

    source: str
    id: str
    fw: str
    cw: str


def sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DATETIME stores, so raw and ORM writes compare equal."""
    v = value if value.tzinfo is UTC else value.astimezone(UTC)
    return v.isoformat(" ", "microseconds")[:26]  # "YYYY-MM-DD HH:MM:SS.ffffff" without "+00:00", in C


# After an import that changed at least this many rows, PostgreSQL gets VACUUM (ANALYZE).
VACUUM_AFTER_ROWS = 100_000


def tidy_after_import(engine: Engine, kind: str, changed: int) -> bool:
    """After a large committed import on PostgreSQL: ``VACUUM (ANALYZE)`` the tables it wrote.

    Freshly written rows make the first query to read them set every row's hint bits (writing
    the pages again), and the planner's statistics and the visibility map lag until autovacuum
    comes round. Measured at 1M users, the cohort table and gate took 4.2 s straight after the
    import and 1.4-1.7 s once vacuumed. Small imports (the HTTP API) leave it to autovacuum.
    Returns whether it ran."""
    if engine.dialect.name != "postgresql" or changed < VACUUM_AFTER_ROWS:
        return False
    tables = {"events": "product_users, activity_weeks", "signups": "product_users, activity_weeks",
              "responses": "survey_responses"}[kind]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {tables}")
    return True


class BulkWriter:
    """Merges validated rows of one product into the database, chunk by chunk, in the caller's
    transaction. Call ``close()`` before committing (it drops the staging tables)."""

    def __init__(self, session: Session, product_id: int, sqlite_cache_kib: int | None = None) -> None:
        self._conn: Connection = session.connection()
        self._pg = self._conn.dialect.name == "postgresql"
        # The driver's own connection (sqlite3 / psycopg): bulk INSERTs and COPY without
        # SQLAlchemy's per-row overhead, in the same transaction as the session. Both drivers
        # release the GIL while the database works, so a caller may parse meanwhile.
        self._raw: Any = self._conn.connection.driver_connection
        assert self._raw is not None
        self._pid = product_id
        self._created: set[str] = set()
        self._users_at_analyze = 0
        self._users_created = 0
        self.staged_ids: tuple[np.ndarray, np.ndarray] | None = None  # SQLite: id, cohort week per chunk user
        cur = self._raw.cursor()
        try:
            if self._pg:
                # Hash joins of a whole chunk against the product's users must not spill to disk
                # (4 MB is the server default); LOCAL ends with this transaction.
                cur.execute(f"SET LOCAL work_mem = '{_PG_WORK_MEM}'")
                cur.execute("SELECT count(*) FROM product_users WHERE product_id = %s", (product_id,))
                self._users_at_analyze = int(cur.fetchone()[0])
            else:
                cur.execute(f"PRAGMA cache_size=-{sqlite_cache_kib or _SQLITE_IMPORT_CACHE_KIB}")
                # The staging tables of one chunk (~10 MB) stay in memory rather than spilling.
                cur.execute(f"PRAGMA temp.cache_size=-{_SQLITE_TEMP_CACHE_KIB}")
        finally:
            cur.close()

    # ------------------------------------------------------------------ staging
    def _clear(self, table: str) -> None:
        """Empty ``table``, creating it on first use."""
        cols = _STAGING[table].format(ts="TIMESTAMPTZ" if self._pg else "TEXT")
        cur = self._raw.cursor()
        try:
            if self._pg:
                # Dropped at commit or rollback. TRUNCATE gives a fresh, empty file (DELETE would
                # leave dead rows that every later chunk scans).
                if table not in self._created:
                    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({cols}) ON COMMIT DROP")
                cur.execute(f"TRUNCATE {table}")
            else:
                # SQLite keeps TEMP tables per connection: one left by an earlier failed import is
                # emptied here (DELETE without WHERE frees its pages at once).
                if table not in self._created:
                    keyed = f", PRIMARY KEY ({_SQLITE_KEYS[table]})) WITHOUT ROWID" if table in _SQLITE_KEYS else ")"
                    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({cols}{keyed}")
                cur.execute(f"DELETE FROM {table}")
            self._created.add(table)
        finally:
            cur.close()

    def _analyze(self, table: str) -> None:
        # Temp tables are never auto-analysed; without statistics PostgreSQL's planner guesses a
        # handful of rows and picks nested loops over a whole chunk.
        if self._pg:
            self._conn.exec_driver_sql(f"ANALYZE {table}")

    def _stage(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Replace the contents of staging ``table`` with ``rows`` (any iterable, consumed once)."""
        self._clear(table)
        names = ", ".join(columns)
        cur = self._raw.cursor()
        try:
            if self._pg:
                # One COPY of CSV text built in C (csv module), not a Python call per row.
                buf = io.StringIO()
                csv.writer(buf, lineterminator="\n").writerows(rows)
                with cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT csv)") as copy:
                    copy.write(buf.getvalue())
            else:
                # Multi-row VALUES of up to _SQLITE_VARIABLES parameters: a few statements per
                # chunk. executemany would re-take the GIL for every row, stalling the parser
                # thread; this way sqlite3 binds in C and steps without the GIL.
                width = len(columns)
                per = max(1, _SQLITE_VARIABLES // width)
                one = "(" + ", ".join("?" * width) + ")"
                it = iter(rows)
                while batch := list(islice(it, per)):
                    cur.execute(f"INSERT INTO {table} ({names}) VALUES " + ", ".join([one] * len(batch)),
                                list(chain.from_iterable(batch)))
        finally:
            cur.close()
        self._analyze(table)

    def _stage_columns(self, table: str, columns: Sequence[str], values: Sequence[Sequence[Any]]) -> None:
        """``_stage`` for rows given as columns (equal-length sequences, numpy arrays too), without
        a tuple per row; on SQLite converted to Python values one statement's worth at a time."""
        n = len(values[0])
        if self._pg:
            binary = copy_binary(values)  # integer columns: PostgreSQL's binary COPY, built in numpy
            if binary is None:
                return self._stage(table, columns, zip(*(as_list(col) for col in values), strict=True))
            self._clear(table)
            with self._raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)") as cp:
                cp.write(binary)
            return self._analyze(table)
        self._clear(table)
        width = len(columns)
        per = max(1, _SQLITE_VARIABLES // width)
        one = "(" + ", ".join("?" * width) + ")"
        full = f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([one] * per)
        cur = self._raw.cursor()
        try:
            for a in range(0, n, per):
                b = min(a + per, n)
                cols = [as_list(col[a:b]) for col in values]
                if b - a < per:
                    # The rest row by row: a statement of its own length would be one more prepared
                    # statement in sqlite3's cache, each a few MB at this size (measured: peak RSS
                    # grew ~30 MB a chunk).
                    cur.executemany(full[:full.index(" VALUES ")] + " VALUES " + one, zip(*cols, strict=True))
                    continue
                flat: list[Any] = [None] * (per * width)
                for j, col in enumerate(cols):
                    flat[j::width] = col
                cur.execute(full, flat)
        finally:
            cur.close()

    def _exec(self, sql: str, **params: Any) -> int:
        result = self._conn.execute(text(sql), {"pid": self._pid, **params})
        return max(int(result.rowcount or 0), 0)

    def _ts(self, value: datetime) -> Any:
        return value if self._pg else sqlite_datetime(value)

    # ------------------------------------------------------------------ locks
    def lock_users(self, external_ids: Iterable[str]) -> None:
        """PostgreSQL: before any write, take a transaction-level lock per user of this product,
        in one global order (the lock key's), so concurrent imports of overlapping users queue
        instead of deadlocking on rows they would otherwise lock in different orders (the planner
        decides the order an ``UPDATE ... FROM`` visits rows). SQLite has one writer anyway."""
        if not self._pg:
            return
        uids = sorted(set(external_ids))
        if uids:
            self._exec("SELECT count(pg_advisory_xact_lock(CAST(:pid AS integer), k)) FROM (SELECT DISTINCT hashtext(u) AS k "
                       "FROM unnest(CAST(:uids AS text[])) AS u ORDER BY k) AS keys", uids=uids)

    # ------------------------------------------------------------------ events
    def events(self, pairs: Collection[tuple[str, int]] | EventPairs) -> tuple[int, int]:
        """Ensure each user exists with ``first_week`` = min(existing, new) and record the
        distinct (user, week) ``pairs`` they were active in. Returns (new users, new user-weeks).

        The pairs go to the database as they are (the only Python work per pair is binding it);
        grouping them by user happens in SQL, which runs without the GIL while the caller parses
        the next chunk. ``EventPairs`` come already grouped (see ``_event_columns``)."""
        if not len(pairs):
            return 0, 0
        if isinstance(pairs, EventPairs):
            return self._event_columns(pairs)
        self._stage("pmf_stage_pairs", ("uid", "week"), pairs)
        self._clear("pmf_stage_users")
        # SQLite numbers the users (the rowid) in the order its GROUP BY walks the key: by uid.
        number = "row_number() OVER (ORDER BY uid), " if self._pg else ""
        self._exec(f"INSERT INTO pmf_stage_users ({'ui, ' if self._pg else ''}uid, mw) "
                   f"SELECT {number}uid, min(week) FROM pmf_stage_pairs GROUP BY uid ORDER BY uid")
        self._analyze("pmf_stage_users")
        return self._weeks(*self._merge_users(), "JOIN pmf_stage_pairs p ON p.uid = s.uid")

    def _event_columns(self, pairs: EventPairs) -> tuple[int, int]:
        """``events`` for EventPairs (already grouped); on SQLite the pairs go in packed (storage.packed)."""
        self._stage_columns("pmf_stage_users", ("ui", "uid", "mw"),
                            (range(len(pairs.users)), pairs.users, pairs.first_weeks))
        self._analyze("pmf_stage_users")
        new_users, ids = self._merge_users()
        self.staged_ids = None if self._pg else staged_ids(self._raw, len(pairs.users))
        if self.staged_ids is not None:
            user = np.asarray(pairs.pair_user, dtype=np.int64)
            new_weeks = insert_packed(self._exec, "INSERT INTO activity_weeks (user_id, week, product_id, cohort_week) "
                                      "SELECT {0}, {1}, :pid, {2}", (self.staged_ids[0][user], pairs.pair_week,
                                                                     self.staged_ids[1][user]))
            if new_weeks is not None:
                return new_users, new_weeks
        self._stage_columns("pmf_stage_upairs", ("ui", "week"), (pairs.pair_user, pairs.pair_week))
        self._analyze("pmf_stage_upairs")
        return self._weeks(new_users, ids, "JOIN pmf_stage_upairs p ON p.ui = s.ui")

    def _weeks(self, new_users: int, ids: _Ids, pairs_join: str) -> tuple[int, int]:
        """(new users, new user-weeks) once the pairs (``pairs_join``, alias ``p``) are recorded."""
        return new_users, self._insert_weeks(f"SELECT {ids.id}, p.week, :pid, {ids.cw} FROM {ids.source} {pairs_join}",
                                             ids.id, "p.week")

    def _merge_users(self) -> tuple[int, _Ids]:
        """Users staged in pmf_stage_users (``ui, uid, mw``) into product_users. (New users, their ids.)"""
        new_users, ids = self._upsert_users("pmf_stage_users", "first_week, cohort_week", "mw, mw")
        # Users seen before with a later first week: it moves earlier, and so does their cohort week
        # if they have no signup (their rows then move with it).
        if self._moving(ids, f"{ids.fw} > s.mw", "s.mw"):
            self._exec("UPDATE product_users SET first_week = m.week, cohort_week = coalesce(product_users.signup_week, "
                       "m.week) FROM pmf_stage_moved m WHERE product_users.id = m.id")
            self._move_cohorts()
        return new_users, ids

    def _moving(self, ids: _Ids, where: str, week: str) -> int:
        """Stage the users (and a week) of the staged rows matching ``where``; how many.
        They are few: finding them first keeps the updates that follow from visiting every user."""
        self._clear("pmf_stage_moved")
        return self._exec(f"INSERT INTO pmf_stage_moved (id, week) SELECT {ids.id}, {week} FROM {ids.source} "
                          f"WHERE {where}")

    def _move_cohorts(self) -> None:
        """After ``product_users.cohort_week`` changed for the users in pmf_stage_moved, give
        their activity rows, and their staged rows (``cw``), the new cohort week. (``IN`` walks
        the primary key from each moved user; the planner cannot turn it into a scan.)"""
        new = "(SELECT p.cohort_week FROM product_users p WHERE p.id = {t}.{c})"
        self._exec(f"UPDATE activity_weeks SET cohort_week = {new.format(t='activity_weeks', c='user_id')} "
                   "WHERE user_id IN (SELECT id FROM pmf_stage_moved)")
        self._exec(f"UPDATE pmf_stage_ids SET cw = {new.format(t='pmf_stage_ids', c='id')} "
                   "WHERE id IN (SELECT id FROM pmf_stage_moved)")

    def _upsert_users(self, table: str, columns: str, values: str) -> tuple[int, _Ids]:
        """Look up the ``product_users`` id, first week and cohort week of every user staged in
        ``table``, creating the missing users with ``columns`` set from the staged ``values``.
        Returns how many were created, and where to find each staged row (alias ``s``) with its
        user's id, first week and cohort week.

        Existing users are looked up first so that only new ones go through INSERT: an insert that
        hits ON CONFLICT costs PostgreSQL a speculative insertion, a plain join does not. What is
        found goes into pmf_stage_ids rather than back into the staged rows: appending is cheaper
        than rewriting every staged row (by ~20% on SQLite; on PostgreSQL an UPDATE writes a second
        version of each row, which overflows its 8 MB of temp buffers and goes to disk).
        ON CONFLICT guards against a concurrent import creating the same user meanwhile; the
        "WHERE" also keeps SQLite from reading ON CONFLICT as a join constraint."""
        self._clear("pmf_stage_ids")
        lookup = (f"INSERT INTO pmf_stage_ids (ui, id, fw, cw) SELECT s.ui, p.id, p.first_week, p.cohort_week "
                  f"FROM {table} s JOIN product_users p ON p.product_id = :pid AND p.external_id = s.uid")
        missing = "NOT EXISTS (SELECT 1 FROM pmf_stage_ids i WHERE i.ui = s.ui)"
        self._exec(lookup)
        self._analyze("pmf_stage_ids")  # else "missing" below is planned as a loop over an "empty" table
        created = self._exec(
            f"INSERT INTO product_users (product_id, external_id, {columns}) "
            f"SELECT :pid, s.uid, {values} FROM {table} s WHERE {missing} ORDER BY s.ui ON CONFLICT DO NOTHING"
        )
        if created:
            # Through a second table: PostgreSQL plans "insert into the table I anti-join" as a
            # scan of that growing table per row (quadratic).
            self._clear("pmf_stage_new")
            self._exec(f"{lookup.replace('pmf_stage_ids', 'pmf_stage_new', 1)} WHERE {missing}")
            self._exec("INSERT INTO pmf_stage_ids (ui, id, fw, cw) SELECT ui, id, fw, cw FROM pmf_stage_new")
            self._analyze("pmf_stage_ids")  # issue 21: stale (pre-new-user) statistics flipped the plan below
            self._users_created += created
            self._refresh_user_statistics()
        return created, _Ids(f"pmf_stage_ids i JOIN {table} s ON s.ui = i.ui", "i.id", "i.fw", "i.cw")

    def _refresh_user_statistics(self) -> None:
        """Re-ANALYZE product_users once this import has grown it by a fifth (PostgreSQL).

        Autovacuum cannot see rows this transaction has not committed, so a first import of a
        million users would otherwise be planned as if the product had none: the join that looks
        up a chunk's users then hashes the whole table in a few MB and spills to disk. ANALYZE
        inside the transaction does count its own new rows."""
        if not self._pg or self._users_created < max(10_000, self._users_at_analyze // 5):
            return
        self._conn.exec_driver_sql("ANALYZE product_users")
        self._users_at_analyze += self._users_created
        self._users_created = 0

    def _insert_weeks(self, select: str, user: str, week: str) -> int:
        """Insert the (user, week, product, cohort week) rows of ``select`` that are not recorded
        yet, in (user, week) order so the primary key is written in order.

        On PostgreSQL the known ones are filtered first: a row that reaches ON CONFLICT costs a
        speculative insertion, an index probe does not. The probe is a LATERAL ... LIMIT 1 rather
        than NOT EXISTS because the planner turns NOT EXISTS into a hash anti-join that reads the
        whole activity table for every chunk. SQLite checks a conflict with the same single probe,
        so there a filter would only add a second one."""
        known = (f" LEFT JOIN LATERAL (SELECT 1 AS hit FROM activity_weeks a WHERE a.user_id = {user} "
                 f"AND a.week = {week} LIMIT 1) k ON true WHERE k.hit IS NULL" if self._pg else " WHERE true")
        return self._exec(
            f"INSERT INTO activity_weeks (user_id, week, product_id, cohort_week) {select}{known} "
            f"ORDER BY {user}, {week} ON CONFLICT DO NOTHING"
        )

    # ------------------------------------------------------------------ signups
    def _db_times(self, rows: Iterable[tuple[Any, ...]], at: int) -> list[tuple[Any, ...]]:
        """``rows`` as staged: element ``at`` (an aware datetime) as the database stores it."""
        if self._pg:
            return list(rows)
        return [(*r[:at], sqlite_datetime(r[at]), *r[at + 1:]) for r in rows]

    def signups(self, rows: Sequence[SignupRow]) -> tuple[int, int, int]:
        """Set each user's signup (``storage.staging.SIGNUP_COLUMNS``) and, when the row has one,
        their email hash; the signup week also counts as activity. Returns (new
        signups, changed signups, new user-weeks). A user known only from events who gets a signup
        counts as a new signup; re-importing equal values changes nothing."""
        if not rows:
            return 0, 0, 0
        # In external id order (``ui`` follows it): every writer creates and updates users in one
        # global order, so two imports of overlapping users wait for each other, never deadlock.
        ordered = self._db_times(sorted(rows, key=attrgetter("user_id")), SignupRow._fields.index("signed_up_at"))
        self._stage("pmf_stage_signups", ("ui", *SIGNUP_STAGED), [(i, *r) for i, r in enumerate(ordered)])
        cols = ", ".join(SIGNUP_COLUMNS)
        created, ids = self._upsert_users("pmf_stage_signups", f"{cols}, first_week, cohort_week",
                                          f"{cols}, signup_week, signup_week")
        set_clause = (
            ", ".join(f"{c} = s.{c}" for c in SIGNUP_COLUMNS) + ", cohort_week = s.signup_week, first_week = CASE "
            "WHEN product_users.first_week IS NULL OR product_users.first_week > s.signup_week THEN s.signup_week "
            "ELSE product_users.first_week END"
        )
        source = f"FROM {ids.source} WHERE product_users.id = {ids.id}"
        filled = self._exec(f"UPDATE product_users SET {set_clause} {source} AND product_users.signup_week IS NULL")
        # Null-safe "differs": SQLite spells it IS NOT, PostgreSQL IS DISTINCT FROM.
        ne = "IS DISTINCT FROM" if self._pg else "IS NOT"
        differs = " OR ".join(f"product_users.{c} {ne} s.{c}" for c in SIGNUP_COLUMNS)
        changed = self._exec(f"UPDATE product_users SET {set_clause} {source} AND ({differs})")
        if any(r.email_hash is not None for r in rows):
            self._exec(f"UPDATE product_users SET email_hash = s.email_hash {source} AND s.email_hash IS NOT NULL "
                       f"AND product_users.email_hash {ne} s.email_hash")
        # A signup decides the cohort week: users who were in another cohort move, rows and all.
        if self._moving(ids, f"{ids.cw} {ne} s.signup_week", "s.signup_week"):
            self._move_cohorts()
        new_weeks = self._insert_weeks(f"SELECT {ids.id}, s.signup_week, :pid, s.signup_week FROM {ids.source}",
                                       ids.id, "s.signup_week")
        return created + filled, changed, new_weeks

    def email_hashes(self, rows: Sequence[tuple[str, str]]) -> int:
        """Set the keyed email hash of users given as (external id, hash), after their signups
        (unknown users are skipped). Returns how many users' hash changed."""
        if not rows:
            return 0
        self._stage("pmf_stage_emails", ("uid", "email_hash"), rows)
        ne = "IS DISTINCT FROM" if self._pg else "IS NOT"
        return self._exec(
            "UPDATE product_users SET email_hash = e.email_hash FROM pmf_stage_emails e "
            f"WHERE product_users.product_id = :pid AND product_users.external_id = e.uid "
            f"AND product_users.email_hash {ne} e.email_hash"
        )

    # ------------------------------------------------------------------ responses
    def responses(self, rows: Sequence[ResponseRow]) -> int:
        """Insert imported survey responses; an existing dedupe key is left as it is.
        Returns the number of new responses."""
        if not rows:
            return 0
        self._stage("pmf_stage_responses", ResponseRow._fields,
                    self._db_times(rows, ResponseRow._fields.index("answered_at")))
        cols = ", ".join(ResponseRow._fields)
        return self._exec(
            f"INSERT INTO survey_responses (product_id, survey_id, source, updated_at, {cols}) "
            f"SELECT :pid, NULL, 'import', :now, {cols} FROM pmf_stage_responses WHERE true ON CONFLICT DO NOTHING",
            now=self._ts(datetime.now(UTC)),
        )

    # ------------------------------------------------------------------ end
    def close(self) -> None:
        """Drop the staging tables and give the connection its usual cache size back."""
        cur = self._raw.cursor()
        try:
            if not self._pg:
                for table in sorted(self._created):
                    cur.execute(f"DROP TABLE IF EXISTS temp.{table}")
                cur.execute(f"PRAGMA cache_size=-{_SQLITE_DEFAULT_CACHE_KIB}")
                cur.execute(f"PRAGMA temp.cache_size=-{_SQLITE_DEFAULT_CACHE_KIB}")
        finally:
            cur.close()
        self._created.clear()
