"""Calibration by approximate Bayesian computation (ABC) rejection, run through the sweep engine: the method and
the driver (`calibrate`); the distance is in `distance`, the rounds in `rounds`, the posterior in
`posterior`. The command is `sim.cli.calibrate`.

Method (docs/calibration.md has the reasoning and the Korea results):

1. Prior sample. `sampling.samples` points of a scrambled Sobol (or Latin hypercube) design over the free
   parameters, each mapped through its prior (uniform: low + u (high - low); loguniform: exp(ln low + u (ln high -
   ln low))), `sampling.replicates` runs per point with common random numbers. The sweep engine runs them
   (parallel, Dask, resumable) in OUT/sweep from the spec it is given in OUT/sweep_spec.yaml.
2. Summary of a point, pooled over its replicates: simulated yearly arrivals (mean over replicates, times
   count_scale = base population.size / `population_size` when the calibration runs a smaller population; at
   fixed rates every person decides independently, so expected counts are proportional to the size); the female
   share of arrivals over the female-share years (female arrivals / arrivals); the share of the target routes
   among arrivals over the route-share years, smoothed as (k + 1/2) / (n + 1) on the raw counts.
3. Distance to the observed data (every term >= 0; a term is left out when its target is not given):

       D = w_a * sqrt(mean_k (ln(1 + sim_k) - ln(1 + obs_k))^2)      k: observed periods compared like with like
         + w_f * |ln(f_sim / f_obs)|                                  (sim.observed.compare_yearly)
         + w_r * |ln(r_sim / r_obs)|

   A route share known only as a range [lo, hi] costs nothing inside it and ln(lo / r) or ln(r / hi) outside.

4. Acceptance. epsilon is the `accept.quantile` quantile of the distances; the points with D <= epsilon are the
   posterior sample (rejection ABC: the prior restricted to D <= epsilon).
5. Optional refinement (`refine`), a second round on a narrower box: in the prior's own scale (u in [0, 1] per
   parameter) the box spans the accepted points widened by `expand` times their range on each side; `samples`
   new Sobol points fill it (OUT/sweep_round2; derived from round 1 and the targets, so replaced when they
   change). Both rounds' points inside the box are a uniform sample of the prior truncated to the box; accepting
   those within round 1's epsilon (default) samples the same posterior more densely, valid while the box holds
   the whole region D <= epsilon (it is built to); `refine.quantile` accepts a quantile of them instead.
6. Calibrated values: the posterior median of each parameter (or the accepted point of least distance), rounded
   to 3 significant digits (a count to the nearest whole number, within the prior's bounds), run
   `check.replicates` times at the base scenario's own size (OUT/check) to report the distance they achieve.

With `method: smc`, step 5 is sequential ABC instead (sim/analysis/calibration/smc.py for the algorithm,
sequential.py for its generations as sweeps OUT/smc_<generation>_<batch>): the posterior is the last complete
generation's particles with their weights, and steps 6 and the tables use weighted quantiles.

Identifiability: for each parameter, the width of the posterior's 90% interval over the prior's, both in the
prior's scale (log scale for loguniform): near 1 means the data did not narrow the prior.
"""


from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.api_checks import optional_path_argument, path_argument, run_options
from sim.analysis.calibration.distance import (arrival_errors, distance, point_predictions, predicted, score_points,
                                               terms)
from sim.analysis.calibration.holdout import SMC_NOTE, Holdout, holdout
from sim.analysis.calibration.posterior import (BOX_LIMITED, accept, box_limited, box_points, candidate_values,
                                                in_box, posterior_table, predictive, refine_box, share_predictive,
                                                too_few_points_note, weights_of)
