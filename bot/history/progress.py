"""The CLI's progress bar over the weeks of a history (``pmfbot history``): tqdm on standard
error, on a terminal only — never in pipes, files or tests, where it would only add noise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bot.history.service import Progress


@contextmanager
def week_bar(enabled: bool) -> Iterator[Progress | None]:
    """Yields the ``progress`` callback for ``bot.history.service`` (None when disabled)."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    with tqdm(unit="week", desc="history", file=sys.stderr, leave=False, dynamic_ncols=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress
