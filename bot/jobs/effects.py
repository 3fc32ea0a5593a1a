"""What a job has done, step by step (``job_effects``): each external effect — a response_url
reply, a channel post's ts, a chart's file id — is recorded once it happened, so a job run again
(its worker died, or it raised and is retried) skips it. Recording happens after the effect: a
crash between the two repeats that one step, which is why posts also reconcile by metadata and
replies replace the original message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.slack.files import ChartMemo
from storage.db import Factory, unit_of_work
from storage.repositories import jobs as repo


def _now() -> datetime:
    return datetime.now(UTC)


class Effects:
    """The recorded steps of one job (``key``), read once and kept up to date."""

    def __init__(self, factory: Factory, key: str) -> None:
        self.factory = factory
        self.key = key
        self._done: dict[str, str | None] | None = None

    def recorded(self) -> dict[str, str | None]:
        if self._done is None:
            with unit_of_work(self.factory) as s:
                self._done = repo.effects(s, self.key)
        return self._done

    def done(self, step: str) -> bool:
        return step in self.recorded()

    def result(self, step: str) -> str | None:
        return self.recorded().get(step)

    def record(self, step: str, result: str | None = None) -> None:
        with unit_of_work(self.factory) as s:
            repo.record_effect(s, job_key=self.key, step=step, result=result, now=_now())
        self.recorded()[step] = result

    def once(self, step: str, fn: Callable[[], str | None]) -> str | None:
        """``fn()`` unless ``step`` was recorded (then its recorded result); records it after."""
        if self.done(step):
            return self.result(step)
        result = fn()
        self.record(step, result)
        return result


class RecordedCharts:
    """A private-chart memo (``bot.slack.files.ChartMemo``) that also records each upload as the
    job's step ``chart:<hash>``, so a rerun links the chart it already sent instead of uploading
    it again (the process's own memo stays in front)."""

    def __init__(self, sent: ChartMemo, effects: Effects) -> None:
        self.sent = sent
        self.effects = effects

    @staticmethod
    def _step(key: tuple[str, str, str]) -> str:
        return f"chart:{key[2][:32]}"

    def get(self, key: tuple[str, str, str]) -> str | None:
        return self.sent.get(key) or self.effects.result(self._step(key))

    def put(self, key: tuple[str, str, str], link: str) -> None:
        self.effects.record(self._step(key), link[:500])
        self.sent.put(key, link)


class NoEffects(Effects):
    """Outside a job (the CLI, tests of a feature alone): every step runs, nothing is recorded."""

    def __init__(self) -> None:
        self._done = {}
        self.key = ""

    def record(self, step: str, result: str | None = None) -> None:
        pass
