"""Leave-one-target-out validation of a rejection calibration (docs/validation.md, "Hold-out validation"),
computed from the first round's runs, with no new run.

For each target kind k of the spec: the distance without k, D_-k = sum over the other kinds j of w_j d_j (the
calibration's own weights and terms, k's term left out: `distance` on the spec with k removed); the held-out fit
accepts the same `accept.quantile` of the first-round points by D_-k (rejection ABC: the posterior given the other
targets, from the same prior sample), exactly what a calibration whose spec omits k would accept in its first
round. The posterior predictive of k is then taken over every run of those points (`predictive`,
`share_predictive`, `female_by_year_predictive` of posterior.py, at the 5/25/50/75/95% levels), next to the same
band under the full fit (the first round accepted with every target: in sample) and the prior predictive (every
first-round run). The refinement round is left out: its box was chosen with every target, so its points are not a
sample of the prior given the others; `method: smc` is not validated for the same reason (its particles were moved
using every target).

An observation [low, high] (low = high for a value; high = inf for a lower bound) lies in a band [a, b] when the
two intervals meet: b >= low and a <= high.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis.calibration.distance import score_points
from sim.analysis.calibration.posterior import (MIN_POSTERIOR_POINTS, accept, female_by_year_predictive, predictive,
                                                share_predictive)
from sim.analysis.calibration.spec import TARGET_NAMES, LoadedCalibration
from sim.errors import ScenarioError

BANDS = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}
FITS = ("holdout", "full", "prior")
TABLE_COLUMNS = ["kind", "period", "fit", "points", "observed_low", "observed_high", *BANDS, "in_50", "in_90"]
SMC_NOTE = ("hold-out validation skipped: method smc moved its particles using every target, so no sample is free "
            "of a held-out target (docs/validation.md)")


@dataclass
class Holdout:
    """table: per held-out kind x observed period x fit (holdout, full, prior), the observed value or range and
    the predictive band (holdout.csv); summary: per kind (holdout_summary.csv): its weight, periods, the points
    and epsilon of the held-out fit, per fit the periods whose observation meets the 50% and 90% bands
    (in_50_<fit>, in_90_<fit>) and the median over the fit's points of k's distance term (d_<fit>: under the full
    fit it is in sample), and the mean over periods of the held-out 90% band's width over the prior's; accepted:
    per kind, the first-round points of its held-out fit; notes: kinds that could not be held out, and why."""

    table: pd.DataFrame
    summary: pd.DataFrame
    accepted: dict[str, list[int]] = field(default_factory=dict)
    epsilon: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def kinds(lc: LoadedCalibration) -> list[str]:
    """The spec's target kinds, in TARGET_NAMES order."""
    return [k for k in TARGET_NAMES if getattr(lc.spec.targets, k) is not None]


def without(lc: LoadedCalibration, kind: str) -> LoadedCalibration:
    """The calibration with target `kind` left out (the other targets, weights and observed data unchanged)."""
    targets = lc.spec.targets.model_copy(update={kind: None})
    return dataclasses.replace(lc, spec=lc.spec.model_copy(update={"targets": targets}))


def held_out_fit(points: pd.DataFrame, per_run: pd.DataFrame, lc: LoadedCalibration, kind: str
                 ) -> tuple[pd.DataFrame, float]:
    """The first-round points accepted by the distance without `kind` (same `accept.quantile`), and its epsilon;
    each accepted row carries its D_-k as `distance`, and `d_<kind>`, the held-out term, from `points`."""
    design = points[["point", *lc.names]]
    scored = score_points(design, per_run, without(lc, kind))
    scored[f"d_{kind}"] = scored["point"].map(points.set_index("point")[f"d_{kind}"])
    return accept(scored, lc.spec.accept.quantile)


