"""Benchmark: how often the gate passes when it should not, and when it should (issues 11, 18).

Runs many seeded replicates of every scenario in ``tests/domain/calibration.py`` (keen early
adopters, slow decays at several rates and levels, true plateaus, organic at and below the bar,
stripped UTM tags, self-selected survey respondents, weekly looks) through the real domain code
and prints one row per scenario: the pass rate with its 95% Wilson interval, the target from
SPEC §5 / issue 11, and whether the rate meets it. The domain tests run the same scenarios with
few replicates; this is the slow version.

Round 2 (issue 18) adds the scenarios of ``tests/domain/calibration_gate.py`` (uneven users,
growing cohorts, a win-back blast, a seasonal lift, keen first 6-8 cohorts, fan-only and made-up
survey respondents, the whole gate's power with ample data and ready -> not ready flips over
13 weekly checks, with the power broken down by signal), and, when it exists, every scenario of
``tests/domain/calibration_organic.py`` (``SCENARIOS``: objects with ``name``, ``target`` "<=5%" or
">=80%" and ``run(rng) -> bool``).

    python bench/gate_calibration.py                 # the default replicate counts (a few minutes)
    python bench/gate_calibration.py --scale 0.25    # a quarter of them
    python bench/gate_calibration.py --only survey   # one family: retention, organic, survey,
                                                     # round2 (issue 18's rows) or organic2

Exits non-zero when a rate misses its target by more than its interval allows.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.survey import wilson  # noqa: E402
from tests.domain import calibration_gate as cg  # noqa: E402
from tests.domain.calibration import (  # noqa: E402
    ORGANIC_SCENARIOS,
    RETENTION_SCENARIOS,
    SURVEY_SCENARIOS,
    RetentionScenario,
    early_adopters_curve,
    organic_pass,
    retention_pass,
    retention_pass_at_any_look,
    survey_pass,
)

# (family, label, replicates, run(seed) -> passed, "max"/"min", target)
Row = tuple[str, str, int, Callable[[int], bool], str, float]
_TARGETS = {"<=5%": ("max", 0.05), ">=80%": ("min", 0.80), "<=20%": ("max", 0.20), "info": ("info", 0.0)}


def _seeded(run: Callable[[np.random.Generator], bool]) -> Callable[[int], bool]:
    return lambda seed: bool(run(np.random.default_rng(seed)))


def round2_rows() -> list[Row]:
    """Issue 18: every scenario of calibration_gate.py, the power broken down by signal, flips."""
    out: list[Row] = []
    for sc in cg.SCENARIOS:
        if sc.name.startswith("power"):
            continue  # below, with its parts
        kind, target = _TARGETS[sc.target]
        out.append(("round2", f"{sc.family}: {sc.name}", sc.reps, _seeded(sc.run), kind, target))

    power = next(sc for sc in cg.SCENARIOS if sc.name.startswith("power"))
    runs: dict[int, cg.GateRun] = {}  # the gate row's own products, judged once

    def part(i: int) -> Callable[[int], bool]:
        def run(seed: int) -> bool:
            if seed not in runs:
                rng = np.random.default_rng(seed)
                runs[seed] = cg.gate_once(rng, cg.FIT, seed=int(rng.integers(1 << 30)))
            return runs[seed].statuses[i] == "pass"
        return run
    out.append(("round2", "gate: power, all three truly there, judged once (the parts below)", power.reps,
                lambda seed: all(part(i)(seed) for i in range(3)), "min", 0.80))
    for i, name in enumerate(("retention", "organic (current code)", "survey")):
        out.append(("round2", f"power, {name} alone passes (same products as the row above)", power.reps,
                    part(i), "info", 0.0))
    calm = cg.Signups(nb_shape=1e9, mix=1e9)
    out.append(("round2", "power, organic alone, weekly volume and mix NOT overdispersed", 300,
                _seeded(lambda rng: cg.organic_status(cg.weekly_signups(rng, calm, 26), 25) == "pass"), "info", 0.0))
    out.append(("round2", "power, survey alone at a true 50% (300 answers)", 1000,
                _seeded(lambda rng: cg.survey_status(rng, cg.Survey(score=0.50, n=(300, 300))) == "pass"),
                "info", 0.0))
    out.append(("round2", "power: gate with organic judged on non-overdispersed signups", 300,
                _seeded(lambda rng: cg.gate_once(rng, cg.FIT, signups=calm,
                                                 seed=int(rng.integers(1 << 30))).verdict == "ready"), "info", 0.0))

    histories: dict[int, list[cg.GateRun]] = {}  # one simulated history per seed serves both rows

    def history(to: tuple[str, ...]) -> Callable[[int], bool]:
        def run(seed: int) -> bool:
            if seed not in histories:
                rng = np.random.default_rng(seed)
                histories[seed] = cg.weekly_history(rng, cg.FIT, n_boot=1000, seed=int(rng.integers(1 << 30)))
            return cg.flipped(histories[seed], to)  # type: ignore[arg-type]
        return run
    out.append(("round2", "flips: fit product, 13 weekly checks, ready then not_ready", 100,
                history(("not_ready",)), "max", 0.20))
    out.append(("round2", "flips: fit product, 13 weekly checks, ready then not ready or unclear", 100,
                history(("not_ready", "unclear")), "info", 0.0))
    return out


def organic2_rows() -> list[Row]:
    """The organic engineer's scenarios, when tests/domain/calibration_organic.py exists."""
    try:
        mod = importlib.import_module("tests.domain.calibration_organic")
    except ModuleNotFoundError:
        return []
    out: list[Row] = []
    for sc in getattr(mod, "SCENARIOS", []):
        kind, target = _TARGETS.get(sc.target, ("info", 0.0))
        out.append(("organic2", sc.name, int(getattr(sc, "reps", 400)), _seeded(sc.run), kind, target))
    return out


