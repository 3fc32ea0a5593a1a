"""Post-ack work leaves a trace (issue 10): a command acked with "Working on…" records its work
before running it and removes the record when it ends (done or reported). A record whose process
is gone — killed right after the ack, or restarted by the platform — is found on the next
request or at start-up, and its placeholder is replaced through ``response_url`` with "this did
not finish, try again". A process is gone when it ran on this host and its pid no longer exists,
or, from another host, when its record is older than ``STALE_AFTER`` (no report takes that long;
Slack's response URLs last 30 minutes). No Slack imports: the caller says how to tell the user.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from storage.db import Factory, unit_of_work
from storage.models import PendingWork
from storage.repositories import pending as repo

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)
SWEEP_EVERY_SECONDS = 60.0
DID_NOT_FINISH = (":warning: This did not finish: PMF Gate was restarted while working on `{what}`. "
                  "Please try again.")


def owner() -> str:
    """This process, as ``host:pid`` (read at each call: gunicorn forks workers)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(row: PendingWork, now: datetime) -> bool:
    if row.owner == owner():
        return False
    host, _, pid = row.owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
    return now - row.started_at > STALE_AFTER


def start(factory: Factory, *, team_id: str, response_url: str, what: str, now: datetime) -> str:
    """Record work about to run; its id, for ``finish``."""
    work_id = uuid.uuid4().hex
    with unit_of_work(factory) as s:
        repo.add(s, work_id=work_id, team_id=team_id, response_url=response_url, what=what, owner=owner(), now=now)
    return work_id


def finish(factory: Factory, work_id: str) -> None:
    with unit_of_work(factory) as s:
        repo.remove(s, work_id)


def recover(factory: Factory, *, now: datetime, tell: Callable[[str, str], None]) -> int:
    """Replace the placeholder of every lost piece of work (``tell(response_url, text)``); how many."""
    with unit_of_work(factory) as s:
        lost = repo.take_lost(s, lost=lambda row: _gone(row, now))
    for team_id, url, what in lost:
        log.warning("work lost with its process: team=%s what=%s; telling the user", team_id, what)
        try:
            tell(url, DID_NOT_FINISH.format(what=what))
        except Exception as err:  # noqa: BLE001 - one failed reply must not stop the others
            log.warning("could not tell team=%s that its work was lost: %s", team_id, type(err).__name__)
    return len(lost)
