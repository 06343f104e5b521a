"""Running an effects spec through the sweep engine and writing the tables of an effects directory.

OUT/base.yaml is the base scenario with the horizon and the fixed settings applied; OUT/experiment.yaml the sweep
spec (design `policies_points`: each posterior draw a point, each package on top, replicates with common random
numbers), run into OUT/sweep (parallel, Dask, resumable: `bordersim sweep OUT/experiment.yaml --out OUT/sweep` runs
the same sweep). The statistics (sim.analysis.effects.statistics) go to OUT/effects.csv and .parquet, the per-run
values to OUT/values.parquet, the provenance to OUT/effects.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING


from sim.api_checks import optional_path_argument, path_argument, run_options
from sim.analysis.effects.spec import LoadedEffects, load_effects
from sim.outputs import default_dir, path_from, real_target
from sim.provenance import stamp

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from sim.analysis.dirs import AnalysisDir

OUTPUT_FILES = ("base.yaml", "experiment.yaml", "effects.csv", "effects.parquet", "values.parquet", "effects.json")


@dataclass
class EffectsResult:
    effects: pd.DataFrame  # effects.csv
    values: pd.DataFrame  # values.parquet
    runs: int
    out: Path
    report_removed: bool = False  # OUT/report.html, which bordersim wrote for the earlier analysis, was removed


def experiment_spec(le: LoadedEffects) -> dict:
    """The sweep engine's `policies_points` spec: the posterior's columns as lists (one value per draw), the
    packages, the replicates, the seed; its scenario is OUT/base.yaml."""
    return {
        "name": le.spec.name,
        "description": f"effects of spec {le.path.name} (generated; do not edit)",
        "scenario": "base.yaml",
        "parameters": dict(le.posterior.columns),
        "design": {"type": "policies_points", "policies": dict(le.spec.policies)},
        "replicates": le.spec.replicates,
        "seed": le.spec.seed,
        "outputs": {"keep": le.keep(), "timeseries": False},
        "engine": le.spec.engine,
    }


def design_size(le: LoadedEffects) -> tuple[int, int, int, int]:
    """(packages, draws, replicates, runs)."""
    p, d, r = len(le.packages), le.posterior.size, le.spec.replicates
    return p, d, r, p * d * r


def claim_effects_dir(out: Path, *, force: bool) -> AnalysisDir:
    """`claim_analysis_dir` for an effects analysis in OUT (what its run and its dry run check)."""
    from sim.analysis.dirs import claim_analysis_dir

    return claim_analysis_dir(out, "effects", force=force, sweeps=["sweep"], files=list(OUTPUT_FILES),
                              figures=("effects.png",), records=("base.yaml",),
                              results=("effects.csv", "effects.parquet", "values.parquet", "effects.json"))


def effects_dry_run(le: LoadedEffects, out: str | Path | None, *, force: bool,
                    scheduler: str | None = None) -> str:
    """The output line of `bordersim effects --dry-run`: OUT (default results/<name>) checked as the run checks it
    before its first run (UsageError otherwise), and what the run would do there. Writes nothing."""
    from sim.analysis.dirs import dry_run_output

    out = real_target(out) if out is not None else default_dir(le.spec.name)
    return dry_run_output(claim_effects_dir(out, force=force), experiment_spec(le), le.base, force=force,
                          scheduler=scheduler)


def run_effects(spec: str | Path, out: str | Path | None = None, *, workers: int | None = None,
                scheduler: str | None = None, force: bool = False,
                progress: Callable[[int, int], None] | None = None) -> EffectsResult:
    """Run (or resume) every package x draw x replicate into OUT/sweep and write OUT/effects.csv, effects.parquet,
    values.parquet, effects.json (with OUT/base.yaml and experiment.yaml); default OUT results/<name>. It prints
    and draws nothing. Output rule as for sensitivity (sim.analysis.dirs): OUT is absent, empty or an `effects`
    directory (resumed); runs of another design in OUT/sweep are refused unless `force`."""
    from sim.analysis.dirs import analysis_records, refuse_if_busy, run_spec_sweep
    from sim.analysis.effects.statistics import effects_table, values_table
    from sim.analysis.sensitivity.run import replicate_matrix
    from sim.experiments.design import replicate_seeds

    workers, _ = run_options(workers=workers, progress=progress, force=force)
    refuse_if_busy(optional_path_argument(out, "out"), "effects")  # before the spec, which takes seconds to read
    le = load_effects(path_argument(spec, "spec"))
    out = real_target(out) if out is not None else default_dir(le.spec.name)
    with claim_effects_dir(out, force=force) as claim:
        records = analysis_records("effects", out, le.path, le.scenario_path, le.base,
                                   applied=" with the horizon and fixed settings")
        runs = run_spec_sweep(claim, experiment_spec(le), le.base, force=force, workers=workers,
                              scheduler=scheduler, progress=progress, records=records)
        n_p, n_d, n_r, total = design_size(le)
        flat = replicate_matrix(runs, n_p * n_d, n_r, le.outcomes)
        y: dict[str, np.ndarray] = {name: v.reshape(n_p, n_d, n_r) for name, v in flat.items()}
        baseline = le.spec.baseline_name
        effects = effects_table(y, le.packages, baseline, {o.name: o.expression for o in le.outcomes})
        values = values_table(y, le.packages, baseline, le.posterior.rows, replicate_seeds(le.spec.seed, n_r))
        removed = claim.writing_results()
        with claim.result("effects.csv") as tmp:
            effects.to_csv(tmp, index=False)
        with claim.result("effects.parquet") as tmp:
            effects.to_parquet(tmp, index=False)
        with claim.result("values.parquet") as tmp:
            values.to_parquet(tmp, index=False)
        posterior = le.posterior.file
        meta = {"name": le.spec.name, "spec": path_from(out, le.path), "scenario": path_from(out, le.scenario_path),
                "horizon": le.base.time.end, "posterior": None if posterior is None else path_from(out, posterior),
                "posterior_rows": list(le.posterior.rows) if posterior is not None else [],
                "parameters": list(le.posterior.columns),
                "packages": {k: dict(v) for k, v in le.spec.policies.items()}, "baseline": baseline,
                "outcomes": dict(le.spec.outcomes), "draws": n_d, "replicates": n_r, "seed": le.spec.seed,
                "runs": total, "engine": le.spec.engine, "made_by": stamp()}
        claim.write_result("effects.json", json.dumps(meta, indent=2) + "\n")  # last: the analysis finished
        return EffectsResult(effects, values, total, out, removed)


