"""Benchmark: pyarrow against polars for the events reader, on the same file, in one run.

Each reader streams ``user_id,occurred_at`` in chunks as strings, turns the timestamps (``Z``,
naive = UTC and ``+02:00``, as bench/ingest_and_cohorts.py writes them) into week indexes with
its own vectorised ISO 8601 parser, and reduces each chunk to its distinct (user, week) pairs —
the work ``bot/csv_fast.py`` does before any SQL, without its checks and fallbacks. Reported:
wall and CPU seconds, peak RSS of a fresh child process per reader, and the pairs found (which
must agree). Several rounds, alternating, because the machine is shared.

    python bench/csv_readers.py /tmp/pmf-bench/events.csv --rounds 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

EPOCH_DAY = 4  # Monday 1970-01-05 is day 4 of the Unix epoch
CHUNK_BYTES = 32 << 20


def _pyarrow(path: str) -> tuple[int, int]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(
        path, read_options=pacsv.ReadOptions(block_size=CHUNK_BYTES, use_threads=True),
        convert_options=pacsv.ConvertOptions(include_columns=["user_id", "occurred_at"],
                                             column_types={"user_id": pa.string(), "occurred_at": pa.string()}))
    pairs = chunks = 0
    for batch in reader:
        ts = batch.column("occurred_at")
        zoned = np.asarray(pc.ends_with(ts, "Z"), dtype=bool) | np.asarray(pc.match_substring_regex(
            ts, r"[+-]\d\d:\d\d$"), dtype=bool)
        micros = np.zeros(len(ts), dtype=np.int64)
        for mask, typ in ((zoned, pa.timestamp("us", "UTC")), (~zoned, pa.timestamp("us"))):
            rows = np.flatnonzero(mask)
            micros[rows] = np.asarray(pc.cast(ts.take(pa.array(rows)), typ).cast(pa.int64()))
        week = (micros // 86_400_000_000 - EPOCH_DAY) // 7
        table = pa.table({"u": batch.column("user_id"), "w": pa.array(week)})
        pairs += table.group_by(["u", "w"]).aggregate([]).num_rows
        chunks += 1
    return pairs, chunks


def _polars(path: str) -> tuple[int, int]:
    import polars as pl

    ts = pl.col("occurred_at")
    instant = pl.coalesce(
        ts.str.to_datetime("%Y-%m-%dT%H:%M:%S%z", time_zone="UTC", strict=False),
        ts.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False).dt.replace_time_zone("UTC"),
    )
    week = ((instant.dt.epoch("d") - EPOCH_DAY) // 7).alias("w")
    lf = pl.scan_csv(path, schema_overrides={"user_id": pl.String, "occurred_at": pl.String}).select(
        pl.col("user_id"), week)
    pairs = chunks = 0
    for df in lf.collect_batches(chunk_size=900_000):  # ~32 MB of this file's rows, as pyarrow's blocks
        pairs += df.unique().height
        chunks += 1
    return pairs, chunks


def child(reader: str, path: str) -> None:
    t0 = time.perf_counter()
    pairs, chunks = {"pyarrow": _pyarrow, "polars": _polars}[reader](path)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    hwm = next(int(line.split()[1]) / 1024 for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": usage.ru_utime + usage.ru_stime,
                      "rss_mb": hwm, "pairs": pairs, "chunks": chunks}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("events", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, str(args.events))
        return 0
    import os

    rows = sum(1 for _ in args.events.open("rb")) - 1
    print(f"readers on {args.events} ({rows:,} rows); {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    runs: dict[str, list[dict[str, float]]] = {"pyarrow": [], "polars": []}
    for _ in range(args.rounds):
        for reader in runs:
            out = subprocess.run([sys.executable, __file__, str(args.events), "--child", reader], check=True,
                                 capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            runs[reader].append(r)
            print(f"  {reader:8s} {r['seconds']:6.2f}s wall, {r['cpu']:6.2f}s CPU, peak RSS {r['rss_mb']:4.0f} MB, "
                  f"{r['pairs']:,} pairs in {r['chunks']} chunks", flush=True)
    for reader, rs in runs.items():
        print(f"{reader:8s} median {statistics.median(r['seconds'] for r in rs):.2f}s wall "
              f"({rows / statistics.median(r['seconds'] for r in rs):,.0f} rows/s), "
              f"median CPU {statistics.median(r['cpu'] for r in rs):.2f}s, "
              f"max peak RSS {max(r['rss_mb'] for r in rs):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
