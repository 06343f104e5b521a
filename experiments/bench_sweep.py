"""Sweep engine benchmark: results-store overhead and parallel efficiency.

    python experiments/bench_sweep.py [--smoke] [--repeats 3] [--runs 12] [--json PATH]

Runs are the toy scenario with a population sized so that one run takes about `--target` seconds (a pilot
measures it). Figures (medians of `--repeats` repeats, measured in this process):

- store_overhead: time the parent spends writing one run's record and time series (SweepStore.record), divided by
  the mean run time; target < 5%;
- parallel_efficiency: T(1 worker) / (2 x T(2 workers)) for the same sweep, wall clock including pool start-up;
  target >= 85% with 2 workers.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_output import check_json_target, positive, run_script, write_json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.experiments.design import build_runs  # noqa: E402
from sim.experiments.spec import load_spec  # noqa: E402
from sim.experiments.store import SweepStore  # noqa: E402
from sim.experiments.sweep import plan, run_sweep  # noqa: E402
from sim.experiments.task import execute  # noqa: E402

SPEC = """
name: bench_sweep
scenario: {scenario}
parameters:
  population.size: [{size}]
  network.edges.dmz.controls.mines: {mines}
replicates: {replicates}
seed: 11
outputs: {{keep: [totals, by_route, by_year], timeseries: true}}
"""


def write_spec(tmp: Path, size: int, runs: int) -> Path:
    points = max(1, runs // 2)
    mines = [round(0.1 * i, 3) for i in range(points)]
    path = tmp / f"spec-{size}-{runs}.yaml"
    path.write_text(SPEC.format(scenario=ROOT / "scenarios" / "toy.yaml", size=size, mines=mines,
                                replicates=max(1, runs // points)))
    return path


def time_one(spec: Path) -> float:
    ls = load_spec(spec)
    run = build_runs(ls)[0]
    t0 = time.perf_counter()
    execute(run.run_id, ls.base_dict, run.point.overrides(ls.spec), run.seed, ["totals"], False)
    return time.perf_counter() - t0


def _measure(tmp: Path, args: argparse.Namespace):
    """The runs in the scratch directory `tmp`: the walls of the sweeps by worker count, the population size, the
    plan, the median run time and the median store record time."""
    size, refinements = (20_000, 1) if args.smoke else (200_000, 3)
    for _ in range(refinements):  # run time is not proportional to size (fixed costs): refine the size a few times
        per = time_one(write_spec(tmp, size, 2))
        size = max(1000, min(50_000_000, int(size * args.target / max(per, 1e-3))))
    spec = write_spec(tmp, size, args.runs)
    p = plan(spec)

    # store overhead: record real outputs of this sweep's runs
    ls = p.spec
    outputs = [execute(r.run_id, ls.base_dict, r.point.overrides(ls.spec), r.seed, list(ls.spec.outputs.keep), True)
               for r in p.runs[: min(3, len(p.runs))]]
    run_time = statistics.median(o.wall_time for o in outputs)
    store = SweepStore.open(tmp / "store", ls)
    record_times = []
    for _ in range(max(3, args.repeats)):
        for r, o in zip(p.runs, outputs):
            t0 = time.perf_counter()
            store.record(r, o)
            record_times.append(time.perf_counter() - t0)
    record = statistics.median(record_times)

    # untimed: a first sweep starts the forkserver (importing the engine), which only the first timed sweep paid
    # (the smoke run measured a parallel efficiency of 154%)
    run_sweep(plan(write_spec(tmp, size, 2)), tmp / "warm-up", workers=2)
    walls = {1: [], 2: []}
    for rep in range(args.repeats):
        for workers in (1, 2):
            out = tmp / f"sweep-{workers}-{rep}"
            t0 = time.perf_counter()
            run_sweep(p, out, workers=workers)
            walls[workers].append(time.perf_counter() - t0)
    return walls, size, p, run_time, record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="seconds-long check that the script works (CI)")
    ap.add_argument("--repeats", type=positive(int), default=3, help="timed sweeps per worker count (default 3)")
    ap.add_argument("--runs", type=positive(int), default=12, help="runs per sweep (default 12)")
    ap.add_argument("--target", type=positive(float), default=1.0,
                    help="seconds a run should take; the population size is fitted to it (default 1.0)")
    ap.add_argument("--json", metavar="PATH", help="write the figures as JSON here (default: none)")
    args = ap.parse_args(argv)
    check_json_target(args.json)  # before anything is measured
    if args.smoke:
        args.repeats, args.runs, args.target = 1, 4, 0.05

    with tempfile.TemporaryDirectory(prefix="bench_sweep.") as scratch:  # removed at the end, or on Ctrl-C
        walls, size, p, run_time, record = _measure(Path(scratch), args)
    t1, t2 = statistics.median(walls[1]), statistics.median(walls[2])
    efficiency = t1 / (2 * t2)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "mode": "smoke" if args.smoke else "full",
        "runs_per_sweep": len(p.runs),
        "population_size": size,
        "run_seconds_median": run_time,
        "store_record_seconds_median": record,
        "store_overhead_fraction": record / run_time,
        "sweep_seconds_1_worker_median": t1,
        "sweep_seconds_2_workers_median": t2,
        "parallel_efficiency_2_workers": efficiency,
        "targets": {"store_overhead_below_5pct": record / run_time < 0.05,
                    "parallel_efficiency_at_least_85pct": efficiency >= 0.85},
    }
    rows = [
        ("run time (median)", f"{run_time:.3f} s", ""),
        ("store record per run (median)", f"{record * 1000:.1f} ms", ""),
        ("store overhead", f"{100 * record / run_time:.2f} %", "< 5 %"),
        ("sweep, 1 worker (median)", f"{t1:.2f} s", f"{len(p.runs)} runs"),
        ("sweep, 2 workers (median)", f"{t2:.2f} s", ""),
        ("parallel efficiency, 2 workers", f"{100 * efficiency:.1f} %", ">= 85 %"),
    ]
    if args.smoke:
        print("SMOKE MODE: one repeat of a few tiny runs; the figures check that the script works and mean nothing")
    print(f"{'figure':34} {'value':>12}  target")
    for name, value, target in rows:
        print(f"{name:34} {value:>12}  {target}")
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
