"""``storage.db.make_engine``: what every connection to PostgreSQL is opened with."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from storage.db import PG_CONNECT_TIMEOUT_S, make_engine


class _Stop(Exception):
    pass


def _connect_params(url: str) -> dict[str, Any]:
    """The keyword arguments psycopg would be called with (captured, then the connect is stopped)."""
    engine = make_engine(url)
    seen: dict[str, Any] = {}

    @event.listens_for(engine, "do_connect")
    def capture(_dialect: Any, _rec: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        seen.update(kwargs)
        raise _Stop

    with pytest.raises(_Stop):
        engine.connect()
    engine.dispose()
    return seen


def test_postgresql_connections_give_up_after_a_few_seconds() -> None:
    # Without it an unreachable server holds a request, and /healthz, for the OS's TCP timeout.
    assert _connect_params("postgresql://u@db.invalid/x")["connect_timeout"] == PG_CONNECT_TIMEOUT_S


def test_a_url_can_set_its_own_connect_timeout() -> None:
    assert _connect_params("postgresql://u@db.invalid/x?connect_timeout=30")["connect_timeout"] == "30"


def test_a_side_engine_never_takes_from_the_pool_it_stands_beside(db_url: str) -> None:
    # A read on a thread beside a held connection: with the pool's only connection held, a
    # connection from that pool would wait; the side engine's is opened for it.
    from sqlalchemy import create_engine, text

    from storage.db import side_engine

    engine = make_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        side = side_engine(engine)
        assert side is not None and side_engine(engine) is side  # made once
        with engine.connect() as held:
            held.execute(text("SELECT 1"))
            with side.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
            assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    finally:
        engine.dispose()
    # No side engine where a second connection would be another database, or for a foreign engine.
    assert side_engine(make_engine("sqlite://")) is None
    assert side_engine(create_engine(db_url)) is None
