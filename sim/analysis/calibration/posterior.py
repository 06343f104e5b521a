"""From scored points to the posterior: acceptance, the posterior table and its identifiability verdicts, the
refinement box, the calibrated values, the posterior predictive."""


from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.analysis.calibration.distance import arrival_errors
from sim.analysis.calibration.rounds import round_sig, typed_value
from sim.analysis.calibration.smc import weighted_quantile
from sim.analysis.calibration.spec import LoadedCalibration
from sim.errors import ScenarioError
from sim.scenario.overrides import scenario_to_dict

Progress = Callable[[str, int, int], None]
KEEP = ["by_route", "by_year"]
# Fewer effective points than this and a posterior's 90% interval is about its extreme points: it says nothing of
# how well the data pin a parameter down, and the verdict says so instead of "pinned down" (a width of 0 from one
# accepted point).
MIN_POSTERIOR_POINTS = 10



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


def weights_of(posterior: pd.DataFrame) -> np.ndarray | None:
    """The posterior's `weight` column (sequential ABC), or None for an equally weighted sample."""
    return posterior["weight"].to_numpy(dtype=float) if "weight" in posterior else None


def effective_points(posterior: pd.DataFrame) -> float:
    """The number of points the posterior rests on: its rows, or for a weighted one (sequential ABC) the effective
    sample size (sum w)^2 / sum w^2."""
    w = weights_of(posterior)
    return float(len(posterior)) if w is None else float(w.sum() ** 2 / (w ** 2).sum())


def too_few_points_note(posterior: pd.DataFrame) -> list[str]:
    """The note of a posterior on fewer than MIN_POSTERIOR_POINTS effective points (none otherwise)."""
    n = effective_points(posterior)
    if n >= MIN_POSTERIOR_POINTS:
        return []
    return [f"the posterior rests on {n:.3g} effective point(s), fewer than {MIN_POSTERIOR_POINTS}: its intervals "
            "are about its extreme points and say nothing of how well the data pin the parameters down (verdict "
            "'too few points'); accept more points (a larger accept.quantile, more samples or particles)"]


def posterior_table(posterior: pd.DataFrame, lc: LoadedCalibration) -> pd.DataFrame:
    """Per parameter: prior and its 90% interval, posterior median and 90% interval (weighted quantiles when the
    posterior has a `weight` column), and the width ratio of the 90% intervals (posterior / prior) in the prior's
    scale, with a plain verdict ('too few points' on fewer than MIN_POSTERIOR_POINTS effective points)."""
    rows = []
    few = effective_points(posterior) < MIN_POSTERIOR_POINTS
    w = weights_of(posterior)
    for name, prior in lc.spec.parameters.items():
        x = posterior[name].to_numpy(dtype=float)
        q05, q50, q95 = (float(weighted_quantile(x, q, w)) for q in (0.05, 0.5, 0.95))
        p05, p95 = prior.quantile(0.05), prior.quantile(0.95)
        ratio = float((prior.to_scale(q95) - prior.to_scale(q05)) / (prior.to_scale(p95) - prior.to_scale(p05)))
        rows.append({"parameter": name, "prior": prior.dist, "prior_low": prior.low, "prior_high": prior.high,
                     "prior_q05": p05, "prior_q95": p95, "posterior_median": q50, "posterior_q05": q05,
                     "posterior_q95": q95, "width_ratio": ratio,
                     "verdict": "too few points" if few else verdict(ratio)})
    return pd.DataFrame(rows)


BOX_LIMITED = "cut by the box"  # the verdict of a parameter `box_limited` names


def verdict(ratio: float) -> str:
    """< 0.5: pinned down; 0.5-0.8: partly; >= 0.8: not pinned down by these data."""
    return "pinned down" if ratio < 0.5 else "partly" if ratio < 0.8 else "not pinned down"


