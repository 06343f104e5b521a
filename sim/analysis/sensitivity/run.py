"""Sampling (SALib, in the unit hypercube, mapped through each parameter's bounds), running the points through the
sweep framework, and writing the tables of a sensitivity directory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING


from sim.api_checks import choice_argument, optional_path_argument, path_argument, run_options
from sim.analysis.sensitivity.indices import analyze, index_warnings, ranking_table, second_order
from sim.analysis.sensitivity.outcomes import Outcome
from sim.analysis.sensitivity.spec import METHODS, LoadedSensitivity, load_sensitivity, problem
from sim.errors import ScenarioError
from sim.extras import installed, missing_extra
from sim.experiments.design import check_run_count
from sim.outputs import default_dir, real_target

if TYPE_CHECKING:  # numpy, pandas, scipy and SALib load on use, so registering the command costs nothing
    import numpy as np
    import pandas as pd

    from sim.analysis.dirs import AnalysisDir


def require_salib() -> None:
    """UsageError naming the extra when SALib, which samples and analyses, is not installed: before any run."""
    if not installed("SALib"):
        raise missing_extra("sensitivity analysis", "sensitivity", "SALib, not installed")


def sample(ls: LoadedSensitivity, method: str) -> np.ndarray:
    """Unit-hypercube design, one row per point: Morris r(D+1) rows; Sobol N(D+2), or N(2D+2) with second order."""
    spec = ls.spec
    if method == "morris":
        from SALib.sample.morris import sample as morris_sample

        return morris_sample(problem(ls), spec.morris.trajectories, num_levels=spec.morris.levels, seed=spec.seed)
    if method == "sobol":
        from SALib.sample.sobol import sample as sobol_sample

        return sobol_sample(problem(ls), spec.sobol.samples, calc_second_order=spec.sobol.second_order,
                            scramble=True, seed=spec.seed)
    raise ScenarioError(f"unknown method '{method}'; methods: {', '.join(METHODS)}")


def design_size(ls: LoadedSensitivity, method: str) -> tuple[int, int]:
    """(points, runs = points x replicates) without drawing the sample; ScenarioError when the runs are more than
    a sweep may have (`check_run_count`)."""
    d = len(ls.names)
    if method == "morris":
        points = ls.spec.morris.trajectories * (d + 1)
    elif method == "sobol":
        points = ls.spec.sobol.samples * ((2 * d + 2) if ls.spec.sobol.second_order else (d + 2))
    else:
        raise ScenarioError(f"unknown method '{method}'; methods: {', '.join(METHODS)}")
    return points, check_run_count(points, ls.spec.replicates, str(ls.path))


def experiment_spec(ls: LoadedSensitivity, method: str, x: np.ndarray) -> dict:
    """The sweep engine's `points` spec for a unit design x: point i sets every parameter to its i-th value."""
    params = {n: b.from_unit(x[:, j]) for j, (n, b) in enumerate(ls.spec.parameters.items())}
    params.update({k: [v] * len(x) for k, v in ls.spec.fixed.items()})
    return {
        "name": f"{ls.spec.name}_{method}",
        "description": f"{method} design of sensitivity spec {ls.path.name} (generated; do not edit)",
        "scenario": "base.yaml",
        "parameters": params,
        "design": {"type": "points"},
        "replicates": ls.spec.replicates,
        "seed": ls.spec.seed,
        "outputs": {"keep": ls.keep(), "timeseries": False},
        "engine": ls.spec.engine,
    }


# ------------------------------------------------------------------------------------------------ running


@dataclass
class SensitivityResult:
    method: str
    indices: pd.DataFrame
    point_means: pd.DataFrame
    runs: int
    out: Path
    warnings: list[str] = field(default_factory=list)  # indices the design does not resolve (`index_warnings`)
    report_removed: bool = False  # OUT/report.html, which bordersim wrote for the earlier analysis, was removed
    second_order: pd.DataFrame | None = None  # S2 per pair of parameters (Sobol with `second_order: true`)


OUTPUT_FILES = ("base.yaml", "spec.yaml", "experiment.yaml", "indices.csv", "indices_s2.csv", "point_means.csv",
                "ranking.txt")


def claim_sensitivity_dir(out: Path, method: str, *, force: bool) -> AnalysisDir:
    """`claim_analysis_dir` for a sensitivity analysis by `method` in OUT (what its run and its dry run check)."""
    from sim.analysis.dirs import claim_analysis_dir

    return claim_analysis_dir(out, "sensitivity", force=force, sweeps=["sweep"], files=list(OUTPUT_FILES),
                              figures=(f"{method}.png", f"{method}_overview.png"), records=("base.yaml", "spec.yaml"),
                              results=("point_means.csv", "ranking.txt", "indices_s2.csv", "indices.csv"))


