"""Global sensitivity analysis (SALib) run through the sweep engine. Format and method in docs/sensitivity.md.

A sensitivity spec names parameters with bounds, outcomes in a small language, Morris and Sobol settings,
replicates and a seed. The sampler's points (SALib `sample.morris.sample` / `sample.sobol.sample`, drawn in the unit
hypercube and mapped through each parameter's distribution) are written as a `points` experiment spec into
OUT/experiment.yaml and run by the sweep engine into OUT/sweep (parallel, Dask, resumable, common random numbers:
replicate k uses the same seed at every point). Each outcome is evaluated per run and averaged over the replicates
of a point; SALib's `analyze.morris.analyze` / `analyze.sobol.analyze` turn the point means into indices.

Seed noise: SALib's confidence intervals resample the design, not the seeds. Two numbers measure the seeds' part:
- noise share = mean over points of (replicate variance / R) / variance of the point means (ddof 1): the fraction
  of the spread the analysis sees that is seed noise of the point means;
- seed interval (`*_seed_conf`): z * sd of the index over B bootstrap draws of the replicates (R replicate indices
  drawn with replacement, the same for every point so that common random numbers stay paired).
Both need R >= 2. The figures and the ranking use the combined half-width sqrt(conf^2 + seed_conf^2).

Sobol indices the design does not resolve (an interval wider than its index, S1 above ST or an index outside
[0, 1] beyond the intervals; `sobol_problems`) are reported as data: the `warning` column of indices.csv, one
message per outcome in `SensitivityResult.warnings` and ranking.txt; the command prints them as `warning: ...`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from sim.errors import UsageError
from sim.outputs import atomic_path, atomic_write_text, check_name, default_dir, real_target
from sim.scenario import (Scenario, ScenarioError, Strict, _line_for, load_scenario, parse_month, read_model_file,
                          scenario_to_dict, set_path, validate_dict)

if TYPE_CHECKING:  # numpy, pandas, scipy and SALib load on use, so registering the command costs nothing
    import numpy as np
    import pandas as pd

METHODS = ("morris", "sobol")
CONF_LEVEL = 0.95
NEGLIGIBLE = 0.05  # a Sobol index whose interval lies within +-0.05 is resolved as negligible (`sobol_problems`)
Scalar = float | int | bool | str


# ------------------------------------------------------------------------------------------------- spec


class Bounds(Strict):
    """A parameter's range: uniform on [low, high] (default), loguniform (low > 0), or the integers low..high."""

    low: float
    high: float
    dist: Literal["uniform", "loguniform", "integer"] = "uniform"
    label: str | None = Field(None, description="Short name in tables and figures (default: the dotted path).")

    @model_validator(mode="after")
    def _check(self) -> Bounds:
        if not self.high > self.low:
            raise ValueError(f"high ({self.high}) must be above low ({self.low})")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError("loguniform needs low > 0")
        return self


class MorrisSettings(Strict):
    trajectories: int = Field(10, ge=2, le=10_000, description="Number of trajectories r.")
    levels: int = Field(4, ge=2, le=100, description="Grid levels p (even).")

    @field_validator("levels")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"levels must be even, found {v}")
        return v


class SobolSettings(Strict):
    samples: int = Field(64, ge=2, le=1_048_576, description="Base sample size N (a power of two).")
    second_order: bool = Field(False, description="Also sample for second-order indices (N(2D+2) points).")

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"samples must be a power of two, found {v}")
        return v


def _check_sensitivity_name(name: str) -> str:
    """A safe path component (`sim.outputs.check_name`) that stays one with the method appended (the default
    output directory is results/<name>-<method>)."""
    check_name(name)
    longest = max(len(m) for m in METHODS) + 1
    if len(name) + longest > 80:
        raise ValueError(f"{name!r} is too long: at most {80 - longest} characters (the default output directory "
                         "is results/<name>-<method>)")
    return name


