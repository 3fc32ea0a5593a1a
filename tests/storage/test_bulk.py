"""``storage.bulk.BulkWriter`` on its own: counts, merge rules, staging clean-up, transactions."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from bot.products import service as product_service
from storage.bulk import BulkWriter
from storage.db import Factory
from storage.models import ActivityWeek, ProductUser
from storage.staging import ResponseRow, SignupRow

AT = datetime(2026, 3, 2, 10, tzinfo=UTC)


def _product(factory: Factory) -> int:
    return product_service.create_product(factory, slug="acme").id


def _users(factory: Factory) -> dict[str, tuple[int | None, int | None, str | None, str | None]]:
    with factory() as s:
        return {u.external_id: (u.signup_week, u.first_week, u.channel, u.channel_class)
                for u in s.scalars(select(ProductUser))}


def _weeks(factory: Factory) -> set[tuple[str, int]]:
    with factory() as s:
        return {(e, w) for e, w in s.execute(select(ProductUser.external_id, ActivityWeek.week)
                                             .join(ActivityWeek, ActivityWeek.user_id == ProductUser.id))}


def test_events_create_users_keep_the_earliest_week_and_skip_known_weeks(session_factory: Factory) -> None:
    pid = _product(session_factory)
    with session_factory() as s:
        w = BulkWriter(s, pid)
        assert w.events({("a", 10), ("a", 12), ("b", 11)}) == (2, 3)
        # A later chunk: "a" again with an earlier week, one known week, one new user.
        assert w.events({("a", 9), ("a", 12), ("c", 12)}) == (1, 2)
        assert w.events(set()) == (0, 0)
        w.close()
        s.commit()
    assert _users(session_factory) == {"a": (None, 9, None, None), "b": (None, 11, None, None),
                                       "c": (None, 12, None, None)}
    assert _weeks(session_factory) == {("a", 9), ("a", 10), ("a", 12), ("b", 11), ("c", 12)}


def test_signups_fill_change_or_leave_users(session_factory: Factory) -> None:
    pid = _product(session_factory)
    with session_factory() as s:
        w = BulkWriter(s, pid)
        w.events({("known", 20)})
        new, changed, weeks = w.signups([SignupRow("known", 18, AT, "seo", "organic"),
                                              SignupRow("fresh", 19, AT, None, "unknown")])
        assert (new, changed, weeks) == (2, 0, 2)
        assert w.signups([SignupRow("known", 18, AT, "seo", "organic")]) == (0, 0, 0)  # same values: nothing
        assert w.signups([SignupRow("known", 18, AT, "cpc", "paid")]) == (0, 1, 0)
        w.close()
        s.commit()
    assert _users(session_factory)["known"] == (18, 18, "cpc", "paid")
    assert _users(session_factory)["fresh"] == (19, 19, None, "unknown")
    assert _weeks(session_factory) == {("known", 18), ("known", 20), ("fresh", 19)}


def test_responses_insert_once_per_dedupe_key(session_factory: Factory) -> None:
    pid = _product(session_factory)
    row = ResponseRow("import:r1:2026-03-02T10:00:00+00:00", "r1", AT, "very", "founders", main_benefit="speed")
    with session_factory() as s:
        w = BulkWriter(s, pid)
        assert w.responses([row]) == 1
        assert w.responses([row]) == 0
        w.close()
        s.commit()


def test_nothing_is_kept_without_a_commit(session_factory: Factory) -> None:
    pid = _product(session_factory)
    with session_factory() as s:
        w = BulkWriter(s, pid)
        w.events({("a", 10)})
        w.signups([SignupRow("b", 10, AT, "seo", "organic")])
        s.rollback()
    assert _users(session_factory) == {}
    # The same connection, reused from the pool, can import again.
    with session_factory() as s:
        w = BulkWriter(s, pid)
        assert w.events({("a", 10)}) == (1, 1)
        w.close()
        s.commit()
    assert _weeks(session_factory) == {("a", 10)}


def test_close_drops_the_staging_tables(session_factory: Factory) -> None:
    pid = _product(session_factory)
    with session_factory() as s:
        w = BulkWriter(s, pid)
        w.events({("a", 10)})
        w.close()
        s.commit()
        if s.get_bind().dialect.name == "sqlite":
            left = s.execute(text("SELECT name FROM sqlite_temp_master WHERE name LIKE 'pmf_stage%'")).all()
        else:
            left = s.execute(text("SELECT relname FROM pg_class WHERE relname LIKE 'pmf_stage%' "
                                  "AND relpersistence = 't' AND pg_table_is_visible(oid)")).all()
        assert left == []


def test_every_signup_field_is_stored_by_name_and_the_email_hash_only_when_given(session_factory: Factory) -> None:
    """SignupRow is the one home of a signup's fields: each field reaches its product_users column
    of the same name (the writer's SQL is built from the fields), the email hash included; a row
    without one leaves the stored hash as it is."""
    pid = _product(session_factory)
    row = SignupRow("u", 18, AT, "newsletter / email", "unknown", channel_key="newsletter", email_hash="h1")
    with session_factory() as s:
        w = BulkWriter(s, pid)
        assert w.signups([row]) == (1, 0, 1)
        assert w.signups([row._replace(email_hash=None)]) == (0, 0, 0)  # no email: the stored hash stays
        w.close()
        s.commit()
    with session_factory() as s:
        user = s.scalars(select(ProductUser)).one()
        assert {f: getattr(user, "external_id" if f == "user_id" else f) for f in SignupRow._fields} == {
            **row._asdict(), "signed_up_at": user.signed_up_at}
        assert user.signed_up_at is not None and user.signed_up_at.replace(tzinfo=UTC) == AT
    with session_factory() as s:
        w = BulkWriter(s, pid)
        assert w.signups([row._replace(email_hash="h2", channel_key=None)]) == (0, 1, 0)
        w.close()
        s.commit()
    with session_factory() as s:
        user = s.scalars(select(ProductUser)).one()
        assert (user.email_hash, user.channel_key) == ("h2", None)


def test_the_writer_names_no_signup_or_response_column_itself() -> None:
    """A new signup or response column is a field of storage.staging's rows, not another list in
    the writer: storage/bulk.py spells none of their columns out (but the user, the signup week,
    which also sets the cohort, the email hash, written apart, and the times it converts)."""
    import inspect
    import re

    import storage.bulk
    source = inspect.getsource(storage.bulk)
    named_apart = {"user_id", "signup_week", "email_hash", "signed_up_at", "answered_at"}
    fields = (set(SignupRow._fields) | set(ResponseRow._fields)) - named_apart
    assert len(fields) >= 10
    assert sorted(f for f in fields if re.search(rf"\b{f}\b", source)) == []
    assert [r for r in ("r[5]", "r[6]", "len(r)") if r in source] == []


def test_the_rows_fields_are_their_tables_columns() -> None:
    from storage.models import SurveyResponse
    from storage.staging import SIGNUP_COLUMNS

    assert {*SIGNUP_COLUMNS, "email_hash"} <= set(ProductUser.__table__.columns.keys())
    assert set(ResponseRow._fields) <= set(SurveyResponse.__table__.columns.keys())


def test_sqlite_datetime_is_the_text_sqlalchemy_stores() -> None:
    # Raw bulk writes and ORM writes of the same instant must compare equal in SQLite.
    from datetime import timedelta, timezone
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from storage.bulk import sqlite_datetime

    engine = sa.create_engine("sqlite://")
    table = sa.Table("t", sa.MetaData(), sa.Column("at", sa.DateTime(timezone=True)))
    table.create(engine)
    instants = [datetime(2026, 3, 2, 14, 5, tzinfo=UTC), datetime(2026, 3, 2, 14, 5, 0, 7, tzinfo=UTC),
                datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Paris")),
                datetime(999, 1, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-3)))]
    with engine.begin() as conn:
        for at in instants:
            conn.execute(table.insert().values(at=at.astimezone(UTC)))
        stored = [r[0] for r in conn.exec_driver_sql("SELECT at FROM t")]
    assert stored == [sqlite_datetime(at) for at in instants]
