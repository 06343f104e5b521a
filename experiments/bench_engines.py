"""The array engine against the Mesa engine on one scenario, measured in one process (issue 13).

    python experiments/bench_engines.py [--smoke] [--repeats K] [--json PATH] [--scenario PATH] [--set KEY=VALUE]

Prints a table and, with --json PATH, writes the figures as JSON (an existing file is replaced only if a bordersim
benchmark wrote it: experiments/bench_output.py). Each timing is the median
of K repeats (default 5; --smoke: 2 on a tiny toy run), the two engines alternating within one process, so that
their ratio is measured under the same load. Figures:

- agents_run_s, arrays_run_s: one run of the scenario (default scenarios/korea.yaml, its whole horizon):
  building the model (the population at home included), stepping through the horizon and making the RunResult
  in memory (no files written); speed_ratio = agents_run_s / arrays_run_s.
- arrays_run_cached_s, speed_ratio_cached: the same run right after another with the same home population, which
  the array engine then takes from its per-process cache (`sim.engine.arrays.homes`): the run of an ensemble
  whose points share the seed. arrays_run_s clears the cache first (the population drawn in the run).
- arrays_build_s, arrays_step_s, arrays_result_s: the array engine's run split into building the model (route
  graph, population, initial stock), the steps, and the RunResult.
- arrays_migrant_events_per_s: events handled by the array engine (a migrant set out or placed, a crossing
  ended, a wait ended, an arrest) per second of its steps (arrays_step_s, which includes the home population's
  departures).
- bytes_per_migrant_arrays: bytes of the migrant table's columns per row (sim.engine.arrays.table);
  bytes_per_migrant_arrays_allocated: the table's allocated bytes (grown by doubling) per row alive at the peak.
- docked: whether the two engines' summaries were equal in every repeat (tests/test_docking.py checks the files).
- arrays_runs_per_s (batch), arrays_runs_per_s_2_workers: a batch of B runs of the scenario with the array
  engine (seeds 1..B; default B = 64, --batch), one after another in this process, and on 2 worker processes
  (forkserver, the engine imported before the clock starts, as a sweep's workers do): B / wall time.

Targets of issue 13 (in the table): speed_ratio >= 30 for Korea; bytes per migrant <= 200.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from bench_output import check_json_target, positive, run_script, write_json

from sim.engine.arrays import homes
from sim.engine.arrays.model import ArrayModel
from sim.engine.arrays.table import COLUMNS
from sim.engine.mesa.model import BorderModel
from sim.loading import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def time_agents(sc) -> tuple[float, dict]:
    t0 = time.perf_counter()
    result = BorderModel(sc).run()
    return time.perf_counter() - t0, result.summary()


def time_arrays(sc, cold: bool = True) -> tuple[dict[str, float], dict, ArrayModel]:
    if cold:
        homes.clear()  # the home population drawn in the run, as in a fresh process
    t0 = time.perf_counter()
    model = ArrayModel(sc)
    t1 = time.perf_counter()
    for t in range(len(model.dates)):
        model.step(t)
    t2 = time.perf_counter()
    result = model.result()
    t3 = time.perf_counter()
    return {"run": t3 - t0, "build": t1 - t0, "step": t2 - t1, "result": t3 - t2}, result.summary(), model


def batch_run(args: tuple) -> int:
    """One run of a batch in a worker: (scenario, seed) -> arrivals (a number to return, not the result)."""
    from sim.engine.arrays import run

    sc, seed = args
    return run(sc, seed=seed).totals()["arrived"]


def time_batch(sc, batch: int, workers: int) -> float:
    """Runs per second of `batch` array-engine runs (seeds 1..batch) in this process (workers 1) or on `workers`
    forkserver processes started (and warmed with one run each) before the clock starts."""
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    jobs = [(sc, seed) for seed in range(1, batch + 1)]
    if workers == 1:
        t0 = time.perf_counter()
        for job in jobs:
            batch_run(job)
        return batch / (time.perf_counter() - t0)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.engine.arrays"])
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        list(pool.map(batch_run, [(sc, 0)] * workers))  # start and warm the workers
        t0 = time.perf_counter()
        list(pool.map(batch_run, jobs))
        return batch / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="a tiny toy run, for the test suite")
    ap.add_argument("--repeats", type=positive(int), default=None,
                    help="runs of each engine, alternating; each figure is their median (default 5; smoke 2)")
    ap.add_argument("--json", metavar="PATH", default=None, help="write the figures as JSON here (default: none)")
    ap.add_argument("--scenario", metavar="PATH", default=None,
                    help="the scenario run (default scenarios/korea.yaml; smoke scenarios/toy.yaml)")
    ap.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="sets",
                    help="override a scenario value, as `bordersim run --set` (repeatable; smoke default "
                         "population.size=2000)")
    ap.add_argument("--batch", type=positive(int), default=None, help="runs in the batch figures (default 64; smoke 4)")
    args = ap.parse_args(argv)
    check_json_target(args.json)  # before anything is measured
    if args.smoke:
        path = args.scenario or str(ROOT / "scenarios" / "toy.yaml")
        sets = args.sets or ["population.size=2000"]
        repeats = args.repeats or 2
        batch = args.batch or 4
    else:
        batch = args.batch or 64
        path = args.scenario or str(ROOT / "scenarios" / "korea.yaml")
        sets = args.sets
        repeats = args.repeats or 5
    sc = load_scenario(path, overrides=sets or None)
    agents, arrays, cached, docked = [], [], [], True
    model = None
    for _ in range(repeats):
        a_s, a_sum = time_agents(sc)
        r, r_sum, model = time_arrays(sc)
        c, c_sum, _ = time_arrays(sc, cold=False)
        agents.append(a_s)
        arrays.append(r)
        cached.append(c["run"])
        docked = docked and a_sum == r_sum == c_sum
    assert model is not None
    per_s_1 = time_batch(sc, batch, 1)
    per_s_2 = time_batch(sc, batch, 2)
    med = {k: statistics.median(x[k] for x in arrays) for k in arrays[0]}
    agents_s = statistics.median(agents)
    tab = model.tab
    allocated = sum(getattr(tab, name).nbytes for name in COLUMNS)
    report = {
        "agents_run_s": agents_s,
        "arrays_run_s": med["run"],
        "speed_ratio": agents_s / med["run"],
        "arrays_run_cached_s": statistics.median(cached),
        "speed_ratio_cached": agents_s / statistics.median(cached),
        "arrays_build_s": med["build"],
        "arrays_step_s": med["step"],
        "arrays_result_s": med["result"],
        "arrays_migrant_events_per_s": model.events / med["step"],
        "arrays_events": model.events,
        "bytes_per_migrant_arrays": tab.bytes_per_row(),
        "bytes_per_migrant_arrays_allocated": allocated / max(tab.peak, 1),
        "peak_migrants": tab.peak,
        "docked": docked,
        "arrays_runs_per_s": per_s_1,
        "arrays_runs_per_s_2_workers": per_s_2,
        "meta": {"batch": batch, "mode": "smoke" if args.smoke else "full", "scenario": path, "sets": sets,
                 "repeats": repeats,
                 "agents_runs_s": agents, "arrays_runs_s": [x["run"] for x in arrays],
                 "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                 "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "platform": platform.platform(),
                             "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}},
    }
    rows = [
        ("agents_run_s (Mesa engine, one run)", f"{agents_s:.3f}", ""),
        ("arrays_run_s (array engine, one run)", f"{med['run']:.3f}",
         f"build {med['build']:.3f} + steps {med['step']:.3f} + result {med['result']:.3f}"),
        ("speed_ratio = agents / arrays", f"{report['speed_ratio']:.1f}x", "target >= 30 (Korea)"),
        ("arrays_run_cached_s (home population cached)", f"{report['arrays_run_cached_s']:.3f}",
         f"{report['speed_ratio_cached']:.1f}x the Mesa engine"),
        ("arrays_migrant_events_per_s", f"{report['arrays_migrant_events_per_s']:.3g}",
         f"{model.events:,} events"),
        ("bytes_per_migrant_arrays", f"{tab.bytes_per_row()}",
         f"allocated {report['bytes_per_migrant_arrays_allocated']:.0f} per row at the peak; target <= 200"),
        ("docked (summaries equal)", str(docked), ""),
        ("arrays_runs_per_s, one process", f"{per_s_1:.3g}", f"batch of {batch} runs"),
        ("arrays_runs_per_s, 2 workers", f"{per_s_2:.3g}",
         f"batch of {batch} runs; target >= 20 (Korea)"),
    ]
    width = max(len(r[0]) for r in rows)
    if args.smoke:
        print("SMOKE MODE: a tiny toy run; the figures check that the script works and mean nothing")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")
    if args.json:
        write_json(args.json, report)
        print(f"wrote {args.json}")
    return 0 if docked else 1


if __name__ == "__main__":
    sys.exit(run_script(main))