class SensitivitySpec(Strict):
    name: str = Field(description="Spec name; the default output is results/<name>-<method>: letters, digits, "
                                  "'.', '_', '-'.")

    _safe_name = field_validator("name")(classmethod(lambda cls, v: _check_sensitivity_name(v)))
    description: str = ""
    scenario: str = Field(description="Base scenario, path relative to the spec file.")
    fixed: dict[str, Scalar] = Field(default_factory=dict,
                                     description="dotted.path: value set at every point (e.g. population.size).")
    parameters: dict[str, Bounds] = Field(min_length=1)
    outcomes: dict[str, str] = Field(min_length=1, description="name: expression (docs/sensitivity.md).")
    morris: MorrisSettings = Field(default_factory=MorrisSettings)
    sobol: SobolSettings = Field(default_factory=SobolSettings)
    replicates: int = Field(2, ge=1, le=1000)
    seed: int = Field(0, ge=0)
    seed_bootstrap: int = Field(200, ge=0, le=100_000, description="Replicate bootstrap draws for seed intervals.")

    @model_validator(mode="after")
    def _check(self) -> SensitivitySpec:
        both = set(self.fixed) & set(self.parameters)
        if both:
            raise ValueError(f"{', '.join(sorted(both))} is both fixed and a parameter")
        return self


# --------------------------------------------------------------------------------------- outcome language

_EXPR = re.compile(r"^\s*(?P<fn>[a-z_]+)\s*(?:\((?P<args>[^()]*)\))?\s*$")
_YEARS = re.compile(r"^\s*(\d{4})\s*(?:\.\.\s*(\d{4})\s*)?$")


@dataclass(frozen=True)
class Outcome:
    """A parsed outcome expression. kind: total | route | share | period."""

    name: str
    expression: str
    kind: str
    key: str
    routes: tuple[str, ...] = ()
    years: tuple[int, ...] = ()

    def needs(self) -> set[str]:
        """Blocks of sweep outputs this outcome reads (sweep spec outputs.keep)."""
        return {"total": {"totals"}, "route": {"by_route"}, "share": {"totals", "by_route"},
                "period": {"by_year"}}[self.kind]

    def evaluate(self, runs: pd.DataFrame) -> np.ndarray:
        """One value per run (row): total `key`; sum of route.<r>.<key> over routes; that sum / total `key`
        (0 when the total is 0); sum of year.<YYYY>.arrived over the years."""
        import numpy as np

        if self.kind == "total":
            return runs[self.key].to_numpy(float)
        if self.kind == "period":
            return sum(runs[f"year.{y}.arrived"].to_numpy(float) for y in self.years)
        part = sum(runs[f"route.{r}.{self.key}"].to_numpy(float) for r in self.routes)
        if self.kind == "route":
            return part
        total = runs[self.key].to_numpy(float)
        return np.divide(part, total, out=np.zeros_like(part), where=total > 0)


