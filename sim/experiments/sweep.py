"""Run a sweep: design -> runs -> executor -> store -> runs.parquet. Resumable; interruptible.

Before anything runs: the size is counted from the spec (more than MAX_RUNS runs are refused), every unfinished
point's scenario is built and checked (a bad value is an error up front, not a failed run), and a call from the
top level of a script without an `if __name__ == "__main__":` guard is refused (local worker processes re-import
the main script, and would start the sweep again in every worker).
"""

from __future__ import annotations

import ast
import math
import multiprocessing
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd

from sim.api_checks import path_argument, run_options
from sim.errors import InputError, ScenarioError, Terminated, UsageError, WriteFailed
from sim.experiments.design import (Point, RunSpec, build_runs, check_run_count, count_points, iter_points, iter_runs,
                                    points_at)
from sim.experiments.backends import Backend, BackendLost
from sim.experiments.executors import backend, drive
from sim.interrupts import signals_deferred, signals_held
from sim.outputs import enclosing_dirs, refuse_enclosed
from sim.experiments.spec import LoadedSpec, load_spec
from sim.experiments.store import SweepStore, read_manifest
from sim.experiments.task import TaskOutput, call_packed, execute, execute_group, packed, point_scenario

MAX_BAD_POINTS_SHOWN = 5


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (or, with `terminated`, SIGTERM: sim.errors.Terminated) during a sweep: finished runs are kept;
    running the same command again resumes. A KeyboardInterrupt, as the Ctrl-C it reports: a notebook's
    `except Exception:` around a sweep or an analysis does not swallow it."""

    finished: int | None  # runs finished of `total` (None: an AnalysisInterrupted, outside a sweep)
    total: int | None

    def __init__(self, finished: int, total: int, out: Path, terminated: bool = False):
        self.finished, self.total, self.out, self.terminated = finished, total, out, terminated
        super().__init__(f"{'terminated' if terminated else 'interrupted'}: {finished} of {total} runs finished "
                         f"and saved in {out}")


class AnalysisInterrupted(SweepInterrupted):
    """Ctrl-C (or SIGTERM) during an analysis but outside its sweeps (between them, or while it writes its tables
    at the end): every run finished so far is kept in its directory `out`, whose results are those of no analysis
    until the same command, run again, finishes it (no finished run is repeated)."""

    def __init__(self, out: Path, terminated: bool = False):
        KeyboardInterrupt.__init__(self, f"{'terminated' if terminated else 'interrupted'}: every run finished so "
                                         f"far is kept in {out}")
        self.finished, self.total, self.out, self.terminated = None, None, out, terminated


class SweepAborted(Exception):
    """The executor's cluster was lost during a sweep: finished runs are kept; the same command resumes."""

    def __init__(self, reason: str, finished: int, total: int, out: Path):
        self.reason, self.finished, self.total, self.out = reason, finished, total, out
        super().__init__(f"sweep stopped: {reason}; {finished} of {total} runs finished and saved in {out}")


