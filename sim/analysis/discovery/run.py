"""Running a discovery spec's design through the sweep framework, flagging the cases of interest, and writing the
tables of a discovery directory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING


from sim.api_checks import optional_path_argument, path_argument, run_options
from sim.analysis.discovery.boxes import PrimResult, find_box, require_prim
from sim.analysis.discovery.spec import Condition, LoadedDiscovery, load_discovery
from sim.analysis.sensitivity.outcomes import NO_VALUE, NO_VALUE_REMEDY
from sim.errors import ScenarioError
from sim.outputs import default_dir, real_target
from sim.scenario.keys import line_for

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from sim.analysis.dirs import AnalysisDir

OUTPUT_FILES = ("base.yaml", "spec.yaml", "experiment.yaml", "points.csv", "trajectory.csv", "box.csv", "summary.txt")


@dataclass
class DiscoveryResult:
    """The analysis of a discovery directory: per-point table (inputs by label, outcome mean and sd, `case`), the
    condition's threshold in outcome units, and PRIM's trajectory and box."""

    loaded: LoadedDiscovery
    points: pd.DataFrame
    threshold: float
    prim: PrimResult
    runs: int
    out: Path
    report_removed: bool = False  # OUT/report.html, which bordersim wrote for the earlier analysis, was removed

    def summary(self) -> str:
        """The text of summary.txt: the question, the counts, the chosen box."""
        return summary_text(self)


def experiment_spec(ld: LoadedDiscovery) -> dict:
    """The sweep engine's spec: the discovery's lhs/sobol design over its parameters, the fixed settings as fixed
    distributions, only the output blocks the outcome reads."""
    spec = ld.spec
    params: dict = {n: b.model_dump(mode="json", exclude={"label"}, exclude_none=True)
                    for n, b in spec.parameters.items()}
    params.update({k: {"dist": "fixed", "value": v} for k, v in spec.fixed.items()})
    return {
        "name": spec.name,
        "description": f"design of discovery spec {ld.path.name} (generated; do not edit)",
        "scenario": "base.yaml",
        "parameters": params,
        "design": {"type": spec.design.type, "samples": spec.design.samples},
        "replicates": spec.replicates,
        "seed": spec.seed,
        "outputs": {"keep": sorted(ld.outcome.needs()), "timeseries": False},
        "engine": spec.engine,
    }


def claim_discovery_dir(out: Path, *, force: bool) -> AnalysisDir:
    """`claim_analysis_dir` for a discovery in OUT (what its run and its dry run check)."""
    from sim.analysis.dirs import claim_analysis_dir

    return claim_analysis_dir(out, "discovery", force=force, sweeps=["sweep"], files=list(OUTPUT_FILES),
                              figures=("peeling.png",), records=("base.yaml", "spec.yaml"),
                              results=("points.csv", "summary.txt", "trajectory.csv", "box.csv"))


def discovery_dry_run(ld: LoadedDiscovery, out: str | Path | None, *, force: bool,
                      scheduler: str | None = None) -> str:
    """The output line of `bordersim discover --dry-run`: OUT (default results/<name>) checked as the run checks it
    before its first run (UsageError otherwise), and what the run would do there. Writes nothing."""
    from sim.analysis.dirs import dry_run_output

    out = real_target(out) if out is not None else default_dir(ld.spec.name)
    require_prim()  # the run refuses a missing extra before its first run
    return dry_run_output(claim_discovery_dir(out, force=force), experiment_spec(ld), ld.base, force=force,
                          scheduler=scheduler)


def run_discovery(spec: str | Path, out: str | Path | None = None, *, workers: int | None = None,
                  scheduler: str | None = None, force: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> DiscoveryResult:
    """Run (or resume) every point x replicate of the design through the sweep engine into OUT/sweep, evaluate the
    outcome per run and average it over a point's replicates, flag the points that meet the condition, run PRIM,
    and write OUT/experiment.yaml, points.csv, trajectory.csv, box.csv and summary.txt (default OUT
    results/<name>). It draws nothing (`bordersim discover` draws OUT/figures/ from trajectory.csv).

    The condition applies to the replicate mean of a point, not to each run: PRIM sees one row per point of the
    design (duplicated inputs would count one point's seed noise as evidence, and its quasi-p-values assume
    independent rows), and the mean is the point's expected outcome, estimated with seed noise sd / sqrt(R).

    Output rule (sim/outputs.py, sim/analysis/dirs.py), checked before anything is written (UsageError otherwise):
    OUT is absent, empty or a discovery directory, which is resumed; OUT/sweep is absent, empty or a bordersim sweep
    directory; another design's runs there are replaced only with `force`. A missing bordersim[discovery] extra is
    a UsageError before any run starts."""
    from sim.analysis.dirs import analysis_records, refuse_if_busy, run_spec_sweep

    workers, _ = run_options(workers=workers, progress=progress, force=force)
    refuse_if_busy(optional_path_argument(out, "out"), "discovery")  # before the spec, which takes seconds to read
    ld = load_discovery(path_argument(spec, "spec"))
    require_prim()  # the extra is needed at the end: refuse before hours of runs, not after
    out = real_target(out) if out is not None else default_dir(ld.spec.name)
    with claim_discovery_dir(out, force=force) as claim:
        records = analysis_records("discovery", out, ld.path, ld.scenario_path, ld.base, spec=ld.spec)
        runs = run_spec_sweep(claim, experiment_spec(ld), ld.base, force=force,
                              workers=workers, scheduler=scheduler, progress=progress, records=records)
        points = point_table(ld, runs)
        threshold, case = flag_cases(points["outcome"].to_numpy(float), ld.spec.condition)
        points["case"] = case
        s = ld.spec.prim
        try:
            result = find_box(points[ld.labels], case, threshold=s.threshold, peel_alpha=s.peel_alpha,
                              paste_alpha=s.paste_alpha, mass_min=s.mass_min, max_qp=s.max_qp)
        except ScenarioError as exc:
            raise ScenarioError(f"{exc.message} (threshold {threshold:g}, outcome from {points['outcome'].min():g} to "
                                f"{points['outcome'].max():g}); the {len(runs)} runs are kept in {out / 'sweep'}: "
                                "run again after the change, no run is repeated", path=str(ld.path), key="condition",
                                line=line_for(ld.lines, ("condition",))) from None
        removed = claim.writing_results()
        with claim.result("points.csv") as tmp:
            points.to_csv(tmp, index=False)
        res = DiscoveryResult(ld, points, threshold, result, len(runs), out, removed)
        claim.write_result("summary.txt", res.summary())
        with claim.result("trajectory.csv") as tmp:  # last, these two: they say the analysis finished
            result.trajectory.to_csv(tmp, index=False)
        with claim.result("box.csv") as tmp:
            result.box.to_csv(tmp, index=False)
        return res


def point_table(ld: LoadedDiscovery, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per point: `point`, each parameter under its label (categorical values as text), the outcome's mean
    over the replicates (`outcome`) and their sd (`outcome_sd`, ddof 1; NaN for one replicate). Every run must have
    succeeded and have a value for the outcome (ScenarioError otherwise)."""
    import numpy as np
    import pandas as pd

    spec = ld.spec
    n, r = spec.design.samples, spec.replicates
    ok = runs[runs["status"] == "ok"] if not runs.empty else runs
    if len(ok) != n * r:
        bad = runs[runs["status"] != "ok"] if not runs.empty else runs
        example = f"; e.g. {bad.iloc[0]['run_id']}: {bad.iloc[0]['error']}" if len(bad) else ""
        raise ScenarioError(f"{n * r - len(ok)} of {n * r} runs did not succeed{example} (do the ranges allow "
                            "invalid values?); fix the spec and run again (finished runs are kept)", path=str(ld.path))
    ok = ok.sort_values(["point", "replicate"])
    values = ld.outcome.evaluate(ok).reshape(n, r)
    undefined = np.isnan(values)
    if undefined.any():  # PRIM needs a value at every point: a point left out, or taken as no case, shapes the box
        p, rep = np.argwhere(undefined)[0]
        raise ScenarioError(f"outcome {ld.outcome.expression} has no value in {int(undefined.sum())} of {n * r} runs "
                            f"(at {int(undefined.any(axis=1).sum())} of {n} points; e.g. point {int(p)}, replicate "
                            f"{int(rep)}): {NO_VALUE}; PRIM needs the outcome at every point: {NO_VALUE_REMEDY}, "
                            "or another outcome (the finished runs are kept: an outcome by year, female_share or "
                            "arrived(YYYY..YYYY), reuses them; another reads other outputs of the runs and needs "
                            "--force or another --out)", path=str(ld.path), key="outcome")
    first = ok[ok["replicate"] == 0].set_index("point").sort_index()
    table = pd.DataFrame({"point": first.index.to_numpy()})
    for name, label in zip(ld.names, ld.labels):
        col = first[name].to_numpy()
        kind = spec.parameters[name].dist
        table[label] = ([str(v) for v in col] if kind == "categorical"
                        else col.astype(np.int64) if kind == "integer" else col.astype(float))
    table["outcome"] = values.mean(axis=1)
    table["outcome_sd"] = values.std(axis=1, ddof=1) if r > 1 else np.nan
    return table