def candidate_values(posterior: pd.DataFrame, lc: LoadedCalibration) -> list[dict[str, float]]:
    """Values to check: the posterior medians (weighted with a `weight` column), or (point: best) the
    `check.candidates` accepted points of least distance; typed like the base: a count (a whole number in the
    base) as the nearest whole number, any other value to 3 significant digits, kept within its prior's bounds."""
    full = scenario_to_dict(lc.base)
    if lc.spec.point == "best":
        rows = posterior.sort_values("distance").head(lc.spec.check.candidates)
        raws = [{n: float(row[n]) for n in lc.names} for _, row in rows.iterrows()]
    else:
        w = weights_of(posterior)
        raws = [{n: float(weighted_quantile(posterior[n].to_numpy(dtype=float), 0.5, w)) for n in lc.names}]
    return [{n: _calibrated_value(full, n, v, lc) for n, v in raw.items()} for raw in raws]


def _calibrated_value(full: dict, name: str, value: float, lc: LoadedCalibration) -> float:
    """A count rounded to the nearest whole number (the accepted points and their median lie within its prior's
    whole-number bounds); any other value to 3 significant digits, which may round it past a bound of its prior:
    then the bound."""
    whole = typed_value(full, name.split(",")[0].strip(), value)
    if isinstance(whole, int):
        return whole
    prior = lc.spec.parameters[name]
    low, high = float(prior.low), float(prior.high)  # type: ignore[arg-type]
    return min(max(round_sig(value), low), high)


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


def box_limited(first: pd.DataFrame, posterior: pd.DataFrame, lc: LoadedCalibration, box: dict) -> list[str]:
    """The parameters whose region D <= epsilon the refinement box may cut: on a side where the box lies inside
    the prior, an accepted point of the second round's posterior reaches the outer half of the padding beyond the
    first round's accepted range (a region held inside the box leaves that margin empty; an inert parameter fills
    it, and its interval then measures the box, not the data)."""
    cut = []
    for name, prior in lc.spec.parameters.items():
        u1 = prior.to_unit(first[name].to_numpy(dtype=float))
        u2 = prior.to_unit(posterior[name].to_numpy(dtype=float))
        (lo, hi), (box_lo, box_hi) = (float(u1.min()), float(u1.max())), box[name]
        reaches_low = box_lo > 0.0 and float(u2.min()) < (box_lo + lo) / 2
        reaches_high = box_hi < 1.0 and float(u2.max()) > (box_hi + hi) / 2
        if reaches_low or reaches_high:
            cut.append(name)
    return cut


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


def run_weights(runs: pd.DataFrame, weights: dict[int, float] | None) -> np.ndarray | None:
    """Each run's weight: its point's posterior weight shared equally among the point's runs (None: equal)."""
    if weights is None:
        return None
    counts = runs["point"].map(runs["point"].value_counts())
    return (runs["point"].map(weights) / counts).to_numpy(dtype=float)


QUANTILES = {"q05": 0.05, "median": 0.5, "q95": 0.95}  # column -> level of the predictive tables


def predictive(per_run: pd.DataFrame, points: list[int], lc: LoadedCalibration,
               weights: dict[int, float] | None = None, quantiles: dict[str, float] = QUANTILES) -> pd.DataFrame:
    """Posterior predictive per observed period: the `quantiles` (column -> level; default 5%, 50%, 95%) over every
    run of the accepted points (parameter and simulation uncertainty; weighted by `run_weights` for a weighted
    posterior), next to the observed value, compared like with like; `inside_90` when q05 and q95 are asked."""
    runs = per_run[per_run["point"].isin(points)]
    w = run_weights(runs, weights)
    arr_cols = [c for c in runs.columns if c.startswith("arr.")]
    sims = []
    for _, r in runs.iterrows():
        table = arrival_errors({int(c[4:]): float(r[c]) for c in arr_cols}, lc)
        sims.append(table["simulated"].to_numpy(dtype=float))
    table = arrival_errors({int(c[4:]): 0.0 for c in arr_cols}, lc).drop(columns=["difference", "log_error"])
    values = np.vstack(sims)
    for col, q in quantiles.items():
        table[col] = (np.quantile(values, q, axis=0) if w is None else
                      [weighted_quantile(values[:, k], q, w) for k in range(values.shape[1])])
    table = table.drop(columns=["simulated"])
    if "q05" in quantiles and "q95" in quantiles:
        table["inside_90"] = (table["observed"] >= table["q05"]) & (table["observed"] <= table["q95"])
    return table