def sensitivity_dry_run(ls: LoadedSensitivity, method: str, out: str | Path | None, *, force: bool,
                        scheduler: str | None = None) -> str:
    """The output line of `bordersim sensitivity --dry-run`: OUT (default results/<name>-<method>) checked as the
    run checks it before its first run (UsageError otherwise), and what the run would do there. Writes nothing."""
    from sim.analysis.dirs import dry_run_output

    out = real_target(out) if out is not None else default_dir(f"{ls.spec.name}-{method}")
    exp = experiment_spec(ls, method, sample(ls, method))
    return dry_run_output(claim_sensitivity_dir(out, method, force=force), exp, ls.base, force=force,
                          scheduler=scheduler)


def run_sensitivity(spec: str | Path, method: str, out: str | Path | None = None, *, workers: int | None = None,
                    scheduler: str | None = None, force: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> SensitivityResult:
    """Sample, run every point x replicate through the sweep engine (resumable) into OUT/sweep, analyse, and write
    OUT/experiment.yaml, OUT/indices.csv, OUT/point_means.csv and OUT/ranking.txt; default OUT
    results/<name>-<method>. It draws nothing (`bordersim sensitivity` draws OUT/figures/ from the result). Sobol
    indices the design does not resolve come back as `warnings` (`index_warnings`), in the `warning` column of
    indices.csv and at the end of ranking.txt.

    Output rule (sim/outputs.py), checked before anything is written (UsageError otherwise): OUT is absent, empty
    or a sensitivity directory (marker `sensitivity`, written when it is created), which is resumed; OUT/sweep is
    absent, empty or a bordersim sweep directory. Runs of another design in OUT/sweep are discarded only with
    `force` (`remove_owned`); nothing bordersim did not make is deleted or overwritten."""
    import numpy as np
    import pandas as pd

    from sim.analysis.dirs import analysis_records, refuse_if_busy, run_spec_sweep

    workers, _ = run_options(workers=workers, progress=progress, force=force)
    method = choice_argument(method, "method", METHODS)
    require_salib()
    refuse_if_busy(optional_path_argument(out, "out"), "sensitivity")  # before the spec, which takes seconds to read
    ls = load_sensitivity(path_argument(spec, "spec"))
    design_size(ls, method)  # an unknown method is refused before a path is made of it
    out = real_target(out) if out is not None else default_dir(f"{ls.spec.name}-{method}")
    with claim_sensitivity_dir(out, method, force=force) as claim:
        x = sample(ls, method)
        records = analysis_records("sensitivity", out, ls.path, ls.scenario_path, ls.base, spec=ls.spec)
        runs = run_spec_sweep(claim, experiment_spec(ls, method, x), ls.base, force=force,
                              workers=workers, scheduler=scheduler, progress=progress, records=records)
        y = replicate_matrix(runs, len(x), ls.spec.replicates, ls.outcomes)
        indices = analyze(ls, method, x, y)
        warnings = index_warnings(indices)
        means = pd.DataFrame(x, columns=[f"u:{n}" for n in ls.names])
        for j, (n, b) in enumerate(ls.spec.parameters.items()):
            means[n] = b.from_unit(x[:, j])
        for o in ls.outcomes:
            means[o.name] = y[o.name].mean(axis=1)
            means[f"{o.name}:sd"] = y[o.name].std(axis=1, ddof=1) if y[o.name].shape[1] > 1 else np.nan
        s2 = second_order(ls, x, y) if method == "sobol" and ls.spec.sobol.second_order else None
        removed = claim.writing_results()
        with claim.result("point_means.csv") as tmp:
            means.to_csv(tmp, index_label="point")
        header = (f"{ls.spec.name}: {method}, {len(x)} points x {ls.spec.replicates} replicates = "
                  f"{len(x) * ls.spec.replicates} runs of {ls.scenario_path.name}")
        footer = "".join(f"\nwarning: {w}" for w in warnings)
        claim.write_result("ranking.txt", header + "\n\n" + ranking_table(indices) + "\n" + footer
                          + ("\n" if footer else ""))
        if s2 is not None:
            with claim.result("indices_s2.csv") as tmp:
                s2.to_csv(tmp, index=False)
        with claim.result("indices.csv") as tmp:  # last: it says the analysis finished (`kind_of`)
            indices.to_csv(tmp, index=False)
        return SensitivityResult(method, indices, means, len(runs), out, warnings=warnings, report_removed=removed,
                                 second_order=s2)


def replicate_matrix(runs: pd.DataFrame, points: int, replicates: int,
                     outcomes: list[Outcome]) -> dict[str, np.ndarray]:
    """outcome name -> (points, replicates) array of per-run values; every run must have succeeded."""
    ok = runs[runs["status"] == "ok"] if not runs.empty else runs
    if len(ok) != points * replicates:
        bad = runs[runs["status"] != "ok"] if not runs.empty else runs
        example = f"; e.g. {bad.iloc[0]['run_id']}: {bad.iloc[0]['error']}" if len(bad) else ""
        raise ScenarioError(f"{points * replicates - len(ok)} of {points * replicates} runs did not succeed"
                            f"{example} (do the bounds allow invalid values?); fix the spec and run again "
                            "(finished runs are kept)")
    ok = ok.sort_values(["point", "replicate"])
    return {o.name: o.evaluate(ok).reshape(points, replicates) for o in outcomes}