def rows() -> list[Row]:
    out: list[Row] = []
    targets = {"first 2-3": 0.04, "decay": 0.04, "true plateau at 25%": 0.85, "true plateau at 15%": 0.75}
    for sc in RETENTION_SCENARIOS:
        kind = "min" if sc.truth == "plateau" else "max"
        target = next(v for k, v in targets.items() if sc.name.startswith(k))
        out.append(("retention", sc.name, 400, lambda seed, sc=sc: retention_pass(sc, seed), kind, target))
    # Once a known limit (all tail cohorts keen); the early-offset drift check of issue 18 sees it.
    for keen in (4, 6):
        sc = RetentionScenario(f"first {keen} cohorts stay 30%, later decay 4%/wk",
                               lambda rng, keen=keen: early_adopters_curve(keen), (20, 30))
        out.append(("retention", sc.name, 200, lambda seed, sc=sc: retention_pass(sc, seed), "max", 0.05))
    for sc in RETENTION_SCENARIOS[1:6:2]:
        out.append(("retention", f"{sc.name}, 8 weekly looks, passes at any", 150,
                    lambda seed, sc=sc: retention_pass_at_any_look(sc, seed, looks=8, n_boot=1000), "max", 0.04))
    organic_targets = {"true 50%": 0.06, "true 45%": 0.01, "true 40%": 0.06, "true 65%": 0.65, "true 70%": 0.85}
    for osc in ORGANIC_SCENARIOS:
        kind = "min" if osc.truth == "organic" else "max"
        target = next(v for k, v in organic_targets.items() if osc.name.startswith(k))
        out.append(("organic", osc.name, 4000, lambda seed, osc=osc: organic_pass(osc, seed), kind, target))
    for ssc in SURVEY_SCENARIOS:
        if "unweighted" in ssc.name:
            kind, target = "info", 0.0
        elif ssc.truth == "above the bar":
            kind, target = "min", (0.75 if not ssc.self_selected else 0.35)
        else:
            kind, target = "max", (0.02 if ssc.looks > 1 or "38%" in ssc.name else 0.01)
        reps = 600 if ssc.looks > 1 else 3000
        out.append(("survey", ssc.name, reps, lambda seed, ssc=ssc: survey_pass(ssc, seed), kind, target))
    return out + round2_rows() + organic2_rows()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every replicate count")
    parser.add_argument("--only", choices=("retention", "organic", "survey", "round2", "organic2"))
    args = parser.parse_args()
    print(f"gate calibration on {platform.node() or 'this machine'}: {os.cpu_count()} cores "
          f"(os.cpu_count()), Python {platform.python_version()}; one process, seeded")
    if not organic2_rows():
        print("(no tests/domain/calibration_organic.py: the organic round-2 rows are not shown)")
    print(f"{'family':9} {'scenario':90} {'reps':>5} {'pass rate':>9} {'95% CI':>13}  target     ok   secs")
    misses = 0
    for family, label, reps, run, kind, target in rows():
        if args.only and family != args.only:
            continue
        n = max(10, round(reps * args.scale))
        start = time.perf_counter()
        hits = sum(run(10_000 + i) for i in range(n))
        secs = time.perf_counter() - start
        lo, hi = wilson(hits, n)
        if kind == "max":
            ok, goal = lo <= target, f"<= {target:.0%}"
        elif kind == "min":
            ok, goal = hi >= target, f">= {target:.0%}"
        else:
            ok, goal = True, "(shown)"
        misses += not ok
        print(f"{family:9} {label[:90]:90} {n:5d} {hits / n:9.1%} {lo:6.1%}-{hi:6.1%}  {goal:9}  "
              f"{'yes' if ok else 'NO':3} {secs:6.1f}", flush=True)
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
