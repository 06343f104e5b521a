"""Benchmarks of the fast engine, each figure next to a reference measured in the same process (issue 6).

    python experiments/bench.py [--quick] [--smoke] [--json PATH] [--scenario PATH]

Prints a table and writes JSON. Every timed figure is the median of several repeats. Figures:

- home_person_steps_per_s: full runs of the scenario (default scenarios/korea.yaml, its whole horizon) at two
  sizes N1 < N2, as marginal cost: (N2 - N1) * steps / (median run time(N2) - median run time(N1)). The runs
  are whole runs, so the migrants the extra people produce are part of the marginal cost. Next to it
  numpy_ceiling_person_steps_per_s: one `rng.random(out=buf)` and one compare per person per step on
  preallocated arrays of the same two sizes, as the same marginal rate.
- migrant_steps_per_s: a model without home population (population=False); at step 1, M migrants are launched
  (`model.launch`) on candidate paths drawn uniformly among those usable by a random group and origin, and the
  model is stepped until all are done or the horizon ends. Migrant-steps = sum over steps of migrants in
  transit at the end of the step; time = launch + stepping. The engine is event-driven (a waiting migrant
  costs nothing until its next event), so migrant_events_per_s (due events processed + launches, per second)
  is reported too. Next to it mesa_empty_steps_per_s: `AgentSet.do("step")` on M Mesa agents with an empty
  step.
- naive_mesa_person_steps_per_s: `sim.engine.reference.NaiveBorderModel` (every person a Mesa agent, `shuffle_do`) at
  the naive size, over blocks of steps from the start of the horizon; the fast engine over the same blocks of
  the same scenario; person-steps = persons x steps for both; naive_speed_ratio = fast / naive.
- scaling: each size run once per repeat in a fresh child process (`python bench.py --child run N`), which
  reports build time, run time and its own peak resident set size (VmHWM from /proc/self/status, see
  `peak_rss_bytes`; it includes the interpreter and imported libraries, about 160 MB).
- peak_bytes_per_home_person: (peak RSS at the largest size - peak RSS at the middle size) / difference in
  persons. peak_bytes_per_migrant: the same between two child processes that launch M1 and M2 migrants at once
  (`--child migrants M`), measured right after launching, when all of them are alive.

Targets (pass/fail in the table and the JSON): home >= 0.5x the numpy ceiling; fast >= 50x naive;
migrants >= 1 M steps/s and >= 1/3 of Mesa's empty-step rate in the same process (the issue's rationale for
1 M); time and peak memory linear or better from the smallest to the largest size (log-log slope of every
segment <= 1.1); <= 100 B per home person; <= 2 KiB per migrant; the largest size within 2 GiB.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import functools
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_output import check_json_target, run_script, write_json

import mesa
import numpy as np

from sim.engine.mesa.model import BorderModel
from sim.rules.streams import journey_uniforms
from sim.engine.reference import NaiveBorderModel
from sim.loading import load_scenario, validate_dict
from sim.scenario.overrides import scenario_to_dict, without_mechanisms
from sim.scenario.schema import NODE_TARGETS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = ROOT / "scenarios" / "korea.yaml"

MODES = {
    # home: the two sizes of the marginal home rate; scaling: sizes run in child processes (the last two give
    # the bytes per home person); migrants: two counts launched at once; naive: persons and steps per timed
    # block; repeats: in-process repeats; child_repeats: child processes per size; max_migrant_steps: None =
    # until done or the horizon ends; parallel_children = 0: only where timings do not matter (smoke): the first
    # job runs in a child process (the child path is exercised), the others in this one (each child pays ~1.3 s of
    # CPU to import mesa and pandas, which was most of the smoke run's cost)
    "full": {"home": (1_000_000, 10_000_000), "scaling": (100_000, 1_000_000, 10_000_000),
             "migrants": (10_000, 100_000), "naive": 100_000, "naive_steps": 12, "repeats": 5,
             "ceiling_steps": 10, "empty_steps": 20, "max_migrant_steps": None, "child_repeats": 5,
             "parallel_children": 1},
    "quick": {"home": (1_000_000, 10_000_000), "scaling": (100_000, 1_000_000, 10_000_000),
              "migrants": (10_000, 100_000), "naive": 100_000, "naive_steps": 4, "repeats": 3,
              "ceiling_steps": 5, "empty_steps": 10, "max_migrant_steps": None, "child_repeats": 3,
              "parallel_children": 1},
    "smoke": {"home": (5_000, 50_000), "scaling": (5_000, 15_000, 50_000), "migrants": (300, 1_000),
              "naive": 500, "naive_steps": 2, "repeats": 1, "ceiling_steps": 2, "empty_steps": 3,
              "max_migrant_steps": 12, "child_repeats": 1, "parallel_children": 0},
}

TARGETS = {
    "home_vs_numpy_ceiling": (">=", 0.5),
    "naive_speed_ratio": (">=", 50.0),
    "migrant_steps_per_s": (">=", 1e6),
    "migrants_vs_mesa_empty": (">=", 1 / 3),
    "time_loglog_slope_max": ("<=", 1.1),
    "memory_loglog_slope_max": ("<=", 1.1),
    "peak_bytes_per_home_person": ("<=", 100.0),
    "peak_bytes_per_migrant": ("<=", 2048.0),
    "largest_run_peak_rss_bytes": ("<=", 2 * 1024**3),
}


# --------------------------------------------------------------------------------------------------- helpers
def scenario_at(path: Path, persons: int):
    """The scenario at `persons` people, with the rules both engines implement: the mechanisms the reference
    engine does not have (docs/model.md §9-14: repeats, initial stocks, chain migration, perception, death weight,
    nested choice, brokers, sex differences in transit) switched off, so that each figure is measured next to a
    reference running the same model."""
    data = copy.deepcopy(base_rules(path))
    data["population"]["size"] = persons
    return validate_dict(data, path=f"{path} (base rules)")


@functools.cache
def base_rules(path: Path) -> dict:
    """The scenario file as a dict with the mechanisms of `scenario_at` removed (read once per process: a benchmark
    asks for it at several sizes)."""
    data = scenario_to_dict(load_scenario(path))
    policies = []
    for policy in data["policies"]:
        if policy["select"].get("from_nodes"):  # a closed leg out of a transit node holds people (§14)
            continue
        for op in ("set", "scale"):
            policy[op] = {k: v for k, v in policy[op].items() if not k.startswith("brokers.")}
        if not any(k in NODE_TARGETS for op in ("set", "scale") for k in policy[op]):
            policy["select"]["nodes"] = []
        if policy["set"] or policy["scale"]:
            policies.append(policy)
    data["policies"] = policies
    return without_mechanisms(data)


def peak_rss_bytes() -> int:
    """Peak resident set size of this process's memory image: VmHWM from /proc/self/status on Linux.
    Not ru_maxrss: a child started by fork/vfork + exec inherits its parent's peak into ru_maxrss, so a child
    of a big parent would report the parent's peak. Elsewhere falls back to ru_maxrss (KiB on Linux, bytes on
    macOS)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def median(xs) -> float:
    return float(statistics.median(xs))