def band_table(per_run: pd.DataFrame, chosen: list[int], lc: LoadedCalibration, kind: str) -> pd.DataFrame:
    """The predictive of target `kind` over the runs of the points `chosen`: period, observed_low and _high, the
    BANDS quantiles."""
    t = lc.spec.targets
    if kind == "arrivals":
        table = predictive(per_run, chosen, lc, quantiles=BANDS)
        return table.assign(observed_low=table["observed"].astype(float), observed_high=table["observed"].astype(float))
    if kind == "female_share" and t.female_share is not None and t.female_share.by_year:
        table = female_by_year_predictive(per_run, chosen, lc, quantiles=BANDS)
    else:
        table = share_predictive(per_run, chosen, lc, quantiles=BANDS)
        table = table[table["target"] == kind]
    first_last = [y.split("-") for y in table["years"]]
    return table.assign(period=[a if a == b else f"{a}-{b}" for a, b in first_last])


def meets(table: pd.DataFrame, low: str, high: str) -> pd.Series:
    """The band [low, high] meets the observation [observed_low, observed_high] (False for a NaN band)."""
    return (table[high] >= table["observed_low"]) & (table[low] <= table["observed_high"])


def holdout(points: pd.DataFrame, per_run: pd.DataFrame, lc: LoadedCalibration) -> Holdout:
    """Leave-one-target-out validation from the first round's scored `points` (`score_points` with every target)
    and their runs `per_run` (module docstring)."""
    names = kinds(lc)
    if len(names) < 2:
        return Holdout(pd.DataFrame(columns=TABLE_COLUMNS), pd.DataFrame(),
                       notes=["hold-out validation needs two target kinds or more: with one, nothing is left to fit"])
    full, _ = accept(points, lc.spec.accept.quantile)
    everyone = points["point"].tolist()
    tables, rows, result = [], [], Holdout(pd.DataFrame(), pd.DataFrame())
    for kind in names:
        try:
            fit, eps = held_out_fit(points, per_run, lc, kind)
        except ScenarioError as exc:
            result.notes.append(f"{kind} not held out: {exc.message}")
            continue
        result.accepted[kind], result.epsilon[kind] = fit["point"].tolist(), eps
        if len(fit) < MIN_POSTERIOR_POINTS:  # as the posterior table's verdict 'too few points'
            result.notes.append(f"{kind} held out: its fit rests on {len(fit)} point(s), fewer than "
                                f"{MIN_POSTERIOR_POINTS}: its band is about their extreme runs, its width says little")
        chosen = {"holdout": fit, "full": full, "prior": points}
        bands = {}
        for name in FITS:
            b = band_table(per_run, chosen[name]["point"].tolist() if name != "prior" else everyone, lc, kind)
            b = b.assign(kind=kind, fit=name, points=len(chosen[name]), in_50=meets(b, "q25", "q75"),
                         in_90=meets(b, "q05", "q95"))
            bands[name] = b
            tables.append(b[TABLE_COLUMNS])
        term = f"d_{kind}"
        width = {n: (b["q95"] - b["q05"]).to_numpy(dtype=float) for n, b in bands.items()}
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = width["holdout"] / width["prior"]
        rows.append({
            "kind": kind, "weight": getattr(lc.spec.targets, kind).weight, "periods": len(bands["holdout"]),
            "holdout_points": len(fit), "holdout_epsilon": eps, "full_points": len(full), "prior_points": len(points),
            **{f"in_{lvl}_{n}": int(bands[n][f"in_{lvl}"].sum()) for n in FITS for lvl in (50, 90)},
            **{f"d_{n}": _median(chosen[n][term]) for n in FITS},
            "width_90_holdout_over_prior": float(np.mean(ratio[np.isfinite(ratio)])) if np.isfinite(ratio).any()
            else math.nan,
        })
    result.table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=TABLE_COLUMNS)
    result.summary = pd.DataFrame(rows)
    return result


def _median(x: pd.Series) -> float:
    """Median of the distance terms (infinite ones included: an infinite median means most were infinite)."""
    return float(np.median(x.to_numpy(dtype=float))) if len(x) else math.nan
