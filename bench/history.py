"""Benchmark: ``pmfbot history --weeks 12`` (cold: no snapshots yet, then warm) and ``pmfbot check``
at 250k and 1M users, each a whole process, as a user runs them (issue 22).

The products are generated with the seeded generator of ``bench/ingest_and_cohorts.py`` (one event
per active user-week, 26 weeks) and imported into SQLite through ``pmfbot import``; each command is
then timed from outside (wall, and the child's CPU seconds from the OS), several times, median
printed. ``check`` is also timed with ``python -X importtime``-free start-up: ``pmfbot --help``.
Exits 1 if the newest week of the history is not the report ``check --as-of`` gives for it.

    python bench/history.py                    # 250k and 1M users (~5 minutes on 2 cores)
    python bench/history.py --users 250000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ingest_and_cohorts import START, generate  # noqa: E402

TARGET_HISTORY_S = 5.0  # history --weeks 12, cold, at 1M users
TARGET_CHECK_COMPUTE_S = 2.0  # check's compute (process wall minus start-up) at 1M users
TARGET_STARTUP_S = 0.5
PMFBOT = str(Path(sys.executable).with_name("pmfbot"))


def timed(args: list[str], env: dict[str, str], before: list[str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, stdout) of one whole process."""
    if before:
        subprocess.run(before, check=True)
    start = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    end = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)
    return wall, cpu, out


def median_of(runs: list[tuple[float, float, str]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def bench_users(users: int, workdir: Path, runs: int) -> tuple[bool, list[bool], str]:
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    signups, events, as_of = generate(workdir, users, 0, 26)
    db = workdir / "history.db"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db}")
    for p in workdir.glob("history.db*"):
        p.unlink()
    for step in (["db", "upgrade"], ["product", "create", "bench"],
                 ["import", "signups", str(signups), "--product", "bench"],
                 ["import", "events", str(events), "--product", "bench"]):
        subprocess.run([PMFBOT, *step], env=env, check=True, capture_output=True)
    print(f"\n{users:,} users: generated and imported in {time.perf_counter() - t0:.0f}s; as of {as_of}", flush=True)
    day = as_of.isoformat()
    pristine = workdir / "pristine.db"
    shutil.copy(db, pristine)
    restore = ["cp", str(pristine), str(db)]  # no snapshots: every history run is cold
    history = [PMFBOT, "history", "--product", "bench", "--as-of", day, "--weeks", "12", "--json"]
    cold = [timed(history, env, before=restore) for _ in range(runs)]
    warm = [timed(history, env) for _ in range(runs)]
    check = [timed([PMFBOT, "check", "--product", "bench", "--as-of", day, "--json"], env) for _ in range(runs)]
    helps = [timed([PMFBOT, "--help"], env) for _ in range(runs)]
    (cw, cc), (ww, wc), (kw, kc), (hw, hc) = median_of(cold), median_of(warm), median_of(check), median_of(helps)
    newest = json.loads(cold[-1][2])["weeks"][-1]
    direct = json.loads(check[-1][2])
    same = newest["verdict"] == direct["verdict"] and newest["as_of"] == direct["as_of"]
    line = (f"  {users:>9,} users: history --weeks 12 cold {cw:.2f}s (CPU {cc:.2f}s), warm {ww:.2f}s (CPU {wc:.2f}s); "
            f"check {kw:.2f}s (CPU {kc:.2f}s), of which start-up (pmfbot --help) {hw:.2f}s (CPU {hc:.2f}s): "
            f"compute {kw - hw:.2f}s; newest history week = check --as-of: {same}")
    print(line, flush=True)
    met = []
    if users >= 1_000_000:
        met = [cw <= TARGET_HISTORY_S, kw - hw <= TARGET_CHECK_COMPUTE_S]
    met.append(hw <= TARGET_STARTUP_S)
    return same, met, line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, action="append", help="users per product (repeatable; default 250k and 1M)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each command (median printed)")
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pmf-history-"))
    print(f"PMF Gate history + check benchmark; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; "
          f"data up to {START + timedelta(weeks=26)}", flush=True)
    ok, met, lines = True, [], []
    for users in args.users or [250_000, 1_000_000]:
        same, m, line = bench_users(users, workdir / str(users), args.runs)
        ok &= same
        met += m
        lines.append(line)
    print(f"\nsummary (targets: history cold <= {TARGET_HISTORY_S:g}s and check compute <= "
          f"{TARGET_CHECK_COMPUTE_S:g}s at 1M users, start-up <= {TARGET_STARTUP_S:g}s); "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    for line in lines:
        print(line)
    print(f"  all targets met: {all(met)}")
    if not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