def child(args: list[str]) -> dict:
    """Run this script's child mode in a fresh interpreter and return the JSON it prints."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args],
                         capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"child {' '.join(args)} failed (exit {out.returncode}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------ child modes
def child_run(scenario: Path, persons: int) -> dict:
    """Build and run the whole horizon once; report times and this process's peak RSS."""
    sc = scenario_at(scenario, persons)
    t0 = time.perf_counter()
    model = BorderModel(sc)
    t1 = time.perf_counter()
    result = model.run()
    t2 = time.perf_counter()
    return {"persons": persons, "steps": len(result.dates), "build_s": t1 - t0, "run_s": t2 - t1,
            "wall_s": t2 - t0, "peak_rss_bytes": peak_rss_bytes(), "set_out": result.totals()["set_out"],
            "population_array_bytes": model.population.nbytes()}


def child_migrants(scenario: Path, count: int) -> dict:
    """Launch `count` migrants at once and report the peak RSS with all of them alive."""
    model, plan = migrant_model(scenario, count, seed=1)
    launch_all(model, plan)
    return {"migrants": count, "alive": len(model.agents), "peak_rss_bytes": peak_rss_bytes()}


# ------------------------------------------------------------------------------------------------- home
def numpy_ceiling(sizes: tuple[int, int], steps: int, repeats: int) -> dict:
    """Seconds per step of one uniform draw and one compare per person, on preallocated arrays."""
    rng = np.random.default_rng(0)
    per_step = {}
    for n in sizes:
        buf, mask = np.empty(n), np.empty(n, dtype=bool)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(steps):
                rng.random(out=buf)
                np.less(buf, 1e-3, out=mask)
            times.append((time.perf_counter() - t0) / steps)
        per_step[n] = median(times)
        del buf, mask
    n1, n2 = sizes
    return {"seconds_per_step": {str(n): per_step[n] for n in sizes},
            "person_steps_per_s": (n2 - n1) / (per_step[n2] - per_step[n1]),
            "person_steps_per_s_at": {str(n): n / per_step[n] for n in sizes}}


