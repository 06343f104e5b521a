"""The distance of a calibration (docs/calibration.md, step 3) and the summaries it compares: from the runs of a
sweep to per-run predictions, to per-point predictions, to scored points."""


from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.calibration.spec import TARGET_NAMES, LoadedCalibration, Years
from sim.outputs import read_parquet
from sim.observed import compare_yearly
from sim.outcomes import female_arrivals

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
    female_by_year: dict[int, float] = field(default_factory=dict)  # with female_share.by_year
    years_abroad: float = math.nan  # mean over the years_abroad target's arrivals, years
    repatriated: float = math.nan  # over the repatriations target's years, mean over replicates (x count_scale)

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
    years_abroad: float = math.nan
    repatriations: float = math.nan


def range_error(value: float, low: float, high: float) -> float:
    """The log-distance of a positive value to [low, high]: ln(low / value) below, ln(value / high) above, 0
    inside; infinite for a value <= 0 below a positive low."""
    if value < low:
        return math.log(low / value) if value > 0 else math.inf
    return math.log(value / high) if value > high else 0.0


def distance(pred: Prediction, lc: LoadedCalibration) -> Distance:
    """D = w_a RMSE_k[ln(1 + sim_k) - ln(1 + obs_k)] + w_f |ln(f_sim / f_obs)| + w_r |ln(r_sim / r_obs)|
    + w_y d(mean years abroad, [low, high]) + w_p d(repatriations, [floor, inf)), where d is the log-distance to a
    range (`range_error`, 0 inside; a route-share range likewise) and, with female_share.by_year, the female term
    is the mean over the observed years y of |ln(f_sim,y / f_obs,y)| (infinite when a year has no simulated
    arrivals, as the pooled share is). Repatriations are smoothed by + 1/2 so that none costs a finite amount."""
    t = lc.spec.targets
    out = Distance(0.0)
    if t.arrivals is not None:
        rows = arrival_errors(pred.arrivals, lc)
        out.arrivals = float(np.sqrt(np.mean(rows["log_error"] ** 2))) if len(rows) else math.inf
        out.total += t.arrivals.weight * out.arrivals
    if t.female_share is not None:
        if t.female_share.by_year:
            errs = [abs(math.log(pred.female_by_year[y] / f)) if pred.female_by_year.get(y, 0) > 0 else math.inf
                    for y, f in lc.female_by_year.items()]
            out.female_share = float(np.mean(errs))
        else:
            f = pred.female_share
            assert lc.female_observed is not None  # load_calibration sets it whenever there is a female_share target
            out.female_share = abs(math.log(f / lc.female_observed)) if f > 0 else math.inf
        out.total += t.female_share.weight * out.female_share
    if t.route_share is not None:
        out.route_share = t.route_share.error(pred.route_share) if pred.route_n > 0 else math.inf
        out.total += t.route_share.weight * out.route_share
    if t.years_abroad is not None:
        assert lc.abroad_range is not None  # load_calibration sets it with the target
        y = pred.years_abroad
        out.years_abroad = range_error(y, *lc.abroad_range) if math.isfinite(y) else math.inf
        out.total += t.years_abroad.weight * out.years_abroad
    if t.repatriations is not None:
        assert lc.repatriations_floor is not None
        out.repatriations = range_error(pred.repatriated + 0.5, lc.repatriations_floor, math.inf)
        out.total += t.repatriations.weight * out.repatriations
    return out