def parse_outcome(name: str, expression: str, routes: list[str], years: range) -> Outcome:
    """Parse `arrived` | `killed(dmz)` | `arrived(west_sea + east_sea)` | `share(dmz)` | `share(dmz, killed)` |
    `arrived(2012..2019)`; raise ValueError with what is allowed."""
    from sim.ledger import TOTAL_KEYS

    m = _EXPR.match(str(expression))
    if not m:
        raise ValueError(f"cannot read '{expression}'; write an outcome (e.g. arrived), outcome(route + route), "
                         "share(route + route[, outcome]) or arrived(YYYY..YYYY)")
    fn, args = m["fn"], m["args"]
    if fn != "share" and fn not in TOTAL_KEYS:
        raise ValueError(f"unknown outcome '{fn}'; outcomes: {', '.join(TOTAL_KEYS)}, or share(...)")
    if args is None:
        if fn == "share":
            raise ValueError("share needs routes: share(route + route[, outcome])")
        return Outcome(name, expression, "total", fn)
    if fn != "share" and _YEARS.match(args):
        if fn != "arrived":
            raise ValueError(f"only arrivals are counted by year: arrived(YYYY..YYYY), not {fn}(...)")
        y = _YEARS.match(args)
        first, last = int(y[1]), int(y[2] or y[1])
        if last < first or first not in years or last not in years:
            raise ValueError(f"years {first}..{last} must be in order and inside the scenario's horizon "
                             f"{years.start}..{years.stop - 1}")
        return Outcome(name, expression, "period", "arrived", years=tuple(range(first, last + 1)))
    key = "arrived"
    parts = [a.strip() for a in args.split(",")]
    if fn == "share" and len(parts) == 2:
        key = parts[1]
        if key not in TOTAL_KEYS:
            raise ValueError(f"unknown outcome '{key}' in share(...); outcomes: {', '.join(TOTAL_KEYS)}")
    elif len(parts) != 1:
        raise ValueError(f"'{expression}': routes are joined by '+'; only share takes a second argument")
    names = tuple(r.strip() for r in parts[0].split("+"))
    unknown = [r for r in names if r not in routes]
    if unknown or not all(names):
        raise ValueError(f"unknown route '{', '.join(unknown) or parts[0]}'; routes of the scenario: "
                         f"{', '.join(routes)}")
    return Outcome(name, expression, "share" if fn == "share" else "route", key if fn == "share" else fn, names)


# --------------------------------------------------------------------------------------------- loading


@dataclass
class LoadedSensitivity:
    spec: SensitivitySpec
    path: Path
    scenario_path: Path
    base: Scenario
    outcomes: list[Outcome]

    @property
    def names(self) -> list[str]:
        return list(self.spec.parameters)

    @property
    def labels(self) -> list[str]:
        return [b.label or n for n, b in self.spec.parameters.items()]

    def keep(self) -> list[str]:
        needed = set().union(*(o.needs() for o in self.outcomes))
        return [k for k in ("totals", "by_route", "by_year") if k in needed]


def load_sensitivity(path: str | Path) -> LoadedSensitivity:
    """Read and validate a sensitivity spec: schema, parameter and fixed paths against the base scenario,
    outcome expressions against its routes and horizon. Errors name file, key and line (ScenarioError)."""
    import numpy as np

    from sim.network import RouteGraph

    p = Path(path)
    spec, _, lines = read_model_file(SensitivitySpec, p)
    scenario_path = (p.parent / spec.scenario).resolve()
    base = load_scenario(scenario_path)
    fixed = scenario_to_dict(base)
    for name, value in spec.fixed.items():
        _set_all(fixed, name, value, str(p), ("fixed", name), lines)
    _validate(fixed, str(p), ("fixed",), lines, "with the fixed settings")
    for name, b in spec.parameters.items():
        for where, value in zip(("low", "high"), _from_unit(b, np.array([0.0, 1.0]))):
            data = json.loads(json.dumps(fixed))
            _set_all(data, name, value, str(p), ("parameters", name), lines)
            _validate(data, str(p), ("parameters", name), lines, f"at {where} = {value}")
    routes = list(RouteGraph(base).routes)
    years = range(parse_month(base.time.start)[0], parse_month(base.time.end)[0] + 1)
    outcomes = []
    for name, expr in spec.outcomes.items():
        try:
            outcomes.append(parse_outcome(name, expr, routes, years))
        except ValueError as exc:
            raise ScenarioError(str(exc), path=str(p), key=f"outcomes.{name}",
                                line=_line_for(lines, ("outcomes", name))) from None
    return LoadedSensitivity(spec, p, scenario_path, base, outcomes)


def _set_all(data: dict, name: str, value, source: str, raw: tuple, lines: dict) -> None:
    """Set every comma-separated dotted path of `name`; an unknown path is reported at the spec's key."""
    try:
        for dotted in name.split(","):
            set_path(data, dotted.strip(), value, source=source)
    except ScenarioError as exc:
        raise ScenarioError(exc.message, path=source, key=".".join(raw), line=_line_for(lines, raw)) from None