def home_rate(runs: dict[int, list[dict]], sizes: tuple[int, int]) -> dict:
    """Marginal person-steps per second between two sizes, from the median run (and build) times."""
    n1, n2 = sizes
    steps = runs[n1][0]["steps"]
    run = {n: median([r["run_s"] for r in runs[n]]) for n in sizes}
    build = {n: median([r["build_s"] for r in runs[n]]) for n in sizes}
    return {"steps": steps, "median_run_s": {str(n): run[n] for n in sizes},
            "median_build_s": {str(n): build[n] for n in sizes},
            "person_steps_per_s": (n2 - n1) * steps / (run[n2] - run[n1]),
            "build_ns_per_person": 1e9 * (build[n2] - build[n1]) / (n2 - n1),
            "set_out": {str(n): median([r["set_out"] for r in runs[n]]) for n in sizes}}


class HomeOnlyModel(BorderModel):
    """The fast engine with departures decided and counted but no Migrant created: the home engine alone."""

    def launch(self, person: int, group: int, female: bool, path_index: int, t: int,
               draws: list[float] | None = None, means: float = 0.0) -> None:
        self.ledger.set_out(self.graph.paths[path_index].route, group)


def home_only(scenario: Path, sizes: tuple[int, int], repeats: int) -> dict:
    """Marginal person-steps per second of the home engine alone (thinning, choice; no migrants)."""
    run: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(repeats):
        for n in sizes:
            model = HomeOnlyModel(scenario_at(scenario, n))
            t0 = time.perf_counter()
            model.run()
            run[n].append(time.perf_counter() - t0)
            steps = len(model.dates)
            del model
    n1, n2 = sizes
    med = {n: median(run[n]) for n in sizes}
    return {"median_run_s": {str(n): med[n] for n in sizes},
            "person_steps_per_s": (n2 - n1) * steps / (med[n2] - med[n1])}


# ---------------------------------------------------------------------------------------------- migrants
def migrant_model(scenario: Path, count: int, seed: int):
    """A model with no home population, stepped once (policies in force), and a plan of `count` launches:
    group by share, origin by the group's weights, path uniform among the usable ones."""
    sc = scenario_at(scenario, 1)
    model = BorderModel(sc, rng=seed, population=False)
    model.step()
    rng = np.random.default_rng(seed)
    pop = sc.population
    strata = []
    for g, grp in enumerate(pop.groups):
        weights = grp.origins if grp.origins is not None else pop.origins
        for o, w in weights.items():
            paths = model.stratum_paths(model.graph.node_index[o], g)
            if w > 0 and paths.size:
                strata.append((g, grp.share * w / sum(weights.values()), paths))
    p = np.array([s[1] for s in strata])
    pick = rng.choice(len(strata), size=count, p=p / p.sum())
    u = rng.random(count)
    female = rng.random(count) < 0.5
    plan = []
    for i, (k, ui) in enumerate(zip(pick.tolist(), u.tolist())):
        g, _, paths = strata[k]
        plan.append((i, g, bool(female[i]), int(paths[int(ui * paths.size)])))
    return model, plan


