"""What every `pmfbot` command shares: one error policy (bad input and configuration exit 2 with
their message, anything else 1), settings from the environment, the session factory, dates."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar

import click

from bot.config import ConfigError, Settings
from bot.errors import SlackUnreachable, UserError

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int) -> None:
    click.echo(f"pmfbot: {message}", err=True)
    sys.exit(code)


def handles_errors(fn: F) -> F:
    """Bad input and bad configuration exit 2 with their message; anything else exits 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (UserError, ConfigError) as err:
            _fail(str(err), 2)
        except click.exceptions.ClickException:
            raise
        except SlackUnreachable as err:
            _fail(str(err), 1)
        except KeyboardInterrupt:
            _fail("interrupted; nothing was committed by the interrupted step", 130)
        except Exception as err:  # noqa: BLE001 - the one place that reports unexpected errors
            problem = _schema_problem(err)
            if problem:
                _fail(problem, 2)
            logging.getLogger(__name__).debug("unexpected error", exc_info=True)
            _fail(f"unexpected error: {type(err).__name__}: {err}", 1)

    return wrapper  # type: ignore[return-value]


def _schema_problem(err: Exception) -> str | None:
    """A database error on a database that is not at the migrations' head (a newcomer's first
    command before `pmfbot db upgrade`: "no such table"): what to run instead."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(err, DBAPIError):
        return None
    from storage.migrate import schema_problem

    try:
        return schema_problem(_settings().database_url)
    except Exception:  # noqa: BLE001 - unreachable or misconfigured: the original error stands
        return None


def parse_as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--as-of must be a date as YYYY-MM-DD, got {value!r}") from None


def _settings() -> Settings:
    return Settings.from_env()


def _factory(settings: Settings):  # type: ignore[no-untyped-def]
    from storage.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))
