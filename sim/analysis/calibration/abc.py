"""Calibration by approximate Bayesian computation (ABC) rejection, run through the sweep engine: the method and
the driver (`calibrate`). The command and the public names are in sim.experiments.calibration.

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
   to 3 significant digits, run `check.replicates` times at the base scenario's own size (OUT/check) to report
   the distance they achieve.

Identifiability: for each parameter, the width of the posterior's 90% interval over the prior's, both in the
prior's scale (log scale for loguniform): near 1 means the data did not narrow the prior.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.stats import qmc

from sim.analysis.dirs import check_design, claim_analysis_dir, make_analysis_dir, run_owned_sweep
from sim.analysis.calibration.scenario_file import check_scenario_target, format_value, write_scenario
from sim.analysis.calibration.spec import LoadedCalibration, Prior, Years, load_calibration
from sim.experiments.spec import ExperimentSpec, LoadedSpec
from sim.observed import compare_yearly
from sim.outputs import atomic_path, atomic_write_text, default_dir, real_target
from sim.scenario.schema import Scenario
from sim.errors import ScenarioError
from sim.scenario.overrides import dump_scenario, scenario_to_dict, set_path
from sim.loading import validate_dict
from sim.scenario.validation import validate_model

Progress = Callable[[str, int, int], None]
KEEP = ["by_route", "by_year"]


# -------------------------------------------------------------------------------------------- distance


@dataclass
class Prediction:
    """What a parameter point predicts, pooled over its replicates.

    arrivals: year -> simulated arrivals (already times count_scale); female_share: female / arrivals over the
    female-share years; route_k, route_n: arrivals on the target routes and on all routes over the route-share
    years (raw counts, summed over replicates)."""

    arrivals: dict[int, float]
    female_share: float = math.nan
    route_k: float = 0.0
    route_n: float = 0.0

    @property
    def route_share(self) -> float:
        """(k + 1/2) / (n + 1): finite logarithm even when no arrival used the routes."""
        return (self.route_k + 0.5) / (self.route_n + 1.0)


@dataclass
class Distance:
    total: float
    arrivals: float = math.nan
    female_share: float = math.nan
    route_share: float = math.nan


def distance(pred: Prediction, lc: LoadedCalibration) -> Distance:
    """D = w_a RMSE_k[ln(1 + sim_k) - ln(1 + obs_k)] + w_f |ln(f_sim / f_obs)| + w_r |ln(r_sim / r_obs)|, where for
    a route-share range the last term is the log-distance to the range (0 inside)."""
    t = lc.spec.targets
    out = Distance(0.0)
    if t.arrivals is not None:
        rows = arrival_errors(pred.arrivals, lc)
        out.arrivals = float(np.sqrt(np.mean(rows["log_error"] ** 2))) if len(rows) else math.inf
        out.total += t.arrivals.weight * out.arrivals
    if t.female_share is not None:
        f = pred.female_share
        assert lc.female_observed is not None  # load_calibration sets it whenever there is a female_share target
        out.female_share = abs(math.log(f / lc.female_observed)) if f > 0 else math.inf
        out.total += t.female_share.weight * out.female_share
    if t.route_share is not None:
        out.route_share = t.route_share.error(pred.route_share) if pred.route_n > 0 else math.inf
        out.total += t.route_share.weight * out.route_share
    return out


def arrival_errors(arrivals: dict[int, float], lc: LoadedCalibration) -> pd.DataFrame:
    """compare_yearly rows (like with like) of the arrivals target's periods; simulated values rounded."""
    years = lc.spec.targets.arrivals.years if lc.spec.targets.arrivals else lc.horizon
    table = compare_yearly({int(y): round(v) for y, v in arrivals.items()}, lc.observed)
    keep = (table["period_start"] >= years[0]) & (table["period_end"] <= years[1])
    return table[keep].reset_index(drop=True)


# ---------------------------------------------------------------------------------- from runs to points


def _year_columns(df: pd.DataFrame) -> list[int]:
    return sorted({int(c.split(".")[1]) for c in df.columns if c.startswith("year.") and c.endswith(".arrived")})