def _band(s: pd.Series, run_w: pd.Series | None, quantiles: dict[str, float]) -> dict[str, float]:
    """The `quantiles` of the runs' values `s` (weighted by `run_w`, indexed like the runs); NaN without runs."""
    if not len(s):
        return dict.fromkeys(quantiles, math.nan)
    x = s.to_numpy(dtype=float)
    w = None if run_w is None else run_w.loc[s.index].to_numpy()
    return {col: float(weighted_quantile(x, q, w)) for col, q in quantiles.items()}


def share_predictive(per_run: pd.DataFrame, points: list[int], lc: LoadedCalibration,
                     weights: dict[int, float] | None = None, quantiles: dict[str, float] = QUANTILES
                     ) -> pd.DataFrame:
    """The targets other than the yearly arrivals (the shares, the mean years abroad, the repatriations): observed
    value (or range: low, high; a lower bound has high = inf) and the `quantiles` (default 5/50/95%) over the
    accepted points' runs."""
    runs = per_run[per_run["point"].isin(points)]
    w = run_weights(runs, weights)
    run_w = pd.Series(w, index=runs.index) if w is not None else None
    rows = []
    t = lc.spec.targets
    if t.female_share is not None and "female_n" in runs:
        s = (runs["female_k"] / runs["female_n"].where(runs["female_n"] > 0)).dropna()
        rows.append(("female_share", t.female_share.years, (lc.female_observed,) * 2, s))
    if t.route_share is not None and "route_n" in runs:
        s = (runs["route_k"] + 0.5) / (runs["route_n"] + 1.0)
        rows.append(("route_share", t.route_share.years, t.route_share.bounds, s))
    if t.years_abroad is not None and lc.abroad_range is not None and "abroad_n" in runs:
        s = (runs["abroad_k"] / runs["abroad_n"].where(runs["abroad_n"] > 0)).dropna()
        rows.append(("years_abroad", t.years_abroad.years, lc.abroad_range, s))
    if t.repatriations is not None and "repatriated" in runs:
        rows.append(("repatriations", t.repatriations.years, (lc.repatriations_floor, math.inf),
                     runs["repatriated"]))
    return pd.DataFrame([{"target": n, "years": f"{y[0]}-{y[1]}", "observed_low": o[0], "observed_high": o[1],
                          **_band(s, run_w, quantiles)} for n, y, o, s in rows],
                        columns=["target", "years", "observed_low", "observed_high", *quantiles])


def female_by_year_predictive(per_run: pd.DataFrame, points: list[int], lc: LoadedCalibration,
                              weights: dict[int, float] | None = None, quantiles: dict[str, float] = QUANTILES
                              ) -> pd.DataFrame:
    """`female_share: {by_year: true}`: per observed year y, the observed share and the `quantiles` over the
    accepted points' runs of a run's female arrivals / arrivals in y (runs without arrivals in y left out), in the
    columns of `share_predictive`."""
    runs = per_run[per_run["point"].isin(points)]
    w = run_weights(runs, weights)
    run_w = pd.Series(w, index=runs.index) if w is not None else None
    rows = []
    for y, f in lc.female_by_year.items():
        if f"fem.{y}" not in runs:
            continue
        s = (runs[f"fem.{y}"] / runs[f"arr.{y}"].where(runs[f"arr.{y}"] > 0)).dropna()
        rows.append({"target": "female_share", "years": f"{y}-{y}", "observed_low": f, "observed_high": f,
                     **_band(s, run_w, quantiles)})
    return pd.DataFrame(rows, columns=["target", "years", "observed_low", "observed_high", *quantiles])
