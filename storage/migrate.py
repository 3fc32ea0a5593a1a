"""Running Alembic from code, so ``pmfbot db upgrade`` works from an installed wheel too, and
telling where a database stands (its revision against the code's head) so a process can refuse
a database that was never upgraded instead of failing on every tick."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import make_engine, redacted_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: no Alembic version table, a new database
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def schema_state(url: str) -> SchemaState:
    return SchemaState(current=current_revision(url), head=head_revision())


def schema_problem(url: str) -> str | None:
    """What is wrong with the database at ``url`` for this version of the code, as a sentence
    that says what to run (None: it is at the migrations' head). Raises ``OperationalError``
    when the database cannot be reached."""
    state = schema_state(url)
    if state.at_head:
        return None
    at = f"revision {state.current}" if state.current else "no schema (never upgraded)"
    return (f"the database {redacted_url(url)} has {at}, this version needs revision {state.head}: "
            "run `pmfbot db upgrade` first")


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to ``revision``; returns the revision before and after."""
    before = current_revision(url)
    command.upgrade(alembic_config(url), revision)
    return before, current_revision(url)