from sim.analysis.calibration.rounds import lack_time_series, make_round, run_round
from sim.analysis.calibration.sequential import PREFIX, run_sequential
from sim.analysis.dirs import AnalysisDir, check_design, claim_analysis_dir, refuse_if_busy, undone_on_bad_input
from sim.errors import UsageError
from sim.analysis.calibration.scenario_file import check_scenario_target, format_value, write_scenario
from sim.analysis.calibration.spec import TARGET_NAMES, LoadedCalibration, load_calibration
from sim.numbers import readable
from sim.outputs import default_dir, path_from, real_target
from sim.provenance import stamp
from sim.weighted import weighted_spearman_matrix

Progress = Callable[[str, int, int], None]
KEEP = ["by_route", "by_year"]



# -------------------------------------------------------------------------------------------- driver


@dataclass
class CalibrationResult:
    out: Path
    points: pd.DataFrame
    posterior: pd.DataFrame
    epsilon: float
    table: pd.DataFrame
    values: dict[str, float]
    check: dict
    runs: int
    failed: int
    rounds: int
    notes: list[str] = field(default_factory=list)
    box: dict[str, tuple[float, float]] | None = None  # round 2's box in unit coordinates
    generations: pd.DataFrame | None = None  # method: smc: one row per generation (sequential.generations_table)
    holdout: Holdout | None = None  # leave-one-target-out validation (holdout.py); None with method: smc
    report_removed: bool = False  # OUT/report.html, which bordersim wrote for the earlier analysis, was removed


ROUNDS = ("sweep", "sweep_round2", "check")
SMC_SWEEP = re.compile(PREFIX + r"[0-9]+_[0-9]+")  # OUT/smc_<generation>_<batch> (sequential.sweep_name)
HOLDOUT_FILES = ("holdout.csv", "holdout_summary.csv")
# what `write_outputs` writes, in its order: calibration.json, last, says the calibration finished
RESULT_FILES = ("points.csv", "posterior.csv", "posterior.parquet", "posterior_table.csv", "posterior_table.md",
                "predictive.csv", "shares_predictive.csv", "generations.csv", *HOLDOUT_FILES, "calibration.json")
OUTPUT_FILES = ("base.yaml", "check_base.yaml", *(f"{r}_spec.yaml" for r in ROUNDS), *RESULT_FILES)


