"""Run a sweep: design -> runs -> executor -> store -> runs.parquet. Resumable; interruptible."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.experiments.design import RunSpec, build_runs
from sim.experiments.executors import backend, drive
from sim.experiments.spec import LoadedSpec, load_spec
from sim.experiments.store import SweepStore
from sim.experiments.task import TaskOutput, execute


class SweepInterrupted(Exception):
    """Ctrl-C during a sweep: finished runs are kept; running the same command again resumes."""

    def __init__(self, finished: int, total: int, out: Path):
        self.finished, self.total, self.out = finished, total, out
        super().__init__(f"interrupted: {finished} of {total} runs finished and saved in {out}")


@dataclass
class Plan:
    spec: LoadedSpec
    runs: list[RunSpec]

    @property
    def points(self) -> pd.DataFrame:
        """One row per parameter point (the design table)."""
        seen = {}
        for r in self.runs:
            row = {"point": r.point.index}
            if r.point.package is not None:
                row["policy"] = r.point.package
            row.update(r.point.values)
            seen.setdefault(r.point.index, row)
        return pd.DataFrame(list(seen.values()))


def plan(spec: str | Path | LoadedSpec, replicates: int | None = None) -> Plan:
    ls = spec if isinstance(spec, LoadedSpec) else load_spec(spec, replicates=replicates)
    return Plan(ls, build_runs(ls))


def _submit(ls: LoadedSpec):
    keep = list(ls.spec.outputs.keep)
    keep_ts = ls.spec.outputs.timeseries

    def submit(executor, run: RunSpec):
        return executor.submit(execute, run.run_id, ls.base_dict, run.point.overrides(ls.spec), run.seed, keep,
                               keep_ts)

    return submit


def pilot(p: Plan) -> TaskOutput:
    """Run the first run in this process (for --dry-run's time estimate)."""
    run = p.runs[0]
    return execute(run.run_id, p.spec.base_dict, run.point.overrides(p.spec.spec), run.seed, [], False)


def run_sweep(p: Plan, out: str | Path, *, workers: int | None = None, scheduler: str | None = None,
              force: bool = False, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Run every unfinished run of the plan into `out`; return runs.parquet as a DataFrame."""
    out = Path(out)
    store = SweepStore.open(out, p.spec, force=force)
    done = store.finished()
    todo = [r for r in p.runs if r.run_id not in done]
    total = len(p.runs)
    finished = total - len(todo)
    if progress:
        progress(finished, total)

    def on_result(run: RunSpec, output: TaskOutput) -> None:
        nonlocal finished
        store.record(run, output)
        finished += 1
        if progress:
            progress(finished, total)

    def on_lost(run: RunSpec, message: str) -> None:
        on_result(run, TaskOutput(run.run_id, "failed", {}, message, 0.0))

    try:
        if todo:
            with backend(workers, scheduler) as be:
                drive(todo, _submit(p.spec), be, on_result, on_lost)
    except KeyboardInterrupt:
        store.compile(p.runs, p.spec.parameter_names)
        raise SweepInterrupted(finished, total, out) from None
    return store.compile(p.runs, p.spec.parameter_names)


def sweep(spec: str | Path, out: str | Path | None = None, *, workers: int | None = None,
          scheduler: str | None = None, replicates: int | None = None, force: bool = False) -> pd.DataFrame:
    """Python API: run (or resume) a sweep and return one row per run. Default out: results/<spec name>."""
    p = plan(spec, replicates=replicates)
    out = Path(out) if out is not None else Path("results") / p.spec.spec.name
    return run_sweep(p, out, workers=workers, scheduler=scheduler, force=force)


def estimate_seconds(p: Plan, workers: int) -> tuple[float, float]:
    """(pilot seconds, estimated sweep seconds = pilot * runs / workers)."""
    t0 = time.perf_counter()
    pilot(p)
    one = time.perf_counter() - t0
    return one, one * len(p.runs) / max(1, workers)
