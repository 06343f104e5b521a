"""Indices from the point means (SALib analyze), the seed-noise measures, the checks of what the design resolves,
and the ranking table."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.analysis.sensitivity.outcomes import NO_VALUE, NO_VALUE_REMEDY
from sim.analysis.sensitivity.spec import LoadedSensitivity, problem

if TYPE_CHECKING:  # numpy, pandas, scipy and SALib load on use
    import numpy as np
    import pandas as pd

CONF_LEVEL = 0.95
INDEX_COLUMNS = {"morris": ("mu", "mu_star", "mu_star_conf", "sigma"), "sobol": ("S1", "S1_conf", "ST", "ST_conf")}
NEGLIGIBLE = 0.05  # a Sobol index whose interval lies within +-0.05 is resolved as negligible (`sobol_problems`)


# ----------------------------------------------------------------------------------------------- analysis


def noise_share(y: np.ndarray) -> float:
    """Seed noise in the point means as a share of their spread: mean_p(s_p^2 / R) / var_p(mean_p) (ddof 1),
    y of shape (points, R). NaN for R < 2 or point means without spread."""
    if y.shape[1] < 2:
        return float("nan")
    spread = y.mean(axis=1).var(ddof=1)
    if not spread > 0:
        return float("nan")
    return float((y.var(axis=1, ddof=1) / y.shape[1]).mean() / spread)


def _indices(method: str, prob: dict, x: np.ndarray, ybar: np.ndarray, settings, resamples: int,
             seed: int) -> dict[str, np.ndarray]:
    import numpy as np

    d = prob["num_vars"]
    if method == "morris":
        from SALib.analyze.morris import analyze as morris_analyze

        si = morris_analyze(prob, x, ybar, num_resamples=resamples, conf_level=CONF_LEVEL,
                            num_levels=settings.levels, seed=seed)
        return {k: np.asarray(si[k], float) for k in ("mu", "mu_star", "mu_star_conf", "sigma")}
    if not np.ptp(ybar) > 0:  # a constant outcome has no variance to apportion
        return {k: np.full(d, np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    from SALib.analyze.sobol import analyze as sobol_analyze

    si = sobol_analyze(prob, ybar, calc_second_order=settings.second_order, num_resamples=resamples,
                       conf_level=CONF_LEVEL, seed=seed)
    return {k: np.asarray(si[k], float) for k in ("S1", "S1_conf", "ST", "ST_conf")}


def _seed_confs(method: str, prob: dict, x: np.ndarray, yo: np.ndarray, settings, bootstrap: int,
                keys: tuple[str, ...], rng: np.random.Generator, z: float, salib_seed: int) -> dict[str, np.ndarray]:
    """`{key}_seed_conf` for each index key: z x the sd of the index over `bootstrap` resamples of the replicates
    (NaN for one replicate or no bootstrap)."""
    import numpy as np

    r = yo.shape[1]
    if r < 2 or bootstrap <= 0:
        return {f"{k}_seed_conf": np.full(prob["num_vars"], np.nan) for k in keys}
    draws: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for _ in range(bootstrap):
        pick = rng.integers(0, r, size=r)
        boot = _indices(method, prob, x, yo[:, pick].mean(axis=1), settings, 2, salib_seed)
        for k in keys:
            draws[k].append(boot[k])
    return {f"{k}_seed_conf": z * np.std(np.array(draws[k]), axis=0, ddof=1) for k in keys}


def _salib_seed(seed: int) -> int:
    """The seed of SALib's bootstrap of the points, from the spec's seed (odd: SALib skips seed 0)."""
    import numpy as np

    return int(np.random.SeedSequence([seed, 7]).generate_state(1)[0]) | 1


def analyze(ls: LoadedSensitivity, method: str, x: np.ndarray, y: dict[str, np.ndarray]) -> pd.DataFrame:
    """indices.csv rows (parameter x outcome): SALib indices of the replicate means with their design intervals,
    seed intervals from the replicate bootstrap, the outcome's noise share, the rank within the outcome (by
    mu_star for Morris, ST for Sobol) and, for Sobol, `warning`: what the design does not resolve about the row's
    indices (`sobol_problems`; empty when resolved)."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    prob = problem(ls)
    settings = ls.spec.morris if method == "morris" else ls.spec.sobol
    salib_seed = _salib_seed(ls.spec.seed)
    keys = ("S1", "ST") if method == "sobol" else ("mu_star",)
    rng = np.random.default_rng([ls.spec.seed, 11])
    z = stats.norm.ppf(0.5 + CONF_LEVEL / 2)
    frames = []
    for o in ls.outcomes:
        yo = y[o.name]
        missing = int(np.isnan(yo).sum())
        r = yo.shape[1]
        if missing:  # no index from a design with holes: a female share of years in which nobody arrived
            est = {k: np.full(len(ls.names), np.nan)
                   for k in (*INDEX_COLUMNS[method], *(f"{k}_seed_conf" for k in keys))}
            if r >= 2:  # the bootstrap's draws, unused: the next outcomes' seed intervals stay what they were
                for _ in range(ls.spec.seed_bootstrap):
                    rng.integers(0, r, size=r)
        else:
            est = _indices(method, prob, x, yo.mean(axis=1), settings, 1000 if method == "morris" else 200,
                           salib_seed)
            est.update(_seed_confs(method, prob, x, yo, settings, ls.spec.seed_bootstrap, keys, rng, z, salib_seed))
        frame = pd.DataFrame({"method": method, "outcome": o.name, "expression": o.expression,
                              "parameter": ls.names, "label": ls.labels, **est})
        frame["noise_share"] = noise_share(yo)
        frame["outcome_mean"] = float(yo.mean())
        frame["replicates"] = r
        frame["runs_without_value"] = missing
        order = frame["mu_star" if method == "morris" else "ST"].rank(ascending=False, method="min",
                                                                        na_option="keep")
        frame.insert(5, "rank", order.astype("Int64"))
        frame["warning"] = [(f"no value in {missing} of {yo.size} runs" if missing
                             else "; ".join(sobol_problems(row)) if method == "sobol" else "")
                            for _, row in frame.iterrows()]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def second_order(ls: LoadedSensitivity, x: np.ndarray, y: dict[str, np.ndarray]) -> pd.DataFrame:
    """indices_s2.csv rows (pair of parameters x outcome) of a Sobol design sampled with `second_order: true`: S2,
    the share of the outcome's variance due to the interaction of the two parameters alone, and S2_conf, its 95%
    design interval (SALib, bootstrap of the points), from the replicate means as `analyze` takes them. No seed
    interval: read S2 with the seed noise of the outcome (`noise_share` in indices.csv). NaN for an outcome
    without variance or with runs without a value."""
    import numpy as np
    import pandas as pd
    from SALib.analyze.sobol import analyze as sobol_analyze

    prob = problem(ls)
    salib_seed = _salib_seed(ls.spec.seed)
    pairs = [(i, j) for i in range(len(ls.names)) for j in range(i + 1, len(ls.names))]
    rows = []
    for o in ls.outcomes:
        yo = y[o.name]
        s2 = conf = np.full((len(ls.names),) * 2, np.nan)
        if not np.isnan(yo).any() and np.ptp(yo.mean(axis=1)) > 0:
            si = sobol_analyze(prob, yo.mean(axis=1), calc_second_order=True, num_resamples=200,
                               conf_level=CONF_LEVEL, seed=salib_seed)
            s2, conf = np.asarray(si["S2"], float), np.asarray(si["S2_conf"], float)
        rows += [{"outcome": o.name, "expression": o.expression, "parameter_a": ls.names[i], "label_a": ls.labels[i],
                  "parameter_b": ls.names[j], "label_b": ls.labels[j], "S2": s2[i, j], "S2_conf": conf[i, j]}
                 for i, j in pairs]
    return pd.DataFrame(rows, columns=["outcome", "expression", "parameter_a", "label_a", "parameter_b", "label_b",
                                       "S2", "S2_conf"])