def launch_all(model: BorderModel, plan: list) -> None:
    """Launch the plan at the step about to run, the journeys' keyed uniforms drawn for all at once as a run's
    departures draw them (`BorderModel._departures`): one at a time, numpy's per-call cost on arrays of one
    person (about 50 us) was most of what this figure measured."""
    t = model.steps  # the step about to run
    persons = np.array([p[0] for p in plan], dtype=np.int64)
    draws = journey_uniforms(model.key, persons, t, model.graph.max_legs).tolist()
    for (person, group, female, path), u in zip(plan, draws):
        model.launch(person, group, female, path, t, u)


def migrant_run(scenario: Path, count: int, seed: int, max_steps: int | None) -> dict:
    model, plan = migrant_model(scenario, count, seed)
    horizon = len(model.dates)
    last = horizon if max_steps is None else min(horizon, model.steps + max_steps)
    due = getattr(model, "_due", None)  # the model's event lists, peeked at to count events
    events = count
    migrant_steps = 0
    t0 = time.perf_counter()
    launch_all(model, plan)
    t1 = time.perf_counter()
    while model.steps < last:
        t = model.steps
        if due is not None:
            events += len(due.get(t, ()))
        model.step()
        alive = int(model.ledger.in_transit[t].sum())
        migrant_steps += alive
        if alive == 0:
            break
    t2 = time.perf_counter()
    return {"launch_s": t1 - t0, "step_s": t2 - t1, "total_s": t2 - t0, "steps": model.steps - 1,
            "migrant_steps": migrant_steps, "events": events if due is not None else None,
            "left_in_transit": int(model.ledger.in_transit[model.steps - 1].sum())}


def mesa_empty(count: int, steps: int, repeats: int) -> dict:
    """Agent-steps per second of Mesa's AgentSet.do (and shuffle_do) on an empty step method."""

    class Empty(mesa.Agent):
        def step(self) -> None:
            pass

    model = mesa.Model(rng=0)
    for _ in range(count):
        Empty(model)
    out = {}
    for name in ("do", "shuffle_do"):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(steps):
                getattr(model.agents, name)("step")
            times.append(time.perf_counter() - t0)
        out[name] = count * steps / median(times)
    return out


def bench_migrants(scenario: Path, cfg: dict) -> dict:
    out = {}
    for m in cfg["migrants"]:
        runs = [migrant_run(scenario, m, seed=r + 1, max_steps=cfg["max_migrant_steps"])
                for r in range(cfg["repeats"])]
        t = median([r["total_s"] for r in runs])
        steps = median([r["migrant_steps"] for r in runs])
        events = median([r["events"] for r in runs]) if runs[0]["events"] is not None else None
        empty = mesa_empty(m, cfg["empty_steps"], cfg["repeats"])
        out[str(m)] = {
            "migrant_steps_per_s": median([r["migrant_steps"] / r["total_s"] for r in runs]),
            "migrant_events_per_s": (median([r["events"] / r["total_s"] for r in runs])
                                     if events is not None else None),
            "median_total_s": t, "median_launch_s": median([r["launch_s"] for r in runs]),
            "us_per_migrant": 1e6 * t / m,
            "median_migrant_steps": steps, "median_events": events, "steps": runs[0]["steps"],
            "left_in_transit": runs[0]["left_in_transit"],
            "mesa_empty_steps_per_s": empty["do"], "mesa_empty_shuffle_steps_per_s": empty["shuffle_do"],
        }
    return out


