"""What a worker does for one run: build the point's scenario, run it, reduce the result to kept outcomes.

Runs in worker processes (local pool or Dask), so it takes and returns only plain picklable data. An error in the
run itself is caught and returned as a failed run with its message and its kind: "input" when the point's values
are bad (an `InputError`, exit 2 of the sweep), "internal" for anything else (a failure of ours, exit 1). The sweep
checks every point with `point_scenario` before the first run, so a bad value is normally refused up front.
"""

from __future__ import annotations

import pickle
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.outcomes import TOTAL_KEYS
from sim.engine.engines import ENSEMBLE_DEFAULT, run
from sim.engine.ledger import RunResult
from sim.provenance import code_sha256


class TaskUnreadable(RuntimeError):
    """A worker could not unpickle its task (the function or a class it names is missing from the modules the
    worker imported): the run did not start."""


def packed(fn: Callable, *args: Any) -> bytes:
    """`(fn, args)` pickled here, for `call_packed` in a worker."""
    return pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)


def call_packed(blob: bytes) -> Any:
    """`fn(*args)` of a `packed` task. A task the worker cannot unpickle raises TaskUnreadable naming the error
    (left to the pool, the failure would kill the worker process and read as a crash of the run)."""
    try:
        fn, args = pickle.loads(blob)
    except Exception as exc:  # noqa: BLE001 - whatever unpickling raises: AttributeError, ImportError, ...
        raise TaskUnreadable(f"the worker could not read its task ({type(exc).__name__}: {exc}); this happens "
                             "when bordersim's files change while a sweep runs (new workers import the changed "
                             "modules): run the same command again once they are stable") from None
    return fn(*args)


@dataclass
class TaskOutput:
    run_id: str
    status: str  # "ok" or "failed"
    outcomes: dict = field(default_factory=dict)
    error: str | None = None
    wall_time: float = 0.0
    timeseries: pd.DataFrame | None = None
    error_kind: str | None = None  # failed runs: "input" (bad values) or "internal" (our fault)
    code_sha256: str = field(default_factory=code_sha256)  # of the process that made it (sim.provenance)


def outcomes(result: RunResult, keep: list[str]) -> dict[str, float]:
    """Flat outcome columns: `<outcome>` (totals), `route.<route>.<outcome>`, `year.<YYYY>.arrived`,
    `year.<YYYY>.female_share`, `year.<YYYY>.repatriated` and `year.<YYYY>.years_abroad` (NaN in a year without
    arrivals)."""
    out: dict[str, float] = {}
    if "totals" in keep:
        out.update(result.totals())
    if "by_route" in keep:
        for route, vals in result.by_route().items():
            for k in TOTAL_KEYS:
                out[f"route.{route}.{k}"] = vals[k]
    if "by_year" in keep:
        shares, repatriated, abroad = (result.female_share_by_year(), result.repatriated_by_year(),
                                       result.years_abroad_by_year())
        for year, n in result.arrivals_by_year().items():
            out[f"year.{year}.arrived"] = n
            out[f"year.{year}.female_share"] = _or_nan(shares[year])
            out[f"year.{year}.repatriated"] = repatriated[year]
            out[f"year.{year}.years_abroad"] = _or_nan(abroad[year])
    return out


def _or_nan(value: float | None) -> float:
    return value if value is not None else float("nan")


def point_scenario(base: dict, overrides: list[tuple[str, object]]):
    """The validated Scenario of one point: the base scenario dict with the point's (dotted path, value) pairs set;
    raises ScenarioError when the values make an invalid scenario."""
    from sim.scenario.overrides import copy_tree, set_path
    from sim.loading import validate_dict

    data = copy_tree(base)
    for path, value in overrides:
        set_path(data, path, value, source="(sweep point)")
    return validate_dict(data, path="(sweep point)")


def execute(run_id: str, base: dict, overrides: list[tuple[str, object]], seed: int, keep: list[str],
            keep_timeseries: bool, engine: str = ENSEMBLE_DEFAULT) -> TaskOutput:
    """Run one point/replicate with `engine` (sim.engine.engines); never raises for a problem of the run itself."""
    t0 = time.perf_counter()
    try:
        result = run(point_scenario(base, overrides), seed=seed, engine=engine)
        return _ok(run_id, result, keep, keep_timeseries, time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - recorded with the run, the sweep goes on
        return _failed(run_id, exc, time.perf_counter() - t0)


def execute_group(run_ids: list[str], base: dict, overrides: list[list[tuple[str, object]]], seed: int,
                  keep: list[str], keep_timeseries: bool, engine: str = ENSEMBLE_DEFAULT) -> list[TaskOutput]:
    """`execute` for runs of one seed whose points differ only in their policies (a sweep's packages): the steps
    they share are taken once (`sim.engine.branches.run_branches`); the outputs are those of separate runs. Each
    run's wall time is its own part (the first run: the shared steps). Should the shared run fail, every run is
    made on its own, so that a failure is recorded with the run that has it."""
    from sim.engine.branches import run_branches

    t0 = time.perf_counter()
    scenarios, failed = [], {}
    for run_id, pairs in zip(run_ids, overrides):
        try:
            scenarios.append(point_scenario(base, pairs))
        except Exception as exc:  # noqa: BLE001
            failed[run_id] = _failed(run_id, exc, time.perf_counter() - t0)
    ok_ids = [r for r in run_ids if r not in failed]
    try:
        results, seconds = run_branches(scenarios, seed, engine)
        done = {r: _ok(r, res, keep, keep_timeseries, s) for r, res, s in zip(ok_ids, results, seconds)}
    except Exception:  # noqa: BLE001 - made again one by one below
        done = {r: execute(r, base, pairs, seed, keep, keep_timeseries, engine)
                for r, pairs in zip(run_ids, overrides) if r not in failed}
    return [failed[r] if r in failed else done[r] for r in run_ids]


def _ok(run_id: str, result: RunResult, keep: list[str], keep_timeseries: bool, seconds: float) -> TaskOutput:
    ts = None
    if keep_timeseries:
        ts = result.timeseries()
        ts.insert(0, "run_id", run_id)
    return TaskOutput(run_id, "ok", outcomes(result, keep), None, seconds, ts)


def _failed(run_id: str, exc: Exception, seconds: float) -> TaskOutput:
    """A failed run: "input" for an InputError (bad values), "internal" for anything else."""
    from sim.errors import InputError

    if isinstance(exc, InputError):
        return TaskOutput(run_id, "failed", {}, exc.format(), seconds, error_kind="input")
    tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return TaskOutput(run_id, "failed", {}, tb, seconds, error_kind="internal")