def half_width(row, key: str) -> float:
    """Combined 95% half-width of index `key` in an indices row: sqrt(conf^2 + seed_conf^2), the design interval
    alone when there is no seed interval (1 replicate)."""
    conf = float(row[f"{key}_conf"])
    seed = row.get(f"{key}_seed_conf", math.nan)
    seed = 0.0 if seed is None or math.isnan(float(seed)) else float(seed)
    return math.hypot(conf, seed) if not math.isnan(conf) else seed


def sobol_problems(row) -> list[str]:
    """What the design does not resolve about one parameter's Sobol indices (h: `half_width`):
    - an interval wider than its index (h > |S|): the index is not told apart from zero;
    - an index outside [0, 1] beyond its interval (S + h < 0 or S - h > 1);
    - S1 exceeding ST beyond their intervals (S1 - h1 > ST + hT): impossible for true indices (S1 <= ST).
    An index whose whole interval lies within [-NEGLIGIBLE, NEGLIGIBLE] is resolved as negligible (the parameter
    explains less than that share of the variance, whatever the sign of the estimate) and raises none of these.
    Empty for NaN indices (an outcome without variance) and for exact zeros (a parameter without effect)."""
    out = []
    values = {}
    for key in ("S1", "ST"):
        v = float(row[key])
        if math.isnan(v):
            return []
        h = half_width(row, key)
        negligible = -NEGLIGIBLE <= v - h and v + h <= NEGLIGIBLE
        values[key] = (v, h, negligible)
        if negligible:
            continue
        if h > abs(v):
            out.append(f"{key} = {v:.3g} ± {h:.2g}: interval wider than the index")
        if v + h < 0 or v - h > 1:
            out.append(f"{key} = {v:.3g} ± {h:.2g}: outside [0, 1] beyond its interval")
    (s1, h1, small1), (st, ht, smallt) = values["S1"], values["ST"]
    if s1 - h1 > st + ht and not (small1 and smallt):
        out.append(f"S1 = {s1:.3g} ± {h1:.2g} exceeds ST = {st:.3g} ± {ht:.2g} beyond their intervals")
    return out