def _validate(data: dict, source: str, raw: tuple, lines: dict, when: str) -> None:
    """The scenario with these settings must be valid (schema and graph checks) before anything runs."""
    try:
        validate_dict(data, path="(sensitivity point)")
    except ScenarioError as exc:
        raise ScenarioError(f"the base scenario becomes invalid {when}: {exc.key}: {exc.message}", path=source,
                            key=".".join(raw), line=_line_for(lines, raw)) from None


# -------------------------------------------------------------------------------------------- sampling


def _from_unit(b: Bounds, u: np.ndarray) -> list:
    """Unit-interval sample -> values: uniform low + u(high - low); loguniform exp(log low + u log(high/low));
    integer floor(low + u(high - low + 1)) capped at high."""
    import numpy as np

    if b.dist == "uniform":
        return (b.low + u * (b.high - b.low)).tolist()
    if b.dist == "loguniform":
        return np.exp(math.log(b.low) + u * math.log(b.high / b.low)).tolist()
    return [int(v) for v in np.minimum(np.floor(b.low + u * (b.high - b.low + 1)), b.high)]


def problem(ls: LoadedSensitivity) -> dict:
    """SALib problem on the unit hypercube (values are mapped by each parameter's distribution afterwards)."""
    return {"num_vars": len(ls.names), "names": list(ls.names), "bounds": [[0.0, 1.0]] * len(ls.names)}


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
    """(points, runs = points x replicates) without drawing the sample."""
    d = len(ls.names)
    if method == "morris":
        points = ls.spec.morris.trajectories * (d + 1)
    elif method == "sobol":
        points = ls.spec.sobol.samples * ((2 * d + 2) if ls.spec.sobol.second_order else (d + 2))
    else:
        raise ScenarioError(f"unknown method '{method}'; methods: {', '.join(METHODS)}")
    return points, points * ls.spec.replicates


def experiment_spec(ls: LoadedSensitivity, method: str, x: np.ndarray) -> dict:
    """The sweep engine's `points` spec for a unit design x: point i sets every parameter to its i-th value."""
    params = {n: _from_unit(b, x[:, j]) for j, (n, b) in enumerate(ls.spec.parameters.items())}
    params.update({k: [v] * len(x) for k, v in ls.spec.fixed.items()})
    return {
        "name": f"{ls.spec.name}_{method}",
        "description": f"{method} design of sensitivity spec {ls.path.resolve()} (generated; do not edit)",
        "scenario": str(ls.scenario_path),
        "parameters": params,
        "design": {"type": "points"},
        "replicates": ls.spec.replicates,
        "seed": ls.spec.seed,
        "outputs": {"keep": ls.keep(), "timeseries": False},
    }


# ------------------------------------------------------------------------------------------------ running


@dataclass
class SensitivityResult:
    method: str
    indices: pd.DataFrame
    point_means: pd.DataFrame
    runs: int
    out: Path
    figures: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # indices the design does not resolve (`index_warnings`)


OUTPUT_FILES = ("experiment.yaml", "indices.csv", "point_means.csv", "ranking.txt")