# ------------------------------------------------------------------------------------------------- naive
def stepping_rate(model, persons: int, steps: int, repeats: int) -> dict:
    """Person-steps per second over `repeats` consecutive blocks of `steps` steps of one model."""
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            model.step()
        rates.append(persons * steps / (time.perf_counter() - t0))
    return {"person_steps_per_s": median(rates), "blocks": rates}


def bench_naive(scenario: Path, cfg: dict) -> dict:
    n, steps, reps = cfg["naive"], cfg["naive_steps"], cfg["repeats"]
    sc = scenario_at(scenario, n)
    t0 = time.perf_counter()
    naive = NaiveBorderModel(sc, rng=1)
    build_naive = time.perf_counter() - t0
    naive_rate = stepping_rate(naive, n, steps, reps)
    del naive
    t0 = time.perf_counter()
    fast = BorderModel(sc, rng=1)
    build_fast = time.perf_counter() - t0
    fast_rate = stepping_rate(fast, n, steps, reps)
    return {"persons": n, "steps_per_block": steps, "naive": naive_rate, "fast": fast_rate,
            "build_s": {"naive": build_naive, "fast": build_fast},
            "speed_ratio": fast_rate["person_steps_per_s"] / naive_rate["person_steps_per_s"]}


# ------------------------------------------------------------------------------------------- scaling
def run_children(jobs: list[list[str]], parallel: int) -> list[dict]:
    """Child processes one after another (timings), `parallel` at a time, or (parallel 0, smoke mode: keys only)
    the first in a child process and the rest in this one, through the same JSON."""
    if parallel == 0:
        return [child(job) if k == 0 else json.loads(json.dumps(child_job(job))) for k, job in enumerate(jobs)]
    if parallel == 1:
        return [child(job) for job in jobs]
    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(child, jobs))


def child_job(job: list[str]) -> dict:
    """What `--child KIND SCENARIO N` computes: a whole run (`run`) or `N` migrants at once (`migrants`)."""
    kind, scenario, n = job
    fn = child_run if kind == "run" else child_migrants
    return fn(Path(scenario), int(n))


def bench_runs(scenario: Path, cfg: dict) -> dict[int, list[dict]]:
    """Full runs in fresh child processes, sizes interleaved within each repeat."""
    sizes = sorted(set(cfg["scaling"]) | set(cfg["home"]))
    jobs = [["run", str(scenario), str(n)] for _ in range(cfg["child_repeats"]) for n in sizes]
    runs: dict[int, list[dict]] = {n: [] for n in sizes}
    for res in run_children(jobs, cfg["parallel_children"]):
        runs[res["persons"]].append(res)
    return runs


def loglog_slopes(xs: list[float], ys: list[float]) -> list[float]:
    return [math.log(ys[i + 1] / ys[i]) / math.log(xs[i + 1] / xs[i]) for i in range(len(xs) - 1)]


def scaling_table(runs: dict[int, list[dict]], sizes: tuple[int, ...]) -> dict:
    rows = [{"persons": n, "wall_s": median([r["wall_s"] for r in runs[n]]),
             "run_s": median([r["run_s"] for r in runs[n]]),
             "peak_rss_bytes": median([r["peak_rss_bytes"] for r in runs[n]])} for n in sizes]
    xs = [r["persons"] for r in rows]
    return {"rows": rows,
            "time_loglog_slopes": loglog_slopes(xs, [r["wall_s"] for r in rows]),
            "memory_loglog_slopes": loglog_slopes(xs, [r["peak_rss_bytes"] for r in rows])}


# ------------------------------------------------------------------------------------------------ report
def check_targets(values: dict) -> dict:
    out = {}
    for name, (op, bound) in TARGETS.items():
        v = values.get(name)
        ok = v is not None and (v >= bound if op == ">=" else v <= bound)
        out[name] = {"value": v, "target": f"{op} {bound:g}", "pass": bool(ok)}
    return out


def fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float) and (abs(v) >= 1e4 or 0 < abs(v) < 1e-2):
        return f"{v:.3g}"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def table(report: dict) -> str:
    r = report
    mig = r["migrants"]
    big = str(max(int(k) for k in mig))
    meta = r["meta"]
    lines = [(f"bordersim benchmark ({meta['mode']}), {meta['date']}, {meta['machine']['cpus']} cpus, "
              f"scenario {meta['scenario']}"), ""]
    if r["meta"]["mode"] == "smoke":
        lines += ["  SMOKE MODE: tiny sizes, the first job of each batch in a child process and the others in this",
                  "  one (not fresh processes); the figures and targets mean nothing.", ""]
    rows = [
        ("home_person_steps_per_s (marginal, full horizon)", r["home_person_steps_per_s"],
         "numpy_ceiling_person_steps_per_s", r["numpy_ceiling_person_steps_per_s"]),
        ("  of which home engine alone (no migrants)", r["home_only_person_steps_per_s"], "", None),
    ]
    for m in sorted(mig, key=int):
        rows.append((f"migrant_steps_per_s at {m}", mig[m]["migrant_steps_per_s"],
                     "mesa_empty_steps_per_s", mig[m]["mesa_empty_steps_per_s"]))
        rows.append((f"migrant_events_per_s at {m}", mig[m]["migrant_events_per_s"],
                     "mesa_empty shuffle_do", mig[m]["mesa_empty_shuffle_steps_per_s"]))
    rows.append((f"fast engine person-steps/s at {r['naive']['persons']}",
                 r["naive"]["fast"]["person_steps_per_s"],
                 "naive_mesa_person_steps_per_s", r["naive_mesa_person_steps_per_s"]))
    w = max(len(a) for a, *_ in rows)
    w2 = max(len(c) for _, _, c, _ in rows)
    for a, b, c, d in rows:
        ref = f"{c:<{w2}}  {fmt(d):>10}" if c else ""
        lines.append(f"  {a:<{w}}  {fmt(b):>10}    {ref}".rstrip())
    lines += ["", "  scaling (fresh process each; peak RSS includes the interpreter and libraries):",
              f"  {'persons':>12} {'wall s':>8} {'run s':>8} {'peak MB':>9}"]
    for row in r["scaling"]["rows"]:
        lines.append(f"  {row['persons']:>12,} {row['wall_s']:>8.2f} {row['run_s']:>8.2f} "
                     f"{row['peak_rss_bytes'] / 2**20:>9.1f}")
    lines += ["", (f"  peak_bytes_per_home_person {fmt(r['peak_bytes_per_home_person'])}   "
                   f"peak_bytes_per_migrant {fmt(r['peak_bytes_per_migrant'])}   "
                   f"(population arrays {fmt(r['population_array_bytes_per_person'])} B/person; "
                   f"{fmt(mig[big]['us_per_migrant'])} us per migrant at {big})"), "", "  targets:"]
    for name, t in r["targets"].items():
        verdict = "PASS" if t["pass"] else "FAIL"
        lines.append(f"    {verdict}  {name:<28} {fmt(t['value']):>10}  (target {t['target']})")
    return "\n".join(lines)


def machine() -> dict:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor(),
            "python": platform.python_version(), "numpy": np.__version__, "mesa": mesa.__version__}