def calibrate(spec: str | Path | LoadedCalibration, out: str | Path | None = None, *, workers: int | None = None,
              scheduler: str | None = None, force: bool = False, progress: Progress | None = None,
              write_scenario_path: str | Path | None = None) -> CalibrationResult:
    """Run (or resume) a calibration and write its outputs to `out` (default results/<name>); with
    `write_scenario_path`, also the calibrated scenario. `progress(stage, done, total)` is called as each run
    ends, with the round (sweep) it belongs to: 'sweep', 'sweep_round2', 'smc_<t>_<b>', 'check' (unlike the
    sweeps' and the other analyses' progress(done, total)). Interrupting raises SweepInterrupted; calling again
    resumes (finished runs are kept).

    Output rule (sim/outputs.py), checked before anything is written or run (UsageError otherwise): `out` is
    absent, empty or a calibration directory (marker `calibration`, written when it is created), which is
    resumed; OUT/sweep, OUT/sweep_round2 and OUT/check are absent, empty or bordersim sweep directories; the
    `write_scenario_path` target is checked by `check_scenario_target`; with `method: smc`, every OUT/smc_<t>_<b>
    already there is checked like the sweeps. Round 1's runs of a different design are discarded only with
    `force`; round 2, the generations and the check, derived from round 1's analysis, are replaced when that
    analysis changes. Nothing that bordersim did not make is deleted or overwritten."""
    workers, _ = run_options(workers=workers, progress=progress, force=force, progress_with=("stage", "done", "total"))
    refuse_if_busy(optional_path_argument(out, "out"), "calibration")  # before the spec, which takes seconds to read
    optional_path_argument(write_scenario_path, "write_scenario_path")
    lc = spec if isinstance(spec, LoadedCalibration) else load_calibration(path_argument(spec, "spec"))
    s = lc.spec
    out = real_target(out) if out is not None else default_dir(s.name)
    scenario_target = (check_scenario_target(write_scenario_path, lc.base_path)
                       if write_scenario_path is not None else None)
    derived = sorted(p.name for p in out.glob(f"{PREFIX}*")) if out.is_dir() else []  # method: smc's sweeps
    sweeps = [*ROUNDS, *(n for n in derived if SMC_SWEEP.fullmatch(n))]
    files = [*OUTPUT_FILES, *(n for n in derived if n.endswith("_spec.yaml") and SMC_SWEEP.fullmatch(n[:-10]))]
    with claim_analysis_dir(out, "calibration", force=force, sweeps=sweeps, files=files,
                            figures=(*(("posterior_predictive.png",) if s.targets.arrivals is not None else ()),
                                     "posterior_pairs.png"), results=RESULT_FILES,
                            derived=[n for n in sweeps if n != "sweep"]) as claim:
        priors = {n: {"dist": p.dist, "low": p.low, "high": p.high} for n, p in s.parameters.items()}
        first = make_round(lc, out, "sweep", "base.yaml", s.population_size,
                           {"type": s.sampling.design, "samples": s.sampling.samples}, priors, s.sampling.replicates,
                           s.sampling.seed)
        if not force and lack_time_series(out / "sweep", first.loaded):
            raise UsageError(f"{out / 'sweep'}: its runs kept no time series, which the route_share target over "
                             "part of the horizon needs (arrivals by route and year); pass --force to run them "
                             "again, or choose another --out")
        check_design(out / "sweep", first.loaded, force=force)
        earlier = _spec_sha256_of_results(out)
        claim.make()

        def starting(records_changed: bool) -> None:
            """A round the sweep engine accepted: if OUT's results are of another calibration (another spec, or a
            round's records changed), they go now, so that an interruption leaves OUT unfinished, not finished with
            the earlier calibration's results (`writing_results`)."""
            if records_changed or (earlier is not None and earlier != lc.sha256()):
                claim.writing_results()

        common: dict[str, Any] = {"workers": workers, "scheduler": scheduler, "progress": progress,
                                  "starting": starting}
        with undone_on_bad_input(claim, OUTPUT_FILES):  # every round: bad input a later one finds leaves OUT as it was
            design, per_run, failed = run_round(lc, out, first, replace=force, scale=lc.count_scale, **common)
            points = score_points(design, per_run, lc).assign(round=1)
            posterior, eps = accept(points, s.accept.quantile)
            rounds, notes, box, generations = 1, [], None, None
            limited: list[str] = []  # parameters whose region the refinement box may cut (`box_limited`)
            # Hold-out validation uses the prior sample only (later rounds and generations were steered by every
            # target)..
            validation = holdout(points, per_run, lc) if s.method != "smc" else None
            if s.method == "smc":
                seq = run_sequential(lc, out, points, per_run, **common)
                points, per_run, posterior, eps = seq.points, seq.per_run, seq.posterior, seq.epsilon
                failed += seq.failed
                notes += seq.notes
                generations = seq.generations
                rounds = len(generations)
            elif s.refine is not None:
                first_posterior = posterior
                box = refine_box(posterior, lc, s.refine.expand)
                cols = box_points(lc, box, s.refine.samples, s.sampling.seed + 1)
                # Round 2 is derived from round 1 and the targets: when they change, its old runs are stale and
                # replaced..
                second = make_round(lc, out, "sweep_round2", "base.yaml", s.population_size, {"type": "points"}, cols,
                                    s.sampling.replicates, s.sampling.seed)
                design2, per_run2, failed2 = run_round(lc, out, second, replace=True, scale=lc.count_scale,
                                                       **common)
                failed += failed2
                offset = int(points["point"].max()) + 1
                design2["point"] += offset
                per_run2["point"] += offset
                points2 = score_points(design2, per_run2, lc).assign(round=2)
                points = pd.concat([points, points2], ignore_index=True)
                per_run = pd.concat([per_run, per_run2], ignore_index=True)
                inside = in_box(points, lc, box)
                first_eps = eps
                posterior, eps = accept(points[inside], s.refine.quantile, None if s.refine.quantile else eps)
                if eps > first_eps:  # never wider than the first round's (docs/calibration.md, step 5)
                    posterior, eps = accept(points[inside], None, first_eps)
                rounds = 2
                in_unit = ", ".join(f"{n} [{a:.2f}, {b:.2f}]" for n, (a, b) in box.items())
                notes.append(f"round 2: {inside.sum()} points inside the box (both rounds), box in unit "
                             f"coordinates: {in_unit}")
                limited = box_limited(first_posterior, posterior, lc, box)
                if limited:
                    notes.append(f"the accepted points reach the edge of the refinement box in "
                                 f"{', '.join(limited)}: the region D <= epsilon may extend past it, so their "
                                 "intervals and width ratios measure the box, not the data (verdict "
                                 f"'{BOX_LIMITED}'); widen refine.expand, or calibrate without refine")
            points["accepted"] = points["point"].isin(posterior["point"])
            table = posterior_table(posterior, lc)
            if limited:
                table.loc[table["parameter"].isin(limited) & (table["verdict"] != "too few points"),
                          "verdict"] = BOX_LIMITED
            notes += too_few_points_note(posterior)
            values, check = run_check(lc, out, candidate_values(posterior, lc), **common)
        notes += validation.notes if validation is not None else [SMC_NOTE]
        result = CalibrationResult(out, points, posterior, eps, table, values, check, len(per_run), failed, rounds,
                                   notes, box, generations, validation)
        result.report_removed = claim.writing_results()
        write_outputs(result, lc, per_run, claim)
        if scenario_target is not None and write_scenario_path is not None:
            # checked again: a file of the user's may have appeared there while the runs ran
            scenario_target = check_scenario_target(write_scenario_path, lc.base_path)
            kept = write_scenario(scenario_target, lc.base_path, values,
                                  provenance(result, lc, scenario_target.parent))
            if not kept:
                notes.append("the calibrated scenario was written in resolved form (comments lost): a calibrated "
                             "value is not written out in the base file")
        return result


