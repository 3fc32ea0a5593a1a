"""A clock process for the multi-process test: its own engine, AppContext and DigestRunner
against the shared PostgreSQL database and the fake Web API, started with ``spawn`` (a fresh
interpreter, as a second dyno would be)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def run(db_url: str, api_url: str, worker: str, tick_times: list[str], barrier: Any, results: Any) -> None:
    import bot.slack.installations  # noqa: F401 - slack_sdk.s tables on our metadata
    from bot.digests.runner import DigestRunner
    from storage.db import make_engine, make_session_factory
    from tests.jobs.helpers import make_ctx, tiny_png

    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    runner = DigestRunner(make_ctx(factory, api_url, db_url=db_url), worker_id=worker, chart_renderer=tiny_png,
                          max_workers=8)
    outcomes: dict[str, int] = {}
    for at in tick_times:
        barrier.wait(timeout=60)  # both processes tick at the same instant
        stats = runner.tick(datetime.fromisoformat(at))
        for k, v in stats.outcomes.items():
            outcomes[k] = outcomes.get(k, 0) + v
        outcomes["planned"] = outcomes.get("planned", 0) + stats.planned
    engine.dispose()
    results.put((worker, outcomes))