def index_warnings(indices: pd.DataFrame) -> list[str]:
    """One warning per outcome whose indices the design does not resolve (the `warning` column that `analyze`
    fills by `sobol_problems`), naming each parameter and problem; empty when every index is resolved."""
    if "warning" not in indices:
        return []
    warnings = []
    for name, g in indices.groupby("outcome", sort=False):
        missing = int(g["runs_without_value"].iloc[0]) if "runs_without_value" in g else 0
        if missing:
            warnings.append(f"outcome {name} = {g['expression'].iloc[0]} has no value in {missing} runs "
                            f"({NO_VALUE}): no indices; {NO_VALUE_REMEDY}")
            continue
        bad = g[g["warning"].fillna("").astype(str) != ""]
        if bad.empty:
            continue
        parts = "; ".join(f"{r['label']}: {r['warning']}" for _, r in bad.iterrows())
        warnings.append(f"{g['method'].iloc[0]} indices of outcome {name} not resolved by this design - {parts}; "
                        "more base samples (sobol.samples; design intervals shrink as 1/sqrt(N)) or replicates "
                        "(the ±seed part) narrow them")
    return warnings


def ranking_table(indices: pd.DataFrame) -> str:
    """One block per outcome: parameters ranked by mu_star (Morris) or ST (Sobol) with their intervals."""
    import pandas as pd

    blocks = []
    for name, g in indices.groupby("outcome", sort=False):
        g = g.sort_values("rank", na_position="last")
        ns = g["noise_share"].iloc[0]
        if not pd.isna(ns):
            noise = f"{100 * ns:.1f}% of the variance of the point means"
        elif "runs_without_value" in g and g["runs_without_value"].iloc[0] > 0:
            noise = f"n/a (no value in {g['runs_without_value'].iloc[0]} runs)"
        elif "replicates" in g and g["replicates"].iloc[0] < 2:
            noise = "n/a (1 replicate)"
        else:  # noise_share: NaN when the point means do not vary
            noise = "n/a (the outcome's point means do not vary over the design)"
        head = (f"outcome {name} = {g['expression'].iloc[0]} (mean {g['outcome_mean'].iloc[0]:,.4g}); "
                f"seed noise: {noise}")
        if g["method"].iloc[0] == "morris":
            t = pd.DataFrame({"rank": g["rank"], "parameter": g["label"], "mu_star": g["mu_star"],
                              "±design": g["mu_star_conf"], "±seed": g["mu_star_seed_conf"], "sigma": g["sigma"],
                              "mu": g["mu"]})
        else:
            t = pd.DataFrame({"rank": g["rank"], "parameter": g["label"], "ST": g["ST"], "±design": g["ST_conf"],
                              "±seed": g["ST_seed_conf"], "S1": g["S1"], "S1 ±design": g["S1_conf"],
                              "S1 ±seed": g["S1_seed_conf"]})
        blocks.append(head + "\n" + t.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:,.4g}"))
    return "\n\n".join(blocks)
