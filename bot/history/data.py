"""A product's report inputs for many as-of weeks from one read (issue 22: history in one pass).

The cohort matrix as of an earlier week is the matrix of a later one cut shorter: cohorts up to
that week, activity up to that week. So the activity is read once, grouped by (cohort week,
week); the users once, grouped by cohort week; the signups by week and channel class once; and
the tail's activity patterns once, over the union of the tails the weeks use. Each week's
inputs are then cut from those, and equal what ``bot.reports.inputs.ReportData`` reads from the
database for that week (tested week by week against ``compute_report``). Also cut from them:
each week's snapshot fingerprint and active users. No Slack here."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.domain import retention
from bot.domain.active_events import ActiveEvents
from bot.domain.settings import RetentionSettings
from bot.domain.types import TailPatterns, WeekChannels
from bot.domain.weeks import week_start
from bot.reports.inputs import ReportData
from storage.db import side_engine
from storage.repositories import cohorts as repo
from storage.repositories import fingerprint as fp
from storage.repositories.reports import cohort_sizes, weekly_channels

_MAX_BITS = 62  # offsets or weeks one read can carry (a mask per user in 64 bits)
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def import_statistics() -> None:
    """Import scipy.special now (~0.15 s; ``bot.domain.distributions`` needs it after the reads)."""
    try:
        import scipy.special  # noqa: F401
    except ImportError:  # the report's own import then says what is missing
        pass


def import_statistics_meanwhile() -> None:
    """``import_statistics`` on a background thread while the tail patterns' query runs: SQLite
    computes that GROUP BY in its first step, ~0.6 s without the GIL. Not beside a query that
    returns its rows in many short steps: an import takes the GIL at every step (scipy.stats'
    import made the activity grid's read 0.75 s instead of 0.28 s at 1M users). Python's import
    lock makes another thread that needs the module wait for this import."""
    if "scipy.special" not in sys.modules:
        threading.Thread(target=import_statistics, name="pmfbot-import-statistics", daemon=True).start()


class HistoryData(ReportData):
    """Report inputs for the as-of weeks up to ``last_week``, from one read of each table."""

    def __init__(self, session: Session, product_id: int, last_week: int, first_week: int | None = None, *,
                 tails: tuple[Iterable[int], RetentionSettings] | None = None) -> None:
        """``tails``: the as-of weeks whose tail patterns to read as well (``prepare_tails``),
        and the retention settings. Their query then runs on a connection of its own beside the
        other reads (see ``_read_tails_beside``)."""
        super().__init__(session, product_id)
        self.last_week = last_week
        # The earliest as-of week to be asked for: with it, the survey's activity tiers of every
        # week are counted from one read too (on first use: only matched answers need them).
        self.first_week = first_week
        self._tiers: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._sizes = cohort_sizes(session, product_id, last_week)  # index-only; the rest when needed
        self._patterns: tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray] | None = None
        offsets = self._tail_union(*tails) if tails is not None else ()
        pending = self._read_tails_beside(offsets) if offsets else None
        if pending is not None:
            # While that query's first step (its GROUP BY, ~0.6 s at 1M users) runs without the
            # GIL; done before the grid and the signups so no import holds the GIL while either
            # thread fetches rows (each row of a fetch waits for it).
            import_statistics()
        grid = np.array(repo.activity_grid(session, product_id, last_week), dtype=np.int64).reshape(-1, 3)
        self._cw, self._week, self._n = grid[:, 0], grid[:, 1], grid[:, 2]
        self._users: list[fp.UserGroup] | None = None
        self._events: tuple[ActiveEvents, Mapping[int, int]] | None = None  # counted event-weeks by week
        self._channels = weekly_channels(session, product_id, last_week)
        if pending is not None:
            self._patterns = pending.result()
        elif offsets:
            self._read_tails_here(offsets)

    # ------------------------------------------------------------------ ReportData
    def cohort_sizes(self, last_week: int) -> dict[int, int]:
        self._check(last_week)
        return {c: n for c, n in self._sizes.items() if c <= last_week}

    def cohort_activity(self, last_week: int) -> list[tuple[int, int, int]]:
        self._check(last_week)
        keep = (self._cw <= last_week) & (self._week <= last_week) & (self._week >= self._cw)
        cw, week, n = self._cw[keep], self._week[keep], self._n[keep]
        return list(zip(cw.tolist(), (week - cw).tolist(), n.tolist(), strict=True))

    def weekly_channels(self, last_week: int) -> list[WeekChannels]:
        self._check(last_week)
        return [w for w in self._channels if w.week <= last_week]

    def tail_patterns(self, last_week: int, offsets: Sequence[int], sizes: dict[int, int]) -> TailPatterns:
        self._check(last_week)
        offsets = tuple(offsets)
        read = self._patterns
        if read is None or not set(offsets) <= set(read[0]):
            return super().tail_patterns(last_week, offsets, sizes)  # not prepared: one query
        union, cw, mask, n = read
        lo = min(offsets)
        keep = cw <= last_week - lo
        cw, mask, n = cw[keep], mask[keep], n[keep]
        cut = np.zeros(cw.size, dtype=np.int64)
        for i, off in enumerate(offsets):
            # bit i: active at this offset, in a week complete as of ``last_week``
            on = ((mask >> union.index(off)) & 1).astype(bool) & (cw + off <= last_week)
            cut |= on.astype(np.int64) << i
        counts: dict[int, dict[int, int]] = {w: {} for w in sizes}
        nonzero = cut != 0
        if nonzero.any():
            key = cw[nonzero] * (1 << len(offsets)) + cut[nonzero]
            order = np.argsort(key, kind="stable")
            key, weight = key[order], n[nonzero][order]
            starts = np.flatnonzero(np.diff(key, prepend=-1))
            totals = np.add.reduceat(weight, starts)
            for k, total in zip(key[starts].tolist(), totals.tolist(), strict=True):
                w, m = divmod(k, 1 << len(offsets))
                counts.setdefault(w, {})[m] = total
        for w, size in sizes.items():
            active = sum(counts[w].values())
            if size - active:
                counts[w][0] = counts[w].get(0, 0) + size - active
        return TailPatterns(offsets=offsets, counts=counts)

    def active_users_by_weeks(self, last_week: int) -> dict[int, int]:
        self._check(last_week)
        first = None if self.first_week is None else self.first_week - 7
        if first is None or last_week - 7 < first or not 0 < self.last_week - first + 1 <= _MAX_BITS:
            return super().active_users_by_weeks(last_week)
        if self._tiers is None:
            rows = np.array(repo.week_mask_groups(self.session, self.product_id, first, self.last_week),
                            dtype=np.int64).reshape(-1, 3)
            self._tiers = (first, rows[:, 0], rows[:, 1], rows[:, 2])
        first, mask, cw, n = self._tiers
        # audience.active_users_by_weeks, per user: the 8 weeks ending with last_week, one of
        # the last two among them, and either two of them or a cohort week before them.
        window = (mask >> (last_week - 7 - first)) & 0xFF
        n8 = _POPCOUNT[window]
        recent = (window >> 6) != 0
        keep = recent & ((n8 >= 2) | (cw < last_week - 7))
        counts = np.bincount(n8[keep], weights=n[keep], minlength=9)
        return {k: int(v) for k, v in enumerate(counts.tolist()) if v}

    # ------------------------------------------------------------------ history
    def prepare_tails(self, weeks: Iterable[int], settings: RetentionSettings) -> None:
        """Read the activity patterns of every tail the reports as of ``weeks`` (and the week
        before each, for ``confirm_weeks``) will ask for, in one query."""
        offsets = self._tail_union(weeks, settings)
        if offsets:
            self._read_tails_here(offsets)

    def _read_tails_here(self, offsets: tuple[int, ...]) -> None:
        import_statistics_meanwhile()  # this query is one long step without the GIL
        self._patterns = self._read_tails(self.session, offsets)

    def _tail_union(self, weeks: Iterable[int], settings: RetentionSettings) -> tuple[int, ...]:
        """The offsets of every tail the reports as of ``weeks`` use, sorted; () when there are
        none or too many for one mask (each week then reads its own: ``ReportData``). The tail
        is chosen from the cohort sizes alone (``retention.tail_offsets`` looks at how many
        users each offset rests on, never at their activity), so this needs no activity read;
        a week whose tail is not among them reads its own all the same."""
        union: set[int] = set()
        for week in weeks:
            table = retention.build_cohort_table(week_start(week + 1), self.cohort_sizes(week), ())
            union.update(retention.tail_offsets(table, settings))
        return tuple(sorted(union)) if 0 < len(union) <= _MAX_BITS else ()

    def _read_tails(self, session: Session, offsets: tuple[int, ...],
                    ) -> tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray]:
        rows = np.array(repo.pattern_groups(session, self.product_id, self.last_week, offsets),
                        dtype=np.int64).reshape(-1, 3)
        return offsets, rows[:, 0], rows[:, 1], rows[:, 2]

    def _read_tails_beside(self, offsets: tuple[int, ...],
                           ) -> Future[tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray]] | None:
        """The tail patterns' query (the longest read: 0.6 s of a million users' report) started
        on a thread with a connection of its own, so the activity grid and the signups are read
        meanwhile on the other core. Each query sees its own snapshot either way (SQLite runs
        each SELECT in its own read transaction, PostgreSQL's READ COMMITTED each statement),
        so reading on two connections is no less consistent than one after the other. The
        connection is a new one, not the session's pool's (``storage.db.side_engine``). None
        (read later, on this session) when there is no such engine."""
        bind = self.session.get_bind()
        side = side_engine(bind) if isinstance(bind, Engine) else None
        if side is None or self.session.new or self.session.dirty:
            return None  # also: a session bound to a connection, or with writes of its own to see

        def read() -> tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray]:
            with Session(side) as own:  # never from the session's pool: see side_engine
                return self._read_tails(own, offsets)

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pmfbot-tails")
        try:
            return pool.submit(read)
        finally:
            pool.shutdown(wait=False)

    def active_users(self, week: int) -> int:
        """How many users were active in ``week`` (``count_active_users``)."""
        self._check(week)
        return int(self._n[self._week == week].sum())

    def fingerprint(self, week: int, until: datetime, rule: ActiveEvents | None = None) -> fp.Fingerprint:
        """``data_fingerprint(last_week=week, until=until, rule=rule)``, the users', activity's and
        counted events' figures combined from the grouped reads (the answers' is one small query)."""
        self._check(week)
        if self._users is None:
            self._users = fp.user_groups(self.session, self.product_id)
        users = fp.combine(fp.USERS, (g.figures for g in self._users
                                      if g.cohort_week is not None and g.cohort_week <= week))
        upto = self._week <= week
        # A (cohort week, week) cell of the grid: its count of activity rows, and its week.
        activity = fp.combine(fp.ACTIVITY, columns=(self._n[upto], self._week[upto]))
        events: tuple[int, ...] = ()
        if rule is not None and fp.counts_events(rule):
            if self._events is None or self._events[0] != rule:
                self._events = (rule, fp.counted_event_weeks_by_week(self.session, self.product_id, rule))
            events = (sum(n for w, n in self._events[1].items() if w <= week),)
        return fp.fingerprint(users, activity, fp.answers_fingerprint(self.session, self.product_id, until=until),
                              events)

    def _check(self, last_week: int) -> None:
        if last_week > self.last_week:
            raise ValueError(f"read up to week {self.last_week}, asked for {last_week}")