def benchmark(mode: str, scenario: Path) -> dict:
    cfg = MODES[mode]
    started = dt.datetime.now().isoformat(timespec="seconds")
    sections: dict[str, float] = {}

    def timed(name, fn, *a):
        t0 = time.perf_counter()
        out = fn(*a)
        sections[name] = time.perf_counter() - t0
        return out

    ceiling = timed("numpy_ceiling", numpy_ceiling, cfg["home"], cfg["ceiling_steps"], cfg["repeats"])
    home_alone = timed("home_only", home_only, scenario, cfg["home"], cfg["repeats"])
    migrants = timed("migrants", bench_migrants, scenario, cfg)
    naive = timed("naive", bench_naive, scenario, cfg)
    runs = timed("full_runs", bench_runs, scenario, cfg)
    home = home_rate(runs, cfg["home"])
    scaling = scaling_table(runs, cfg["scaling"])
    m1, m2 = cfg["migrants"]
    jobs = [["migrants", str(scenario), str(m)] for _ in range(cfg["child_repeats"]) for m in (m1, m2)]
    mem: dict[int, list[dict]] = {m1: [], m2: []}
    t0 = time.perf_counter()
    for res in run_children(jobs, cfg["parallel_children"]):
        mem[res["migrants"]].append(res)
    sections["migrant_memory"] = time.perf_counter() - t0
    rss = {m: median([x["peak_rss_bytes"] for x in mem[m]]) for m in mem}
    mid, top = cfg["scaling"][-2:]
    rss_run = {row["persons"]: row["peak_rss_bytes"] for row in scaling["rows"]}
    report = {
        "meta": {"mode": mode, "command": " ".join(["python", "experiments/bench.py", *sys.argv[1:]]),
                 "date": started, "machine": machine(),
                 "scenario": str(scenario.relative_to(ROOT) if scenario.is_relative_to(ROOT) else scenario),
                 "config": cfg, "section_seconds": sections,
                 "memory_method": "VmHWM (peak RSS) of a fresh child process, read from /proc/self/status"},
        "home_person_steps_per_s": home["person_steps_per_s"],
        "numpy_ceiling_person_steps_per_s": ceiling["person_steps_per_s"],
        "home_only_person_steps_per_s": home_alone["person_steps_per_s"],
        "home": home, "home_only": home_alone, "numpy_ceiling": ceiling,
        "migrant_steps_per_s": migrants[str(m2)]["migrant_steps_per_s"],
        "migrant_events_per_s": migrants[str(m2)]["migrant_events_per_s"],
        "mesa_empty_steps_per_s": migrants[str(m2)]["mesa_empty_steps_per_s"],
        "migrants": migrants,
        "naive_mesa_person_steps_per_s": naive["naive"]["person_steps_per_s"],
        "fast_person_steps_per_s_at_naive_size": naive["fast"]["person_steps_per_s"],
        "naive_speed_ratio": naive["speed_ratio"], "naive": naive,
        "scaling": scaling,
        "peak_bytes_per_home_person": (rss_run[top] - rss_run[mid]) / (top - mid),
        "peak_bytes_per_migrant": (rss[m2] - rss[m1]) / (m2 - m1),
        "migrant_memory": {str(m): mem[m] for m in mem},
        "largest_run_peak_rss_bytes": rss_run[top],
        "population_array_bytes_per_person": runs[top][0]["population_array_bytes"] / top,
    }
    report["targets"] = check_targets({
        "home_vs_numpy_ceiling": (report["home_person_steps_per_s"]
                                  / report["numpy_ceiling_person_steps_per_s"]),
        "naive_speed_ratio": report["naive_speed_ratio"],
        "migrant_steps_per_s": report["migrant_steps_per_s"],
        "migrants_vs_mesa_empty": report["migrant_steps_per_s"] / report["mesa_empty_steps_per_s"],
        "time_loglog_slope_max": max(scaling["time_loglog_slopes"]),
        "memory_loglog_slope_max": max(scaling["memory_loglog_slopes"]),
        "peak_bytes_per_home_person": report["peak_bytes_per_home_person"],
        "peak_bytes_per_migrant": report["peak_bytes_per_migrant"],
        "largest_run_peak_rss_bytes": report["largest_run_peak_rss_bytes"],
    })
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="the same figures with fewer repeats (under 2 minutes)")
    mode.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI): keys, not targets")
    ap.add_argument("--json", type=Path, help="write the full report as JSON here")
    ap.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO,
                    help="scenario file (default scenarios/korea.yaml)")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "SCENARIO", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child_job(args.child)))
        return 0
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    check_json_target(args.json)
    report = benchmark(mode, args.scenario.resolve())
    print(table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