def _spec_sha256_of_results(out: Path) -> str | None:
    """The spec_sha256 recorded in OUT/calibration.json (the calibration whose results OUT holds), None when there
    is none or it cannot be read (a damaged record: the results are then treated as another calibration's)."""
    try:
        return str(json.loads((out / "calibration.json").read_text())["spec_sha256"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def run_check(lc: LoadedCalibration, out: Path, candidates: list[dict[str, float]], **common
              ) -> tuple[dict[str, float], dict]:
    """Run each candidate `check.replicates` times at the base scenario's own size (OUT/check, replaced when the
    candidates change); return the candidate whose pooled prediction has the least distance, and that distance
    with its terms."""
    cols = {n: [c[n] for c in candidates] for n in lc.names}
    rnd = make_round(lc, out, "check", "check_base.yaml", None, {"type": "points"}, cols, lc.spec.check.replicates,
                     lc.spec.sampling.seed)
    _, per_run, _ = run_round(lc, out, rnd, replace=True, scale=1.0, **common)
    preds = point_predictions(per_run) if not per_run.empty else {}
    scored = sorted((distance(pred, lc).total, i) for i, pred in preds.items())
    if not scored:
        return candidates[0], {"replicates": 0, "distance": math.inf, "candidates": len(candidates)}
    best = scored[0][1]
    pred = preds[best]
    d = distance(pred, lc)
    arrivals = arrival_errors(pred.arrivals, lc)
    return candidates[best], {
        "replicates": int((per_run["point"] == best).sum()), "population_size": lc.base.population.size,
        "candidates": len(candidates),
        "candidate_distances": [round(t, 4) for t, _ in sorted(scored, key=lambda x: x[1])],
        **terms(d), **predicted(pred),
        "median_abs_log_error": float(arrivals["log_error"].abs().median()) if len(arrivals) else None}


def _epsilon_source(s, rounds: int) -> str:
    """Where a rejection calibration's epsilon came from, for the provenance block."""
    if rounds == 2 and s.refine is not None and s.refine.quantile is not None:
        return (f" (epsilon: the {s.refine.quantile:.0%} quantile of the distances of the points in the box, at most "
                "round 1's)")
    return f" (epsilon: the {s.accept.quantile:.0%} quantile of the distances{' of round 1' if rounds == 2 else ''})"


def provenance(result: CalibrationResult, lc: LoadedCalibration, where: Path) -> list[str]:
    """The provenance block of a scenario file written into the directory `where` (the spec's path relative to it)."""
    s = lc.spec
    size = s.population_size or lc.base.population.size
    g = result.generations
    smc = (f"; {len(g) - 1} generation(s) after the prior sample, {int(g['proposals'].sum())} "
           f"points in all, epsilon {g['epsilon'].iloc[0]:.4f} -> {result.epsilon:.4f}" if g is not None else "")
    lines = [
        f"spec: {path_from(where, lc.path)} (sha256 {lc.sha256()[:16]})",
        f"date: {dt.date.today().isoformat()}",
        "made by: bordersim {version}, code_sha256 {code_sha256}".format(**stamp()),
        f"method: {'ABC rejection,' if g is None else 'sequential ABC (ABC-SMC) from a prior sample of'} "
        f"{s.sampling.samples} {s.sampling.design} points x {s.sampling.replicates} "
        f"replicates at population.size {size:,} (counts x {lc.count_scale:g})"
        + (f", refined by {s.refine.samples} points in a narrower box"
           if result.rounds == 2 and s.refine is not None else "") + smc,
        f"accepted: {len(result.posterior)} of {len(result.points)} points, those with distance <= epsilon "
        f"{result.epsilon:.4f}" + (" (weighted)" if g is not None else _epsilon_source(s, result.rounds)),
        "values: " + ("posterior medians" if s.point == "median" else
                      f"of the {result.check.get('candidates', s.check.candidates)} accepted point(s) of least "
                      "distance, the one that did best when re-run at full size") + " (posterior 90% interval):",
    ]
    for _, row in result.table.iterrows():
        lines.append(f"  {row['parameter']} = {format_value(result.values[row['parameter']])}  "
                     f"[{readable(row['posterior_q05'])}, {readable(row['posterior_q95'])}], prior {row['prior']} "
                     f"[{readable(row['prior_low'])}, {readable(row['prior_high'])}], {row['verdict']}")
    c = result.check
    parts = ", ".join(f"{name.replace('_', ' ')} {c[f'd_{name}']:.4f}" for name in TARGET_NAMES
                      if c.get(f"d_{name}") is not None and math.isfinite(c[f"d_{name}"]))
    lines.append(f"distance achieved by these values: {c['distance']:.4f} (replicates pooled: {c['replicates']} "
                 f"seeds at population.size {lc.base.population.size:,}; terms: {parts})")
    return lines


def write_outputs(result: CalibrationResult, lc: LoadedCalibration, per_run: pd.DataFrame,
                  claim: AnalysisDir) -> None:
    """OUT/points.csv, posterior.csv and .parquet, posterior_table.csv and .md, predictive.csv,
    shares_predictive.csv, calibration.json; predictive.csv with an arrivals target, generations.csv with method:
    smc, holdout.csv and holdout_summary.csv with a hold-out validation; each of these is removed otherwise (a
    calibration directory's own files, left by an earlier calibration in OUT: they would describe another one).
    Nothing written depends on the day or the machine. calibration.json, which says the calibration finished
    (`sim.directories.kind_of`), is written last. Each is written through `claim.result`, which records it."""
    out = result.out
    _write_table(claim, result.points, "points.csv")
    _write_table(claim, result.posterior, "posterior.csv")
    with claim.result("posterior.parquet") as tmp:
        result.posterior.to_parquet(tmp, index=False)
    _write_table(claim, result.table.assign(written=[result.values[p] for p in result.table["parameter"]]),
                 "posterior_table.csv")
    claim.write_result("posterior_table.md", table_markdown(result.table, result.values) + "\n")
    accepted = result.posterior["point"].tolist()
    weights = (dict(zip(result.posterior["point"], result.posterior["weight"]))
               if "weight" in result.posterior else None)
    _write_or_remove(claim, predictive(per_run, accepted, lc, weights) if lc.spec.targets.arrivals is not None
                     else None, "predictive.csv")
    _write_table(claim, share_predictive(per_run, accepted, lc, weights), "shares_predictive.csv")
    _write_or_remove(claim, result.generations, "generations.csv")
    holdout = result.holdout if result.holdout is not None and not result.holdout.summary.empty else None
    _write_or_remove(claim, None if holdout is None else holdout.table, "holdout.csv")
    _write_or_remove(claim, None if holdout is None else holdout.summary, "holdout_summary.csv")
    summary = {
        "spec": path_from(out, lc.path), "spec_sha256": lc.sha256(),
        "name": lc.spec.name, "priors": {n: p.model_dump() for n, p in lc.spec.parameters.items()},
        "count_scale": lc.count_scale, "rounds": result.rounds, "points": len(result.points),
        "runs": result.runs, "failed_runs": result.failed, "epsilon": result.epsilon,
        "accepted": len(result.posterior), "values": result.values, "check": result.check,
        "notes": result.notes, "made_by": stamp(),
        **({"method": "smc", "generations": result.generations.to_dict(orient="records"),
            "ess": float(result.generations[result.generations["complete"]]["ess"].iloc[-1])}
           if result.generations is not None else {}),
        # Spearman's rho among the accepted points, weighted by their SMC weights (sim.weighted)
        "correlation": weighted_spearman_matrix(result.posterior, lc.names, weights_of(result.posterior))
        .round(3).to_dict() if len(result.posterior) > 2 else {},
    }
    claim.write_result("calibration.json", json.dumps(_plain(summary), indent=2) + "\n")


def _write_or_remove(claim: AnalysisDir, table: pd.DataFrame | None, name: str) -> None:
    """`_write_table`, or remove OUT/NAME when this calibration has no such table (an earlier run in OUT with
    another method or targets wrote it: left there, it would describe another calibration)."""
    if table is None:
        (claim.out / name).unlink(missing_ok=True)
    else:
        _write_table(claim, table, name)


def _write_table(claim: AnalysisDir, table: pd.DataFrame, name: str) -> None:
    """OUT/NAME, CSV without the index, through `claim.result` (a temporary file renamed into place)."""
    with claim.result(name) as tmp:
        table.to_csv(tmp, index=False)


def _plain(obj):
    """JSON-safe copy: numpy numbers as Python numbers, NaN and infinity as null."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def table_markdown(table: pd.DataFrame, values: dict[str, float]) -> str:
    """The fit table as Markdown: prior, posterior median and 90% interval, width ratio, verdict, value written
    (`sim.numbers.readable`: 15,012, not 1.5e+04)."""
    lines = ["| parameter | prior | posterior median | posterior 90% | width ratio | verdict | written |",
             "|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        prior = f"[{readable(r['prior_low'])}, {readable(r['prior_high'])}]"
        interval = f"[{readable(r['posterior_q05'])}, {readable(r['posterior_q95'])}]"
        lines.append(f"| `{r['parameter']}` | {r['prior']} {prior} | {readable(r['posterior_median'])} | {interval} | "
                     f"{r['width_ratio']:.2f} | {r['verdict']} | {readable(values[r['parameter']])} |")
    return "\n".join(lines)
