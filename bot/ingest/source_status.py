"""How a product's SQL source is shown outside the CLI: one line per source on the App Home (its
last sync, rows read, weeks covered, or why its last sync failed) and the warning a digest
carries when the last sync failed. Secrets never show (they are masked in every stored value);
where the source is (host, port, database, user) shows only to the people who manage its
product — on the App Home — and never in a channel's digest. No Slack imports here."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from bot.ingest.sql_source import SourceStatus, _status, source_status
from storage.repositories import sources as sources_repo


def _when(status: SourceStatus) -> str:
    at = status.last_error_at if status.failing else status.last_sync_at
    return at.strftime("%Y-%m-%d %H:%M UTC") if at is not None else "never"


def source_line(status: SourceStatus, *, manager: bool = True) -> str:
    """``acme`` · SQL source postgresql://reader:***@db/app · synced … · N rows · W weeks (mrkdwn).
    Not for a ``manager``: the kind of database only, and the error without host or database."""
    where = f"`{status.url}`" if manager else f"({status.kind})"
    head = f"`{status.product}` · SQL source {where}"
    if status.failing:
        error = status.last_error if manager else status.public_error()
        return f"{head} · :warning: last sync failed {_when(status)}: {error}"
    if status.last_sync_at is None:
        return f"{head} · not synced yet (the clock syncs it daily; `pmfbot source sync {status.product}` now)"
    return (f"{head} · synced {_when(status)} · {status.rows_read or 0:,} rows read · "
            f"{status.weeks_covered or 0} weeks covered")


def source_problem(session: Session, product_id: int) -> str | None:
    """The digest's warning when the product's source failed its last sync, else None."""
    status = source_status(session, product_id)
    if status is None or not status.failing:
        return None
    # A digest goes to a channel: the source's kind, not where it is.
    return (f"The product's SQL source ({status.kind}) failed its last sync ({_when(status)}): "
            f"{status.public_error()}. "
            "These figures may be missing its latest data; `pmfbot source sync` retries it.")


def workspace_source_lines(session: Session, workspace_id: int,
                           manages: Callable[[int], bool] | None = None) -> list[str]:
    """One ``source_line`` per SQL source of the workspace's products; where each source is shows
    only when ``manages(product_id)`` says the viewer manages that product (None: nobody)."""
    return [source_line(_status(src, slug), manager=manages is not None and manages(src.product_id))
            for src, slug in sources_repo.sources_of_workspace(session, workspace_id)]
