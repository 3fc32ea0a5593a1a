"""Benchmark: the organic signal against everyday marketing (issue 18), many seeded replicates.

Runs every scenario of ``tests/domain/calibration_organic.py`` (a weekly mix that varies, ads
auto-tagged with only a click id, one viral week, rewarded referrals, brand search / partner /
podcast tags, untagged majority, and the power case) through the real classification and
signal, and prints per scenario the pass rate with its 95% Wilson interval and the target. The
test runs the same scenarios with fewer replicates.

    python bench/organic_calibration.py [--reps 2000] [--seed 18]

Exits non-zero when a rate misses its target.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.domain.calibration_organic import SCENARIOS, meets, pass_rate, wilson_ci  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    print(f"organic calibration: {args.reps} replicates per scenario, seed {args.seed}; "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    missed = 0
    for scenario in SCENARIOS:
        started = time.perf_counter()
        hits, reps = pass_rate(scenario, args.reps, args.seed)
        lo, hi = wilson_ci(hits, reps)
        ok = meets(scenario.target, hits / reps)
        missed += not ok
        print(f"{hits / reps:6.1%}  [{lo:5.1%}, {hi:5.1%}]  target {scenario.target:>5}  "
              f"{'ok  ' if ok else 'MISS'}  {time.perf_counter() - started:5.1f} s  {scenario.name}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