def run_predictions(runs: pd.DataFrame, lc: LoadedCalibration, sweep_dir: Path, scale: float) -> pd.DataFrame:
    """Per successful run: its arrivals per year (times `scale`), female arrivals and arrivals over the
    female-share years, and target-route and all-route arrivals over the route-share years."""
    ok = runs[runs["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame(columns=["run_id", "point", "replicate"])
    years = _year_columns(ok)
    t = lc.spec.targets
    out = pd.DataFrame({"run_id": ok["run_id"].to_numpy(), "point": ok["point"].to_numpy(),
                        "replicate": ok["replicate"].to_numpy()})
    for y in years:
        out[f"arr.{y}"] = ok[f"year.{y}.arrived"].to_numpy(dtype=float) * scale
    if t.female_share is not None:
        fy = [y for y in years if t.female_share.years[0] <= y <= t.female_share.years[1]]
        arr = ok[[f"year.{y}.arrived" for y in fy]].to_numpy(dtype=float)
        share = np.nan_to_num(ok[[f"year.{y}.female_share" for y in fy]].to_numpy(dtype=float))
        out["female_n"] = arr.sum(axis=1)
        out["female_k"] = (arr * share).sum(axis=1)
    if t.route_share is not None:
        if lc.route_share_needs_timeseries:
            kn = [_route_counts(sweep_dir, rid, t.route_share.routes, t.route_share.years) for rid in out["run_id"]]
            out["route_k"] = [k for k, _ in kn]
            out["route_n"] = [n for _, n in kn]
        else:
            cols = [c for c in ok.columns if c.startswith("route.") and c.endswith(".arrived")]
            target = [f"route.{r}.arrived" for r in t.route_share.routes]
            out["route_k"] = ok[target].to_numpy(dtype=float).sum(axis=1)
            out["route_n"] = ok[cols].to_numpy(dtype=float).sum(axis=1)
    return out


def _route_counts(sweep_dir: Path, run_id: str, routes: list[str], years: Years) -> tuple[float, float]:
    ts = pd.read_parquet(sweep_dir / "timeseries" / f"run_id={run_id}" / "part-0.parquet",
                         columns=["date", "route", "arrived"])
    yr = pd.DatetimeIndex(ts["date"]).year
    inside = (yr >= years[0]) & (yr <= years[1])
    arrived = ts["arrived"].to_numpy()[inside]
    on_route = ts["route"].astype(str).isin(routes).to_numpy()[inside]
    return float(arrived[on_route].sum()), float(arrived.sum())


def point_predictions(per_run: pd.DataFrame) -> dict[int, Prediction]:
    """Pool replicates: mean arrivals per year; female share and route counts as sums over replicates."""
    preds = {}
    arr_cols = [c for c in per_run.columns if c.startswith("arr.")]
    for point, g in per_run.groupby("point"):
        arrivals = {int(c[4:]): float(g[c].mean()) for c in arr_cols}
        female = (g["female_k"].sum() / g["female_n"].sum()) if "female_n" in g and g["female_n"].sum() else math.nan
        k = float(g["route_k"].sum()) if "route_k" in g else 0.0
        n = float(g["route_n"].sum()) if "route_n" in g else 0.0
        preds[int(point)] = Prediction(arrivals, float(female), k, n)
    return preds


def score_points(design: pd.DataFrame, per_run: pd.DataFrame, lc: LoadedCalibration) -> pd.DataFrame:
    """The design table with, per point, the number of successful replicates and the distance and its terms
    (infinite for a point with no successful run)."""
    preds = point_predictions(per_run)
    n_ok = per_run.groupby("point").size()
    rows = []
    for _, row in design.iterrows():
        point = int(row["point"])
        d = distance(preds[point], lc) if point in preds else Distance(math.inf)
        pred = preds.get(point)
        rows.append({**row.to_dict(), "n_ok": int(n_ok.get(point, 0)), "distance": d.total,
                     "d_arrivals": d.arrivals, "d_female_share": d.female_share, "d_route_share": d.route_share,
                     "female_share": pred.female_share if pred else math.nan,
                     "route_share": pred.route_share if pred and pred.route_n else math.nan})
    out = pd.DataFrame(rows)
    out["point"] = out["point"].astype(int)
    return out


# -------------------------------------------------------------------------------------- sweep specs


def _mid(prior: Prior) -> float:
    return _round(prior.quantile(0.5))


def _round(x: float, digits: int = 3) -> float:
    """x to `digits` significant digits."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def _write_if_changed(path: Path, text: str) -> None:
    """Atomic write, skipped when the file already holds exactly this text (so reruns resume)."""
    if path.is_file() and path.read_text() == text:
        return
    atomic_write_text(path, text)


def base_scenario(lc: LoadedCalibration, size: int | None) -> Scenario:
    """The base scenario every run of a round starts from: the spec's base, resolved, with the calibration's
    population size, every free parameter at its prior median (each run overrides them) and the description and
    sources left out (they do not act on a run). The sweep's fingerprint then depends only on what acts on the
    runs and is not calibrated, so writing calibrated values or editing the text of the base scenario keeps the
    runs made."""
    data = scenario_to_dict(lc.base)
    data["description"] = ""
    data["sources"] = []
    if size is not None:
        data["population"]["size"] = size
    for name, prior in lc.spec.parameters.items():
        for one in name.split(","):
            set_path(data, one.strip(), _typed(data, one.strip(), _mid(prior)), source=str(lc.path))
    return validate_dict(data, path=str(lc.base_path))


def _typed(data: dict, path: str, value: float):
    """The value as an int where the scenario holds an int there."""
    node = data
    for part in path.split("."):
        if isinstance(node, list):
            node = next(x for x in node if str(x.get("id", x.get("name"))) == part)
        else:
            node = node[part]
    return round(value) if isinstance(node, int) and not isinstance(node, bool) else float(value)


@dataclass
class Round:
    """One sweep of a calibration, run in OUT/<name>: the experiment spec the sweep engine runs (`loaded`, built
    in memory so that its fingerprint can be compared with OUT/<name> before anything is written), and the texts
    of its base scenario (OUT/<base_file>) and spec (OUT/<name>_spec.yaml), written for the record and so that
    `bordersim sweep OUT/<name>_spec.yaml --out OUT/<name>` resumes the same sweep."""

    name: str
    base_file: str
    base_text: str
    spec_text: str
    loaded: LoadedSpec


def make_round(lc: LoadedCalibration, out: Path, name: str, base_file: str, size: int | None, design: dict,
               parameters: dict, replicates: int, seed: int) -> Round:
    """An experiment spec (docs/experiments.md) for one round; its base scenario is named relative to the spec
    (both live in OUT), so a calibration directory can be moved and still resume."""
    scenario = base_scenario(lc, size)
    base_text = (f"# Base of a calibration sweep, written by `bordersim calibrate {lc.path.name}` from "
                 f"{lc.base_path}.\n# Free parameters sit at their prior medians here; every run sets its own "
                 "values.\n" + dump_scenario(scenario))
    spec = {
        "name": f"{lc.spec.name}-{name}",
        "description": f"written by `bordersim calibrate {lc.path.name}`",
        "scenario": base_file,
        "parameters": parameters,
        "design": design,
        "replicates": replicates,
        "seed": seed,
        "outputs": {"keep": KEEP, "timeseries": lc.route_share_needs_timeseries},
    }
    spec_path = out / f"{name}_spec.yaml"
    loaded = LoadedSpec(validate_model(ExperimentSpec, spec, path=str(spec_path)), spec_path, scenario)
    return Round(name, base_file, base_text, yaml.safe_dump(spec, sort_keys=False, width=110), loaded)


def run_round(lc: LoadedCalibration, out: Path, rnd: Round, *, replace: bool, workers, scheduler,
              progress: Progress | None, scale: float) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Run one round through the sweep engine in OUT/<name>; return (design table, per-run predictions of the
    successful runs, number of failed runs). Runs of another design in OUT/<name> are replaced when `replace`
    (by the sweep engine, only a bordersim sweep directory: `sim.analysis.dirs.run_owned_sweep`),
    else refused."""
    from sim.experiments.sweep import plan

    _write_if_changed(out / rnd.base_file, rnd.base_text)
    _write_if_changed(out / f"{rnd.name}_spec.yaml", rnd.spec_text)
    cb = (lambda done, total: progress(rnd.name, done, total)) if progress else None
    p = plan(rnd.loaded)
    runs = run_owned_sweep(p, out / rnd.name, replace=replace, workers=workers, scheduler=scheduler, progress=cb)
    points = p.points
    if runs.empty:
        return points, pd.DataFrame(columns=["run_id", "point", "replicate"]), 0
    failed = int((runs["status"] != "ok").sum())
    return points, run_predictions(runs, lc, out / rnd.name, scale), failed


# ------------------------------------------------------------------------------------------- analysis


def accept(points: pd.DataFrame, quantile: float | None, eps: float | None = None) -> tuple[pd.DataFrame, float]:
    """Rejection: epsilon = the `quantile` quantile of the finite distances (lower interpolation, so epsilon is
    an attained distance), or the given `eps` (one of the two must be given); keep the points with distance <=
    epsilon."""
    finite = points["distance"][np.isfinite(points["distance"])]
    if finite.empty:
        raise ScenarioError("no parameter point produced a finite distance (every run failed, or no arrivals); "
                            "see the failed runs in the sweep directory")
    if eps is None:
        if quantile is None:
            raise ValueError("accept needs a quantile or an epsilon")
        eps = float(np.quantile(finite.to_numpy(), quantile, method="lower"))
    keep = points[points["distance"] <= eps].sort_values("distance").reset_index(drop=True)
    return keep, eps


def posterior_table(posterior: pd.DataFrame, lc: LoadedCalibration) -> pd.DataFrame:
    """Per parameter: prior and its 90% interval, posterior median and 90% interval, and the width ratio of the
    90% intervals (posterior / prior) in the prior's scale, with a plain verdict."""
    rows = []
    for name, prior in lc.spec.parameters.items():
        x = posterior[name].to_numpy(dtype=float)
        q05, q50, q95 = (float(np.quantile(x, q)) for q in (0.05, 0.5, 0.95))
        p05, p95 = prior.quantile(0.05), prior.quantile(0.95)
        ratio = float((prior.to_scale(q95) - prior.to_scale(q05)) / (prior.to_scale(p95) - prior.to_scale(p05)))
        rows.append({"parameter": name, "prior": prior.dist, "prior_low": prior.low, "prior_high": prior.high,
                     "prior_q05": p05, "prior_q95": p95, "posterior_median": q50, "posterior_q05": q05,
                     "posterior_q95": q95, "width_ratio": ratio, "verdict": verdict(ratio)})
    return pd.DataFrame(rows)


def verdict(ratio: float) -> str:
    """< 0.5: pinned down; 0.5-0.8: partly; >= 0.8: not pinned down by these data."""
    return "pinned down" if ratio < 0.5 else "partly" if ratio < 0.8 else "not pinned down"


def candidate_values(posterior: pd.DataFrame, lc: LoadedCalibration) -> list[dict[str, float]]:
    """Values to check: the posterior medians, or (point: best) the `check.candidates` accepted points of least
    distance; 3 significant digits, typed like the base."""
    full = scenario_to_dict(lc.base)
    if lc.spec.point == "best":
        rows = posterior.sort_values("distance").head(lc.spec.check.candidates)
        raws = [{n: float(row[n]) for n in lc.names} for _, row in rows.iterrows()]
    else:
        raws = [{n: float(np.median(posterior[n].to_numpy(dtype=float))) for n in lc.names}]
    return [{n: _typed(full, n.split(",")[0].strip(), _round(v)) for n, v in raw.items()} for raw in raws]


def refine_box(posterior: pd.DataFrame, lc: LoadedCalibration, expand: float) -> dict[str, tuple[float, float]]:
    """Per parameter, the accepted range in unit (prior-scale) coordinates, widened by `expand` of its width
    (at least 0.02) on each side, within [0, 1]."""
    box = {}
    for name, prior in lc.spec.parameters.items():
        u = prior.to_unit(posterior[name].to_numpy(dtype=float))
        lo, hi = float(u.min()), float(u.max())
        pad = max(expand * (hi - lo), 0.02)
        box[name] = (max(0.0, lo - pad), min(1.0, hi + pad))
    return box


def in_box(points: pd.DataFrame, lc: LoadedCalibration, box: dict) -> np.ndarray:
    inside = np.ones(len(points), dtype=bool)
    for name, prior in lc.spec.parameters.items():
        u = prior.to_unit(points[name].to_numpy(dtype=float))
        inside &= (u >= box[name][0] - 1e-12) & (u <= box[name][1] + 1e-12)
    return inside


def box_points(lc: LoadedCalibration, box: dict, samples: int, seed: int) -> dict[str, list[float]]:
    """Scrambled Sobol points filling the box (in unit coordinates), mapped through the priors."""
    u = qmc.Sobol(d=len(box), scramble=True, rng=np.random.default_rng(seed)).random(samples)
    cols = {}
    for i, (name, prior) in enumerate(lc.spec.parameters.items()):
        lo, hi = box[name]
        cols[name] = [float(v) for v in prior.from_unit(lo + u[:, i] * (hi - lo))]
    return cols


def predictive(per_run: pd.DataFrame, points: list[int], lc: LoadedCalibration) -> pd.DataFrame:
    """Posterior predictive per observed period: the 5%, 50% and 95% quantiles over every run of the accepted
    points (parameter and simulation uncertainty), next to the observed value, compared like with like."""
    runs = per_run[per_run["point"].isin(points)]
    arr_cols = [c for c in runs.columns if c.startswith("arr.")]
    sims = []
    for _, r in runs.iterrows():
        table = arrival_errors({int(c[4:]): float(r[c]) for c in arr_cols}, lc)
        sims.append(table["simulated"].to_numpy(dtype=float))
    table = arrival_errors({int(c[4:]): 0.0 for c in arr_cols}, lc).drop(columns=["difference", "log_error"])
    values = np.vstack(sims)
    for q, col in ((0.05, "q05"), (0.5, "median"), (0.95, "q95")):
        table[col] = np.quantile(values, q, axis=0)
    table = table.drop(columns=["simulated"])
    table["inside_90"] = (table["observed"] >= table["q05"]) & (table["observed"] <= table["q95"])
    return table


def share_predictive(per_run: pd.DataFrame, points: list[int], lc: LoadedCalibration) -> pd.DataFrame:
    """The share targets: observed value (or range: low, high) and the 5/50/95% quantiles over the accepted
    points' runs."""
    runs = per_run[per_run["point"].isin(points)]
    rows = []
    t = lc.spec.targets
    if t.female_share is not None and "female_n" in runs:
        s = (runs["female_k"] / runs["female_n"].where(runs["female_n"] > 0)).dropna()
        rows.append(("female_share", t.female_share.years, (lc.female_observed,) * 2, s))
    if t.route_share is not None and "route_n" in runs:
        s = (runs["route_k"] + 0.5) / (runs["route_n"] + 1.0)
        rows.append(("route_share", t.route_share.years, t.route_share.bounds, s))
    return pd.DataFrame([{"target": n, "years": f"{y[0]}-{y[1]}", "observed_low": o[0], "observed_high": o[1],
                          "q05": float(np.quantile(s, 0.05)) if len(s) else math.nan,
                          "median": float(np.quantile(s, 0.5)) if len(s) else math.nan,
                          "q95": float(np.quantile(s, 0.95)) if len(s) else math.nan} for n, y, o, s in rows],
                        columns=["target", "years", "observed_low", "observed_high", "q05", "median", "q95"])



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


ROUNDS = ("sweep", "sweep_round2", "check")
OUTPUT_FILES = ("base.yaml", "check_base.yaml", *(f"{r}_spec.yaml" for r in ROUNDS), "points.csv", "posterior.csv",
                "posterior.parquet", "posterior_table.csv", "posterior_table.md", "predictive.csv",
                "shares_predictive.csv", "calibration.json")


def calibrate(spec: str | Path | LoadedCalibration, out: str | Path | None = None, *, workers: int | None = None,
              scheduler: str | None = None, force: bool = False, progress: Progress | None = None,
              write_scenario_path: str | Path | None = None) -> CalibrationResult:
    """Run (or resume) a calibration and write its outputs to `out` (default results/<name>); with
    `write_scenario_path`, also the calibrated scenario. Interrupting raises SweepInterrupted; calling again
    resumes (finished runs are kept).

    Output rule (sim/outputs.py), checked before anything is written or run (UsageError otherwise): `out` is
    absent, empty or a calibration directory (marker `calibration`, written when it is created), which is
    resumed; OUT/sweep, OUT/sweep_round2 and OUT/check are absent, empty or bordersim sweep directories; the
    `write_scenario_path` target is checked by `check_scenario_target`. Round 1's runs of a different design are
    discarded only with `force`; round 2 and the check, derived from round 1's analysis, are replaced when that
    analysis changes. Nothing that bordersim did not make is deleted or overwritten."""
    lc = spec if isinstance(spec, LoadedCalibration) else load_calibration(spec)
    s = lc.spec
    out = real_target(out) if out is not None else default_dir(s.name)
    scenario_target = (check_scenario_target(write_scenario_path, lc.base_path)
                       if write_scenario_path is not None else None)
    existed = claim_analysis_dir(out, "calibration", force=force, sweeps=list(ROUNDS), files=list(OUTPUT_FILES))
    priors = {n: {"dist": p.dist, "low": p.low, "high": p.high} for n, p in s.parameters.items()}
    first = make_round(lc, out, "sweep", "base.yaml", s.population_size,
                       {"type": s.sampling.design, "samples": s.sampling.samples}, priors, s.sampling.replicates,
                       s.sampling.seed)
    check_design(out / "sweep", first.loaded, force=force)
    make_analysis_dir(out, "calibration", existed)
    common: dict[str, Any] = {"workers": workers, "scheduler": scheduler, "progress": progress}
    design, per_run, failed = run_round(lc, out, first, replace=force, scale=lc.count_scale, **common)
    points = score_points(design, per_run, lc).assign(round=1)
    posterior, eps = accept(points, s.accept.quantile)
    rounds, notes, box = 1, [], None
    if s.refine is not None:
        box = refine_box(posterior, lc, s.refine.expand)
        cols = box_points(lc, box, s.refine.samples, s.sampling.seed + 1)
        # Round 2 is derived from round 1 and the targets: when they change, its old runs are stale and replaced.
        second = make_round(lc, out, "sweep_round2", "base.yaml", s.population_size, {"type": "points"}, cols,
                            s.sampling.replicates, s.sampling.seed)
        design2, per_run2, failed2 = run_round(lc, out, second, replace=True, scale=lc.count_scale, **common)
        failed += failed2
        offset = int(points["point"].max()) + 1
        design2["point"] += offset
        per_run2["point"] += offset
        points2 = score_points(design2, per_run2, lc).assign(round=2)
        points = pd.concat([points, points2], ignore_index=True)
        per_run = pd.concat([per_run, per_run2], ignore_index=True)
        inside = in_box(points, lc, box)
        posterior, eps = accept(points[inside], s.refine.quantile, None if s.refine.quantile else eps)
        rounds = 2
        notes.append(f"round 2: {inside.sum()} points inside the box (both rounds), "
                     f"box in unit coordinates: " + ", ".join(f"{n} [{a:.2f}, {b:.2f}]" for n, (a, b) in box.items()))
    points["accepted"] = points["point"].isin(posterior["point"])
    table = posterior_table(posterior, lc)
    values, check = run_check(lc, out, candidate_values(posterior, lc), **common)
    result = CalibrationResult(out, points, posterior, eps, table, values, check, len(per_run), failed, rounds,
                               notes, box)
    write_outputs(result, lc, per_run)
    if scenario_target is not None:
        kept = write_scenario(scenario_target, lc.base_path, values, provenance(result, lc))
        if not kept:
            notes.append("the calibrated scenario was written in resolved form (comments lost): a calibrated "
                         "value is not written out in the base file")
    return result


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
        "distance": d.total, "d_arrivals": d.arrivals, "d_female_share": d.female_share,
        "d_route_share": d.route_share, "female_share": pred.female_share,
        "route_share": pred.route_share if pred.route_n else None,
        "median_abs_log_error": float(arrivals["log_error"].abs().median()) if len(arrivals) else None}


def provenance(result: CalibrationResult, lc: LoadedCalibration) -> list[str]:
    s = lc.spec
    size = s.population_size or lc.base.population.size
    lines = [
        f"spec: {lc.path} (sha256 {lc.sha256()[:16]})",
        f"date: {dt.date.today().isoformat()}",
        f"method: ABC rejection, {s.sampling.samples} {s.sampling.design} points x {s.sampling.replicates} "
        f"replicates at population.size {size:,} (counts x {lc.count_scale:g})"
        + (f", refined by {s.refine.samples} points in a narrower box"
           if result.rounds == 2 and s.refine is not None else ""),
        f"accepted: {len(result.posterior)} points (closest {s.accept.quantile:.0%}), epsilon {result.epsilon:.4f}",
        "values: " + ("posterior medians" if s.point == "median" else
                      f"of the {s.check.candidates} accepted point(s) of least distance, the one that did best when "
                      f"re-run at full size") + " (posterior 90% interval):",
    ]
    for _, row in result.table.iterrows():
        lines.append(f"  {row['parameter']} = {format_value(result.values[row['parameter']])}  "
                     f"[{row['posterior_q05']:.3g}, {row['posterior_q95']:.3g}], prior {row['prior']} "
                     f"[{row['prior_low']:g}, {row['prior_high']:g}], {row['verdict']}")
    c = result.check
    terms = ", ".join(f"{label} {c[key]:.4f}" for key, label in (("d_arrivals", "arrivals"),
                      ("d_female_share", "female share"), ("d_route_share", "route share"))
                      if c.get(key) is not None and math.isfinite(c[key]))
    lines.append(f"distance achieved by these values: {c['distance']:.4f} (replicates pooled: {c['replicates']} "
                 f"seeds at population.size {lc.base.population.size:,}; terms: {terms})")
    return lines


def write_outputs(result: CalibrationResult, lc: LoadedCalibration, per_run: pd.DataFrame) -> None:
    """OUT/points.csv, posterior.csv and .parquet, posterior_table.csv and .md, predictive.csv,
    shares_predictive.csv, calibration.json."""
    out = result.out
    _write_table(result.points, out / "points.csv")
    _write_table(result.posterior, out / "posterior.csv")
    with atomic_path(out / "posterior.parquet") as tmp:
        result.posterior.to_parquet(tmp, index=False)
    _write_table(result.table, out / "posterior_table.csv")
    atomic_write_text(out / "posterior_table.md", table_markdown(result.table, result.values) + "\n")
    accepted = result.posterior["point"].tolist()
    if lc.spec.targets.arrivals is not None:
        _write_table(predictive(per_run, accepted, lc), out / "predictive.csv")
    _write_table(share_predictive(per_run, accepted, lc), out / "shares_predictive.csv")
    summary = {
        "spec": str(lc.path), "spec_sha256": lc.sha256(), "date": dt.date.today().isoformat(),
        "name": lc.spec.name, "priors": {n: p.model_dump() for n, p in lc.spec.parameters.items()},
        "count_scale": lc.count_scale, "rounds": result.rounds, "points": len(result.points),
        "runs": result.runs, "failed_runs": result.failed, "epsilon": result.epsilon,
        "accepted": len(result.posterior), "values": result.values, "check": result.check,
        "notes": result.notes,
        "correlation": result.posterior[lc.names].corr(method="spearman").round(3).to_dict()
        if len(result.posterior) > 2 else {},
    }
    atomic_write_text(out / "calibration.json", json.dumps(_plain(summary), indent=2) + "\n")


def _write_table(table: pd.DataFrame, path: Path) -> None:
    """CSV without the index, through a temporary file renamed into place (sim.outputs.atomic_path)."""
    with atomic_path(path) as tmp:
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
    """The fit table as Markdown: prior, posterior median and 90% interval, width ratio, verdict, value written."""
    lines = ["| parameter | prior | posterior median | posterior 90% | width ratio | verdict | written |",
             "|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| `{r['parameter']}` | {r['prior']} [{r['prior_low']:.3g}, {r['prior_high']:.3g}] | "
                     f"{r['posterior_median']:.3g} | [{r['posterior_q05']:.3g}, {r['posterior_q95']:.3g}] | "
                     f"{r['width_ratio']:.2f} | {r['verdict']} | {values[r['parameter']]:.3g} |")
    return "\n".join(lines)
