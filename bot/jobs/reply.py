"""A job's replies to the person who asked, exactly once each (SPEC §11).

``JobResponder`` is callable like ``bot.slack.respond.Responder``: the n-th reply of a job is the
step ``reply:n``; a rerun skips the replies already recorded. A reply goes through the command's
``response_url`` with ``replace_original`` (so a repeat after a crash between sending and
recording edits the same message instead of adding one), at most ``retry.POST_TRIES.attempts``
times over all runs of the job (each try is recorded first; the URL allows 5 uses); when the URL
is older than ``URL_MAX_AGE`` (it lasts 30 minutes) or its tries are used up, the reply goes by
DM instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.jobs.registry import JobRun
from bot.slack import post, retry
from bot.slack.respond import Responder

log = logging.getLogger(__name__)

URL_MAX_AGE = timedelta(minutes=25)


class JobResponder:
    def __init__(self, run: JobRun, *, response_url: str | None, client: WebClient, user_id: str,
                 now: Callable[[], datetime], sleep: Callable[[float], None] = time.sleep) -> None:
        self.run = run
        self.response_url = response_url
        self.client = client
        self.user_id = user_id
        self.now = now
        self.sleep = sleep
        self.count = 0  # replies asked for in this run
        self.sent = 0

    def __call__(self, text: str = "", blocks: list[dict[str, Any]] | None = None, *,
                 response_type: str = "ephemeral", replace_original: bool | None = None, **extra: Any) -> None:
        self.count += 1
        step = f"reply:{self.count}"
        effects = self.run.effects
        if effects.done(step):
            return
        message: dict[str, Any] = {"text": text}
        if blocks is not None:
            message["blocks"] = blocks
        how = self._by_url(step, message, response_type, replace_original, extra)
        if how is None:
            post.dm(self.client, self.user_id, message)
            how = "dm"
        effects.record(step, how)
        self.sent += 1

    def _by_url(self, step: str, message: dict[str, Any], response_type: str, replace_original: bool | None,
                extra: dict[str, Any]) -> str | None:
        """Send by response_url; "url" when it went, None when it must go by DM."""
        if not self.response_url or self.now() - self.run.enqueued_at > URL_MAX_AGE:
            return None
        effects = self.run.effects
        tried = sum(1 for s in effects.recorded() if s.startswith(f"{step}:try"))
        # The first reply replaces the "Working on…" placeholder; every later one too, when this
        # is a rerun (the message it would add may already be there).
        replace = replace_original if replace_original is not None else (self.count == 1 or self.run.rerun)
        last: Exception | None = None
        tries = retry.POST_TRIES
        for i in range(tried, tries.attempts):
            effects.record(f"{step}:try{i + 1}")
            try:
                Responder(self.response_url, max_retries=0)(response_type=response_type, replace_original=replace,
                                                            **message, **extra)
                return "url"
            except Exception as err:  # noqa: BLE001 - tried again, then by DM
                last = err
                if i + 1 < tries.attempts:
                    self.sleep(tries.pause(i))
        log.warning("job %s: reply by response_url failed %d times (%s); sending it by DM", self.run.key,
                    tries.attempts, type(last).__name__ if last else "used up")
        return None