def flag_cases(values: np.ndarray, condition: Condition) -> tuple[float, np.ndarray]:
    """(threshold in outcome units, case flag per point): v < below, v > above, v <= the q-quantile, v >= it
    (numpy's linear quantile of the point values)."""
    import numpy as np

    kind = condition.kind
    t = float(np.quantile(values, condition.value)) if kind.endswith("quantile") else condition.value
    case = {"below": values < t, "above": values > t, "below_quantile": values <= t,
            "above_quantile": values >= t}[kind]
    return t, case


def summary_text(res: DiscoveryResult) -> str:
    """The question, the counts and the chosen box with its limits (`sim.numbers.readable`) and quasi-p-values,
    as plain text; it says whether a box reached the density threshold or the densest was taken."""
    import math

    from sim.numbers import readable

    ld, p = res.loaded, res.prim
    dropped = [d for d in p.trajectory["dropped"] if d]
    spec = ld.spec
    peeled = p.trajectory[~p.trajectory["dropped"].astype(bool)]  # the peeling's own boxes, as `choose` sees them
    reached = bool((peeled["density"] >= spec.prim.threshold).any())
    cond = spec.condition
    lines = [
        f"{spec.name}: {spec.design.type} design, {spec.design.samples} points x {spec.replicates} replicates = "
        f"{res.runs} runs of {ld.scenario_path.name}",
        f"outcome {spec.outcome} (mean over replicates) {cond.describe()}"
        + (f" = {res.threshold:g}" if cond.kind.endswith("quantile") else "")
        + f": {p.cases} of {p.points} points ({p.cases / p.points:.1%})",
        f"box: step {p.chosen} of the peeling trajectory ("
        + (f"density >= {spec.prim.threshold:g}, highest coverage" if reached else
           f"no box reaches density {spec.prim.threshold:g}: the densest")
        + (f"; restrictions with quasi-p > {spec.prim.max_qp:g} dropped: {', '.join(dropped)})" if dropped else ")"),
        f"  coverage {p.coverage:.3f}  density {p.density:.3f}  mass {p.mass:.3f}  "
        f"({int(round(p.density * p.mass * p.points))} cases in {int(round(p.mass * p.points))} points)",
    ]
    if p.box.empty:
        lines.append("  no input restricted")
    for row in p.box.itertuples(index=False):
        if row.kind == "categorical":
            where = f"in {{{row.values.replace('|', ', ')}}}"
        else:
            where = (f"{readable(row.min)} .. {readable(row.max)}  "  # 11,901, not 1.19e+04 (an integer's limits)
                     f"(of {readable(row.data_min)} .. {readable(row.data_max)})")
        qp = "  ".join(f"qp {side} {v:.2g}" for side, v in (("min", row.qp_min), ("max", row.qp_max))
                       if not math.isnan(v))
        lines.append(f"  {row.parameter:<24} {where}  {qp}")
    return "\n".join(lines) + "\n"