@dataclass
class Plan:
    """The runs of a spec. `size` is counted from the spec; `runs` is built on first use (a dry run of a large
    design needs only `size` and `design_rows`)."""

    spec: LoadedSpec
    size: int
    n_points: int
    _runs: list[RunSpec] | None = field(default=None, repr=False)

    @property
    def runs(self) -> list[RunSpec]:
        if self._runs is None:
            self._runs = build_runs(self.spec)
        return self._runs

    def iter_points(self) -> Iterator[Point]:
        return iter_points(self.spec)

    @property
    def points(self) -> pd.DataFrame:
        """One row per parameter point (the design table)."""
        return pd.DataFrame([_row(p) for p in self.iter_points()])

    def design_rows(self, max_rows: int = 40) -> tuple[pd.DataFrame, int]:
        """(the first and last max_rows/2 points as a table, the number of points left out between them), built
        without building the other points."""
        n = self.n_points
        if n <= max_rows:
            indices = list(range(n))
        else:
            indices = list(range(max_rows // 2)) + list(range(n - max_rows // 2, n))
        return pd.DataFrame([_row(p) for p in points_at(self.spec, indices)]), n - len(indices)

    def first_run(self) -> RunSpec:
        return next(iter_runs(self.spec))


def _row(p: Point) -> dict:
    row: dict[str, Any] = {"point": p.index}
    if p.package is not None:
        row["policy"] = p.package
    row.update(p.values)
    return row


def plan(spec: str | Path | LoadedSpec, replicates: int | None = None) -> Plan:
    """The plan of a spec; ScenarioError (nothing built) when it has more than MAX_RUNS runs."""
    ls = spec if isinstance(spec, LoadedSpec) else load_spec(spec, replicates=replicates)
    n_points = count_points(ls.spec)
    return Plan(ls, check_run_count(n_points, ls.spec.replicates, str(ls.path)), n_points)


def _submit(ls: LoadedSpec):
    keep = list(ls.spec.outputs.keep)
    keep_ts = ls.spec.outputs.timeseries

    def submit(executor, group: list[RunSpec]):
        return executor.submit(call_packed, packed(execute_group, [r.run_id for r in group], ls.base_dict,
                                                   [r.point.overrides(ls.spec) for r in group], group[0].seed,
                                                   keep, keep_ts, ls.spec.engine))

    return submit


def groups(runs: list[RunSpec]) -> list[list[RunSpec]]:
    """The runs as the tasks handed to workers, replicate-major (replicate 0 of every point, then replicate 1,
    ...: a worker draws each replicate's home population once and takes it from its cache for the other points;
    sim/engine/arrays/homes.py keeps 4). Runs that differ only in their policy package (the same replicate and
    parameter values) form one task, whose steps before the packages differ are taken once
    (`sim.engine.branches`); every other run is a task of its own. Results depend on neither."""
    tasks: dict[tuple, list[RunSpec]] = {}
    for r in sorted(runs, key=lambda r: (r.replicate, r.point.index)):
        key = (r.replicate, repr(sorted(r.point.values.items()))) if r.point.package is not None else (r.run_id,)
        tasks.setdefault(key, []).append(r)
    return list(tasks.values())


def pilot(p: Plan) -> TaskOutput:
    """Run the first run in this process (for --dry-run's time estimate)."""
    run = p.first_run()
    return execute(run.run_id, p.spec.base_dict, run.point.overrides(p.spec.spec), run.seed, [], False,
                   p.spec.spec.engine)


def check_points(p: Plan, points: Iterator[Point] | None = None, limit: int | None = None) -> int:
    """Build and check the scenario of every point (or of `points`, at most `limit` of them); return how many were
    checked. Raises ScenarioError naming the spec, the number of bad points and the first few with their errors."""
    ls = p.spec
    bad: list[str] = []
    n_bad = checked = 0
    for point in points if points is not None else p.iter_points():
        if limit is not None and checked >= limit:
            break
        checked += 1
        try:
            point_scenario(ls.base_dict, point.overrides(ls.spec))
        except InputError as exc:
            n_bad += 1
            if len(bad) < MAX_BAD_POINTS_SHOWN:
                what = ([f"policy={point.package}"] if point.package else []) + [
                    f"{k}={v}" for k, v in point.values.items()]
                key = f"key '{exc.key}': " if exc.key else ""  # the first problem's: its further ones name theirs
                bad.append(f"point {point.index} ({', '.join(what)}): {key}{exc.message}")
    if n_bad:
        more = f" (and {n_bad - len(bad)} more)" if n_bad > len(bad) else ""
        raise ScenarioError(f"{n_bad} of {checked} points make an invalid scenario, so nothing was run: "
                            + "; ".join(bad) + more, path=str(ls.path))
    return checked


def run_sweep(p: Plan, out: str | Path, *, workers: int | None = None, scheduler: str | None = None,
              force: bool = False, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Run every unfinished run of the plan into `out`; return runs.parquet as a DataFrame.

    Refuses (UsageError/ScenarioError) before writing or starting anything: an unguarded call from a script's top
    level, points whose values make an invalid scenario, a directory it may not use (see SweepStore.open), an
    unreachable scheduler; and a directory another sweep holds. Ctrl-C raises SweepInterrupted and a lost cluster
    SweepAborted, both after saving what finished. When finished runs were made by other bordersim code than this
    process's (`SweepStore.mixed_code`), it warns (MixedCodeWarning, a ResultWarning)."""
    out = Path(out)
    if scheduler is not None:  # its form, even when no run is left to make (a typo went unseen then)
        from sim.experiments.dask_cluster import check_scheduler

        check_scheduler(scheduler)
    if scheduler is None or scheduler == "local":
        refuse_unguarded_main()
    done = finished_before(out, p.spec)
    todo = [r for r in p.runs if r.run_id not in done]
    check_points(p, _distinct_points(todo))
    SweepStore.check(out, p.spec, force=force)
    try:
        with backend(workers, scheduler, engine=p.spec.spec.engine) if todo else nullcontext() as be:
            store = SweepStore.open(out, p.spec, force=force)
            try:
                return _run(p, store, out, be, progress)
            finally:
                store.close()
    except KeyboardInterrupt as exc:  # outside the runs: while the workers start or stop, the directory opens
        if isinstance(exc, SweepInterrupted):
            raise
        kept = len(finished_before(out, p.spec) & {r.run_id for r in p.runs})
        raise SweepInterrupted(kept, len(p.runs), out, isinstance(exc, Terminated)) from None
    except WriteFailed as exc:  # a full disk part-way: what finished is kept, as after a Ctrl-C
        kept = len(finished_before(out, p.spec) & {r.run_id for r in p.runs})
        raise WriteFailed(f"{exc}; {kept} of {len(p.runs)} runs finished and saved in {out}: {exc.remedy()} and "
                          "run the same command again to resume", exc.errno) from None


def _run(p: Plan, store: SweepStore, out: Path, be: Backend | None, progress) -> pd.DataFrame:
    runs = p.runs
    done = store.finished()
    todo = [r for r in runs if r.run_id not in done]
    total = len(runs)
    finished = total - len(todo)
    if progress:
        progress(finished, total)

    def on_result(group: list[RunSpec], outputs: list[TaskOutput]) -> None:
        nonlocal finished
        for run, output in zip(group, outputs, strict=True):
            store.record(run, output)
        finished += len(group)
        if progress:
            progress(finished, total)

    def on_lost(group: list[RunSpec], message: str) -> None:
        on_result(group, [TaskOutput(r.run_id, "failed", {}, message, 0.0, error_kind="internal") for r in group])

    try:
        if todo:
            if be is None:  # the directory changed since we looked; its runs were not checked
                raise UsageError(f"{out}: changed while the sweep was starting (another process?); run it again")
            drive(groups(todo), _submit(p.spec), be, on_result, on_lost)
    except KeyboardInterrupt as exc:
        with signals_held():  # a second Ctrl-C (or SIGTERM) now must not lose runs.parquet
            store.compile(runs, p.spec.parameter_names)
        raise SweepInterrupted(finished, total, out, isinstance(exc, Terminated)) from None
    except BackendLost as exc:
        store.compile(runs, p.spec.parameter_names)
        raise SweepAborted(str(exc), finished, total, out) from None
    with signals_deferred():  # a Ctrl-C now stops the sweep once runs.parquet is whole (it lost it: a probe)
        table = store.compile(runs, p.spec.parameter_names)
    if (mixed := store.mixed_code()) is not None:
        warnings.warn(mixed, stacklevel=2)
    return table


def finished_before(out: Path, ls: LoadedSpec) -> set[str]:
    """Finished runs (run ids) of `out` if it is a sweep directory of this spec (a look only: nothing is
    written)."""
    try:
        same = ls.made(read_manifest(out))
    except UsageError:
        return set()
    return SweepStore(out).finished() if same else set()


def _distinct_points(runs: list[RunSpec]) -> Iterator[Point]:
    seen = set()
    for r in runs:
        if r.point.index not in seen:
            seen.add(r.point.index)
            yield r.point


# The commands that make each kind of analysis directory: its sweeps are theirs to resume or replace.
ANALYSIS_COMMANDS = {"calibration": "calibrate", "sensitivity": "sensitivity", "effects": "effects",
                     "discovery": "discover"}


def refuse_enclosed_place(out: str | Path) -> None:
    """UsageError when `out`, a sweep's directory given by the user, lies inside a directory bordersim made (links
    resolved). Inside an analysis directory (calibration, sensitivity, effects, discovery) the sweeps are the
    analysis's own, and `bordersim sweep` writing one (another spec's, or the same spec's with --force) would
    leave the analysis's tables and figures describing runs no longer there, read back by `plot` and `report` as a
    finished analysis. Inside a run, sweep, comparison or figures directory, the sweep would make bordersim refuse
    to replace that directory with --force (`sim.outputs.refuse_enclosed`)."""
    found = _analysis_dir(out)
    if found is not None:
        kind, directory = found
        raise UsageError(f"{out}: lies inside the {kind} directory {directory}, whose sweeps are the analysis's "
                         f"own (a sweep written there would leave its tables describing other runs); run "
                         f"`bordersim {ANALYSIS_COMMANDS[kind]}` to resume or redo the analysis, or choose another "
                         "--out")
    refuse_enclosed(Path(out))


def analysis_of(sweep_dir: str | Path) -> str | None:
    """The command whose analysis directory holds `sweep_dir` (its sweeps are resumed and extended by that
    command, not by `bordersim sweep`), or None."""
    found = _analysis_dir(sweep_dir)
    return ANALYSIS_COMMANDS[found[0]] if found is not None else None


def _analysis_dir(path: str | Path) -> tuple[str, Path] | None:
    """(kind, directory) of the analysis directory bordersim made that holds `path`, links resolved (a link to
    SENS/sweep is in SENS), or None."""
    return next(((kind, d) for kind, d in enclosing_dirs(Path(os.path.realpath(path))) if kind in ANALYSIS_COMMANDS),
                None)


def sweep(spec: str | Path, out: str | Path | None = None, *, workers: int | None = None,
          scheduler: str | None = None, replicates: int | None = None, force: bool = False,
          progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Python API: run (or resume) a sweep and return one row per run. Default out: results/<spec name>.
    `progress(done, total)` is called once with the runs already finished (0 for a new sweep), then as runs
    finish. Call it under `if __name__ == "__main__":` in a script
    (worker processes re-import the script)."""
    workers, replicates = run_options(workers=workers, replicates=replicates, force=force, progress=progress)
    p = plan(path_argument(spec, "spec"), replicates=replicates)
    out = path_argument(out, "out") if out is not None else Path("results") / p.spec.spec.name
    refuse_enclosed_place(out)
    return run_sweep(p, out, workers=workers, scheduler=scheduler, force=force, progress=progress)


def estimate_seconds(p: Plan, workers: int, runs: int | None = None) -> tuple[float, float]:
    """(pilot seconds, estimated sweep seconds = pilot * ceil(runs / w)), w = min(workers, runs), `runs` the runs
    still to make (default: all of the plan's): the runs go out in rounds of w at a time, so no sweep takes less
    than one run."""
    runs = p.size if runs is None else runs
    t0 = time.perf_counter()
    pilot(p)
    one = time.perf_counter() - t0
    return one, one * math.ceil(runs / max(1, min(workers, runs)))


# ---------------------------------------------------------------------------------------- the main guard


def refuse_unguarded_main() -> None:
    """UsageError when local worker processes would re-run the code that is calling us now: a call from the top
    level of the main script (run by path, or with -m as a module other than a package's __main__) that is not
    inside `if __name__ == "__main__":`, or a call made while a worker re-imports such a script."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise UsageError(_GUARD_MESSAGE.format(where="the main script"))
    main = sys.modules.get("__main__")
    if main is None:
        return
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:
        if name == "__main__" or name.endswith(".__main__"):
            return  # multiprocessing does not re-run a package's __main__ in workers
    else:
        main_file: str | None = getattr(main, "__file__", None)
        if main_file is None:
            return  # interactive session, notebook: nothing to re-import
        started_in = getattr(multiprocessing.process, "ORIGINAL_DIR", None) or ""  # workers resolve it there
        if not os.path.isfile(os.path.join(started_in, main_file)):
            raise UsageError(_NO_FILE_MESSAGE.format(file=main_file))  # e.g. '<stdin>': every worker would fail
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and not (frame.f_globals is vars(main) and frame.f_code.co_name == "<module>"):
        frame = frame.f_back
    if frame is None:
        return  # not called while the main module's top level runs (e.g. from a thread or later)
    try:
        tree = ast.parse(Path(frame.f_code.co_filename).read_text())
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return  # no source to look at: give the benefit of the doubt
    if not _inside_main_guard(tree, frame.f_lineno):
        raise UsageError(_GUARD_MESSAGE.format(where=frame.f_code.co_filename))


_GUARD_MESSAGE = ("a sweep was started from the top level of {where} without `if __name__ == \"__main__\":`; "
                  "worker processes import that script again and would each start the sweep again. Put the call "
                  "under `if __name__ == \"__main__\":` (see docs/experiments.md)")


_NO_FILE_MESSAGE = ("a sweep needs worker processes, which import the main script again, and the main script "
                    "({file}) is not a file they can read (a script piped to `python -`?): save it to a file, with "
                    "the call under `if __name__ == \"__main__\":`, and run that file")


def _is_main_test(node: ast.expr, op: type) -> bool:
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], op)):
        return False
    sides = [node.left, node.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


def _inside_main_guard(tree: ast.Module, line: int) -> bool:
    """Whether `line` lies in the body of an `if __name__ == "__main__":` (or the else of `!=`)."""
    def spans(body: list[ast.stmt]) -> bool:
        return bool(body) and body[0].lineno <= line <= (body[-1].end_lineno or body[-1].lineno)

    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            if _is_main_test(node.test, ast.Eq) and spans(node.body):
                return True
            if _is_main_test(node.test, ast.NotEq) and spans(node.orelse):
                return True
    return False