def run_sensitivity(spec: str | Path, method: str, out: str | Path | None = None, *, workers: int | None = None,
                    scheduler: str | None = None, force: bool = False,
                    progress: Callable[[int, int], None] | None = None,
                    figures: bool = True) -> SensitivityResult:
    """Sample, run every point x replicate through the sweep engine (resumable) into OUT/sweep, analyse, and write
    OUT/experiment.yaml, OUT/indices.csv, OUT/point_means.csv, OUT/ranking.txt and (unless figures=False)
    OUT/figures/; default OUT results/<name>-<method>. Sobol indices the design does not resolve come back as
    `warnings` (`index_warnings`), in the `warning` column of indices.csv and at the end of ranking.txt.

    Output rule (sim/outputs.py), checked before anything is written (UsageError otherwise): OUT is absent, empty
    or a sensitivity directory (marker `sensitivity`, written when it is created), which is resumed; OUT/sweep is
    absent, empty or a bordersim sweep directory. Runs of another design in OUT/sweep are discarded only with
    `force` (`remove_owned`); nothing bordersim did not make is deleted or overwritten."""
    import numpy as np
    import pandas as pd

    from sim.experiments.analysis_dirs import check_design, claim_analysis_dir, make_analysis_dir, run_owned_sweep
    from sim.experiments.spec import ExperimentSpec, LoadedSpec
    from sim.experiments.sweep import plan
    from sim.scenario import validate_model

    ls = load_sensitivity(spec)
    design_size(ls, method)  # an unknown method is refused before a path is made of it
    out = real_target(out) if out is not None else default_dir(f"{ls.spec.name}-{method}")
    existed = claim_analysis_dir(out, "sensitivity", force=force, sweeps=["sweep"], files=list(OUTPUT_FILES))
    x = sample(ls, method)
    exp_path = out / "experiment.yaml"
    exp = experiment_spec(ls, method, x)
    # The sweep's spec is built in memory, so that OUT/sweep can be compared with it before anything is written.
    loaded = LoadedSpec(validate_model(ExperimentSpec, exp, path=str(exp_path)), exp_path, ls.base)
    check_design(out / "sweep", loaded, force=force)
    make_analysis_dir(out, "sensitivity", existed)
    atomic_write_text(exp_path, yaml.safe_dump(exp, sort_keys=False, width=110))
    runs = run_owned_sweep(plan(loaded), out / "sweep", replace=force, workers=workers, scheduler=scheduler,
                           progress=progress)
    y = replicate_matrix(runs, len(x), ls.spec.replicates, ls.outcomes)
    indices = analyze(ls, method, x, y)
    warnings = index_warnings(indices)
    means = pd.DataFrame(x, columns=[f"u:{n}" for n in ls.names])
    for j, (n, b) in enumerate(ls.spec.parameters.items()):
        means[n] = _from_unit(b, x[:, j])
    for o in ls.outcomes:
        means[o.name] = y[o.name].mean(axis=1)
        means[f"{o.name}:sd"] = y[o.name].std(axis=1, ddof=1) if y[o.name].shape[1] > 1 else np.nan
    with atomic_path(out / "indices.csv") as tmp:
        indices.to_csv(tmp, index=False)
    with atomic_path(out / "point_means.csv") as tmp:
        means.to_csv(tmp, index_label="point")
    header = (f"{ls.spec.name}: {method}, {len(x)} points x {ls.spec.replicates} replicates = "
              f"{len(x) * ls.spec.replicates} runs of {ls.scenario_path.name}")
    footer = "".join(f"\nwarning: {w}" for w in warnings)
    atomic_write_text(out / "ranking.txt", header + "\n\n" + ranking_table(indices) + "\n" + footer
                      + ("\n" if footer else ""))
    result = SensitivityResult(method, indices, means, len(runs), out, warnings=warnings)
    if figures:
        from sim.plots.sensitivity import write_figures

        result.figures = write_figures(indices, out / "figures")
    return result


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
    salib_seed = int(np.random.SeedSequence([ls.spec.seed, 7]).generate_state(1)[0]) | 1  # SALib skips seed 0
    keys = ("S1", "ST") if method == "sobol" else ("mu_star",)
    rng = np.random.default_rng([ls.spec.seed, 11])
    z = stats.norm.ppf(0.5 + CONF_LEVEL / 2)
    frames = []
    for o in ls.outcomes:
        yo = y[o.name]
        est = _indices(method, prob, x, yo.mean(axis=1), settings, 1000 if method == "morris" else 200, salib_seed)
        r = yo.shape[1]
        if r >= 2 and ls.spec.seed_bootstrap > 0:
            draws = {k: [] for k in keys}
            for _ in range(ls.spec.seed_bootstrap):
                pick = rng.integers(0, r, size=r)
                boot = _indices(method, prob, x, yo[:, pick].mean(axis=1), settings, 2, salib_seed)
                for k in keys:
                    draws[k].append(boot[k])
            for k in keys:
                est[f"{k}_seed_conf"] = z * np.std(np.array(draws[k]), axis=0, ddof=1)
        else:
            for k in keys:
                est[f"{k}_seed_conf"] = np.full(len(ls.names), np.nan)
        frame = pd.DataFrame({"method": method, "outcome": o.name, "expression": o.expression,
                              "parameter": ls.names, "label": ls.labels, **est})
        frame["noise_share"] = noise_share(yo)
        frame["outcome_mean"] = float(yo.mean())
        frame["replicates"] = r
        order = frame["mu_star" if method == "morris" else "ST"].rank(ascending=False, method="min",
                                                                        na_option="keep")
        frame.insert(5, "rank", order.astype("Int64"))
        frame["warning"] = [("; ".join(sobol_problems(row)) if method == "sobol" else "")
                            for _, row in frame.iterrows()]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


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
        noise = "n/a (1 replicate)" if pd.isna(ns) else f"{100 * ns:.1f}% of the variance of the point means"
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