def arrival_errors(arrivals: dict[int, float], lc: LoadedCalibration) -> pd.DataFrame:
    """compare_yearly rows (like with like) of the arrivals target's periods; each year's simulated value rounded
    to a whole number of arrivals (Python's round: half to even) before the periods are summed and compared, as
    docs/calibration.md says."""
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
        share = ok[[f"year.{y}.female_share" for y in fy]].to_numpy(dtype=float)
        out["female_n"] = arr.sum(axis=1)
        out["female_k"] = female_arrivals(arr, share).sum(axis=1)
    if t.female_share is not None and t.female_share.by_year:
        for y in lc.female_by_year:
            out[f"fem.{y}"] = scale * female_arrivals(ok[f"year.{y}.arrived"].to_numpy(dtype=float),
                                                      ok[f"year.{y}.female_share"].to_numpy(dtype=float))
    if t.years_abroad is not None:
        ay = [y for y in years if t.years_abroad.years[0] <= y <= t.years_abroad.years[1]]
        arr = ok[[f"year.{y}.arrived" for y in ay]].to_numpy(dtype=float)
        abroad = np.nan_to_num(ok[[f"year.{y}.years_abroad" for y in ay]].to_numpy(dtype=float))
        out["abroad_n"] = arr.sum(axis=1)
        out["abroad_k"] = (arr * abroad).sum(axis=1)
    if t.repatriations is not None:
        ry = [y for y in years if t.repatriations.years[0] <= y <= t.repatriations.years[1]]
        out["repatriated"] = ok[[f"year.{y}.repatriated" for y in ry]].to_numpy(dtype=float).sum(axis=1) * scale
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
    ts = read_parquet(sweep_dir / "timeseries" / f"run_id={run_id}" / "part-0.parquet",
                      columns=["date", "route", "arrived"])
    yr = pd.DatetimeIndex(ts["date"]).year
    inside = (yr >= years[0]) & (yr <= years[1])
    arrived = ts["arrived"].to_numpy()[inside]
    on_route = ts["route"].astype(str).isin(routes).to_numpy()[inside]
    return float(arrived[on_route].sum()), float(arrived.sum())


def point_predictions(per_run: pd.DataFrame) -> dict[int, Prediction]:
    """Pool replicates: mean arrivals per year and repatriations; female shares, route counts and time abroad
    as sums over replicates."""
    preds = {}
    arr_cols = [c for c in per_run.columns if c.startswith("arr.")]
    for point, g in per_run.groupby("point"):
        arrivals = {int(c[4:]): float(g[c].mean()) for c in arr_cols}
        female = (g["female_k"].sum() / g["female_n"].sum()) if "female_n" in g and g["female_n"].sum() else math.nan
        k = float(g["route_k"].sum()) if "route_k" in g else 0.0
        n = float(g["route_n"].sum()) if "route_n" in g else 0.0
        by_year = {int(c[4:]): _ratio(g[c].sum(), g[f"arr.{c[4:]}"].sum())
                   for c in per_run.columns if c.startswith("fem.")}
        abroad = _ratio(g["abroad_k"].sum(), g["abroad_n"].sum()) if "abroad_n" in g else math.nan
        repatriated = float(g["repatriated"].mean()) if "repatriated" in g else math.nan
        preds[int(point)] = Prediction(arrivals, float(female), k, n, by_year, abroad, repatriated)
    return preds


PREDICTED = ("female_share", "route_share", "years_abroad", "repatriated")


def terms(d: Distance) -> dict[str, float]:
    """`distance` and a `d_<target>` column per target kind (NaN for a target not given)."""
    return {"distance": d.total, **{f"d_{name}": getattr(d, name) for name in TARGET_NAMES}}


def predicted(pred: Prediction) -> dict[str, float]:
    """What a point predicts for the targets other than the yearly arrivals (NaN where not computed)."""
    return {"female_share": pred.female_share, "route_share": pred.route_share if pred.route_n else math.nan,
            "years_abroad": pred.years_abroad, "repatriated": pred.repatriated}


def _ratio(k: float, n: float) -> float:
    return float(k / n) if n else math.nan


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
        rows.append({**row.to_dict(), "n_ok": int(n_ok.get(point, 0)), **terms(d),
                     **(predicted(pred) if pred else dict.fromkeys(PREDICTED, math.nan))})
    out = pd.DataFrame(rows)
    out["point"] = out["point"].astype(int)
    return out
