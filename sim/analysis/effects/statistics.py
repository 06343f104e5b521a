"""The statistics of policy effects (formulas in docs/effects.md).

For package p, outcome y, posterior draw i = 1..D and replicate r = 1..R (replicate r uses the same seed at every
draw and package: common random numbers), the effect of one run is the paired difference
    e_ir = y_p(i, r) - y_baseline(i, r).
Per package and outcome:
- total: median and the 5/25/75/95% quantiles of all D R values e_ir (numpy's linear interpolation);
- parameter part: the same quantiles of the draw means ebar_i = mean_r e_ir;
- seed part: the median plus the quantiles of the within-draw deviations e_ir - ebar_i (all D R of them);
- variance split by the law of total variance, Var(e) = Var_i(mu_i) + E_i[sigma_i^2]. Replicate r's seed is the
  same at every draw, so seed noise has a part b_r shared by the draws and a part c_ir of its own: the two-way
  model e_ir = mu + a_i + b_r + c_ir (a_i the draw's, Var_i(mu_i) = Var(a)). var_seed = mean_i s_i^2 (s_i^2 the
  within-draw variance, ddof 1; E = Var(b) + Var(c)); var_param = max(0, var_i(ebar_i) - MS_c / R) with
  MS_c = sum_ir (e_ir - ebar_i. - ebar_.r + ebar..)^2 / ((D-1)(R-1)) (E = Var(c)): the draw means ebar_i share b's
  noise, which does not spread them, and carry c's, of variance Var(c) / R, which is taken out; param_share =
  var_param / (var_param + var_seed). With one draw var_param = 0; with one replicate the seed part is unknown
  (NaN) and var_i(ebar_i) is reported whole as var_param;
- seed_ci_low/high: the 95% interval of the mean effect ebar = mean_ir e_ir from seed noise alone, given the
  draws: the R replicate means ebar_.r = mean_i e_ir are independent (one seed each), so ebar -+
  t_{0.975, R-1} sd_r(ebar_.r) / sqrt(R), given when R >= 3. (Treating the D R runs as independent made it about
  sqrt(D) times too narrow: 8 identical draws narrowed it 2.8x.) With one draw it is the paired interval of
  `bordersim summarize --baseline` (sim.experiments.summarize.paired_differences), to the last bit;
- relative effect: quantiles of e_ir / y_baseline(i, r) over the runs whose baseline is not 0;
- sign: the sign of the median effect (+, - or 0); p_sign: the share of runs e_ir with that sign (strictly; for 0:
  exactly zero); p_sign_draws: the share of draw means ebar_i with that sign. With one replicate total_* and
  p_sign are NaN: its seed noise, shared by every draw, would not be in them (one run gave an interval of width
  0 and p_sign 1).
- runs_without_value: the runs e_ir is not defined in (the package's or the baseline's value NaN, e.g. a female
  share of years in which nobody arrived). When there is any, none of the statistics above is given (NaN, sign
  empty): they would be of the runs that happen to have a value, and whether a run has one may depend on the
  package (fewer arrivals, more empty years).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.experiments.summarize import MIN_CI_REPLICATES

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

QUANTILES = {"q05": 0.05, "q25": 0.25, "q75": 0.75, "q95": 0.95}
# the columns of an effects row (`effect_row`), in order
COLUMNS = ("draws", "replicates", "runs_without_value", "baseline_mean", "package_mean", "effect_mean",
           "effect_median", *(f"{part}_{k}" for part in ("total", "param", "seed") for k in QUANTILES),
           "var_param", "var_seed", "param_share", "seed_ci_low", "seed_ci_high", "relative_runs",
           "relative_median", "relative_q05", "relative_q95", "sign", "p_sign", "p_sign_draws")


def effect_row(y_pkg: np.ndarray, y_base: np.ndarray) -> dict[str, float | str | int]:
    """The statistics of one package and outcome from (D, R) arrays of the package's and the baseline's values."""
    import numpy as np
    from scipy import stats

    e = y_pkg - y_base
    d, r = e.shape
    missing = int(np.isnan(e).sum())
    if missing:
        given = {"draws": d, "replicates": r, "runs_without_value": missing, "relative_runs": 0, "sign": ""}
        return {k: given.get(k, float("nan")) for k in COLUMNS}
    flat = e.reshape(-1)
    mean = float(flat.mean())
    draw_means, replicate_means = e.mean(axis=1), e.mean(axis=0)  # replicate r: one seed, every draw
    median = float(np.median(flat))
    row: dict[str, float | str | int] = {
        "draws": d, "replicates": r, "runs_without_value": 0, "baseline_mean": float(y_base.mean()),
        "package_mean": float(y_pkg.mean()), "effect_mean": mean, "effect_median": median}
    for k, q in QUANTILES.items():  # one replicate: its seed noise, shared by every draw, is not in the spread
        row[f"total_{k}"] = float(np.quantile(flat, q)) if r >= 2 else float("nan")
    for k, q in QUANTILES.items():
        row[f"param_{k}"] = float(np.quantile(draw_means, q))
    if r >= 2:
        s2 = e.var(axis=1, ddof=1)
        dev = (e - draw_means[:, None]).reshape(-1)
        for k, q in QUANTILES.items():
            row[f"seed_{k}"] = median + float(np.quantile(dev, q))
        var_seed = float(s2.mean())
        if d >= 2:
            resid = e - draw_means[:, None] - replicate_means[None, :] + mean
            interaction = float((resid ** 2).sum() / ((d - 1) * (r - 1)))  # MS_c: draw x seed
            var_param = max(0.0, float(draw_means.var(ddof=1)) - interaction / r)
        else:
            var_param = 0.0
    else:
        for k in QUANTILES:
            row[f"seed_{k}"] = float("nan")
        var_seed = float("nan")
        var_param = float(draw_means.var(ddof=1)) if d >= 2 else 0.0
    row["var_param"] = var_param
    row["var_seed"] = var_seed
    both = var_param + var_seed
    row["param_share"] = var_param / both if both > 0 else float("nan")
    if r >= MIN_CI_REPLICATES:
        # the replicate means are independent, one per seed (with one draw: e itself, exactly)
        half = float(stats.t.ppf(0.975, r - 1) * np.sqrt(replicate_means.var(ddof=1)) / np.sqrt(r))
        row["seed_ci_low"], row["seed_ci_high"] = mean - half, mean + half
    else:
        row["seed_ci_low"] = row["seed_ci_high"] = float("nan")
    nonzero = y_base.reshape(-1) != 0
    rel = flat[nonzero] / y_base.reshape(-1)[nonzero]
    row["relative_runs"] = int(nonzero.sum())
    for k, q in {"median": 0.5, "q05": 0.05, "q95": 0.95}.items():
        row[f"relative_{k}"] = float(np.quantile(rel, q)) if rel.size else float("nan")
    sign = float(np.sign(median))
    row["sign"] = "+" if sign > 0 else "-" if sign < 0 else "0"
    row["p_sign"] = float((np.sign(flat) == sign).mean()) if r >= 2 else float("nan")
    row["p_sign_draws"] = float((np.sign(draw_means) == sign).mean())
    return row


def missing_warnings(effects: pd.DataFrame) -> list[str]:
    """One line per package and outcome whose statistics are left empty because some runs have no value."""
    rows = effects[effects["runs_without_value"] > 0]
    from sim.analysis.sensitivity.outcomes import NO_VALUE, NO_VALUE_REMEDY

    return [f"outcome {r['outcome']}, package {r['package']}: {r['runs_without_value']} of "
            f"{r['draws'] * r['replicates']} runs have no value for {r['expression']} (in the package or the "
            f"baseline; {NO_VALUE}), so its statistics are left empty; {NO_VALUE_REMEDY}"
            for _, r in rows.iterrows()]


def effects_table(y: dict[str, np.ndarray], packages: list[str], baseline: str,
                  expressions: dict[str, str]) -> pd.DataFrame:
    """effects.csv: one row per package (the baseline left out) x outcome, from outcome -> (P, D, R) arrays."""
    import pandas as pd

    b = packages.index(baseline)
    rows = []
    for p, package in enumerate(packages):
        if p == b:
            continue
        for name, values in y.items():
            rows.append({"package": package, "baseline": baseline, "outcome": name,
                         "expression": expressions[name], **effect_row(values[p], values[b])})
    return pd.DataFrame(rows)


def values_table(y: dict[str, np.ndarray], packages: list[str], baseline: str, rows: tuple[int, ...],
                 seeds: list[int]) -> pd.DataFrame:
    """values.parquet: one row per package x draw x replicate x outcome: the value, the baseline's value in the
    same draw and replicate, and the effect (their difference); `posterior_row` is the draw's row in the file."""
    import numpy as np
    import pandas as pd

    b = packages.index(baseline)
    frames = []
    for name, values in y.items():
        p_n, d_n, r_n = values.shape
        pk, dr, rp = np.meshgrid(np.arange(p_n), np.arange(d_n), np.arange(r_n), indexing="ij")
        base = np.broadcast_to(values[b], values.shape)
        frames.append(pd.DataFrame({
            "package": np.asarray(packages, dtype=object)[pk.reshape(-1)], "draw": dr.reshape(-1),
            "posterior_row": np.asarray(rows)[dr.reshape(-1)], "replicate": rp.reshape(-1),
            "seed": np.asarray(seeds, dtype=np.uint64)[rp.reshape(-1)], "outcome": name,
            "value": values.reshape(-1), "baseline_value": base.reshape(-1),
            "effect": (values - base).reshape(-1)}))
    return pd.concat(frames, ignore_index=True)