# ---------------------------------------------------------------------------------------------------- CLI


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """The command: run (or resume) the analysis, print the ranking and a `warning: ...` line per outcome whose
    indices the design does not resolve. Bad input raises InputError (exit 2 in the CLI); Ctrl-C returns 130."""
    from sim.cli import progress_bar
    from sim.experiments.executors import default_workers

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, found {args.workers}")
    ls = load_sensitivity(args.spec)
    points, runs = design_size(ls, args.method)
    if args.dry_run:
        print(f"spec {ls.path} ({args.method}, {len(ls.names)} parameters, {len(ls.outcomes)} outcomes): "
              f"{points} points x {ls.spec.replicates} replicates = {runs} runs of scenario '{ls.base.name}'")
        return 0
    with progress_bar(f"sensitivity {ls.spec.name} ({args.method})", not args.quiet) as update:
        try:
            from sim.experiments.sweep import SweepInterrupted

            res = run_sensitivity(args.spec, args.method, args.out, workers=args.workers or default_workers(),
                                  scheduler=args.scheduler, force=args.force, progress=update)
        except SweepInterrupted as exc:
            print(f"{exc}; run the same command again to resume", file=sys.stderr)
            return 130
    print(ranking_table(res.indices))
    print(f"\nwrote {res.out}/indices.csv, point_means.csv, ranking.txt ({res.runs} runs in {res.out}/sweep)")
    for p in res.figures:
        print(p)
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def add_sensitivity_parser(sub) -> None:
    """Register `bordersim sensitivity` on an argparse subparsers object (bad input raises ScenarioError)."""
    p = sub.add_parser("sensitivity", help="which parameters move the outcomes (Morris or Sobol, SALib)",
                       description="Sample the spec's parameters (SALib Morris trajectories or Sobol/Saltelli), "
                                   "run every point x replicate through the sweep engine (parallel, resumable) "
                                   "into OUT/sweep, and write OUT/indices.csv, a ranking and figures. Format: "
                                   "docs/sensitivity.md.")
    p.add_argument("spec", help="sensitivity spec YAML file")
    p.add_argument("--method", choices=METHODS, required=True, help="morris (screening) or sobol (variance shares)")
    p.add_argument("--out", metavar="DIR", help="output directory (default: results/<name>-<method>)")
    p.add_argument("--workers", type=int, metavar="N", help="worker processes (default: number of cores)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="run on a Dask cluster at ADDR, or 'local' for a LocalCluster (extra bordersim[cluster])")
    p.add_argument("--dry-run", action="store_true", help="print the number of runs the design needs; run nothing")
    p.add_argument("--force", action="store_true",
                   help="discard the runs in OUT/sweep made by a different design (OUT must be a sensitivity "
                        "directory bordersim made; nothing else is ever deleted)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sensitivity)
