"""Runs of one seed under scenarios that differ only in their policies: the steps they share are taken once.

A policy package in an effects analysis or a `policies` sweep changes policies from some date on; under common
random numbers (one seed, keyed draws) its run is identical to the run of the first scenario until the first step
at which the policies in force differ (`sim.rules.policies.divergence_step`). `run_branches` takes the first
scenario's run (the trunk) step by step and, at each other scenario's divergence step, copies the trunk's state
and goes on under that scenario (`ArrayModel.fork`): the same files as separate runs, at the cost of the steps
after the divergence. With packages from 2026 on a 1998-2030 horizon, four runs cost about 1.5 runs' steps.

Only the array engine forks; with the Mesa engine (`agents`), the runs are made one after another.
"""

from __future__ import annotations

import time

from sim.engine.engines import run
from sim.engine.ledger import RunResult
from sim.rules.policies import divergence_step
from sim.scenario.schema import Scenario


def run_branches(scenarios: list[Scenario], seed: int, engine: str) -> tuple[list[RunResult], list[float]]:
    """(the RunResult of each scenario run with `seed`, the wall seconds each took: the trunk its own steps, a
    branch the copy and its steps after the divergence). Equal to `[run(s, seed, engine=engine) for s in
    scenarios]`, file for file."""
    if engine != "arrays" or len(scenarios) < 2:
        results, seconds = [], []
        for s in scenarios:
            t0 = time.perf_counter()
            results.append(run(s, seed=seed, engine=engine))
            seconds.append(time.perf_counter() - t0)
        return results, seconds
    from sim.engine.arrays.model import ArrayModel

    trunk = scenarios[0]
    starts = {i: divergence_step(trunk, s) for i, s in enumerate(scenarios) if i > 0}
    out: list[RunResult | None] = [None] * len(scenarios)
    seconds = [0.0] * len(scenarios)
    t0 = time.perf_counter()
    model = ArrayModel(trunk, rng=seed)
    steps = len(model.dates)

    def branch(i: int, t: int) -> None:
        nonlocal t0
        b0 = time.perf_counter()
        seconds[0] += b0 - t0
        if t == 0:
            out[i] = ArrayModel(scenarios[i], rng=seed).run()
        else:
            out[i] = model.fork(scenarios[i], t).run(start=t)
        t0 = time.perf_counter()
        seconds[i] = t0 - b0

    for t in range(steps):
        for i, start in starts.items():
            if start == t:
                branch(i, t)
        model.step(t)
    for i, start in starts.items():
        if start >= steps:  # the same dynamics over the whole horizon (only the scenario text differs)
            branch(i, steps)
    out[0] = model.result()
    seconds[0] += time.perf_counter() - t0
    results = [r for r in out if r is not None]
    assert len(results) == len(scenarios)
    return results, seconds
