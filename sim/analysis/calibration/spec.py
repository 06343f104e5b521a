"""Calibration specs (`bordersim calibrate SPEC`): the YAML schema, validated against the base scenario and the
observed series before anything runs. Format and meaning in docs/calibration.md."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import pandas as pd
from pydantic import Field, StrictBool, ValidationInfo, field_validator, model_validator

from sim.api_checks import MAX_SEED
from sim.observed import OBSERVED_SERIES, load_observed, load_targets, read_observed_csv, whole_years
from sim.outputs import check_name
from sim.scenario.schema import MAX_POPULATION, Scenario
from sim.scenario.strict import Strict
from sim.engine.engines import ENSEMBLE_DEFAULT, EngineName
from sim.experiments.design import MAX_RUNS
from sim.experiments.parameters import ParameterRange, distinct_paths
from sim.errors import ScenarioError
from sim.scenario.keys import line_for
from sim.loading import load_base_scenario, refuse_tilde, validate_dict
from sim.scenario.validation import read_model_file
from sim.scenario.overrides import get_path, refuse_repeated_places, scenario_to_dict, set_path

class Prior(ParameterRange):
    """A prior (`sim.experiments.parameters`): uniform(low, high) or loguniform(low, high) with 0 < low; only the
    continuous kinds, because refinement maps posterior values back to the unit interval (`to_unit`)."""

    proper_interval: ClassVar[bool] = True
    dist: Literal["uniform", "loguniform"] = Field(description="Prior family.")


Years = tuple[int, int]


class ArrivalsTarget(Strict):
    years: Years = Field(description="First and last year (inclusive); observed periods wholly inside are compared.")
    weight: float = Field(1.0, gt=0)


class FemaleShareTarget(Strict):
    years: Years
    weight: float = Field(1.0, gt=0)
    value: float | None = Field(None, gt=0, lt=1, description="Observed share; default: pooled from the series.")
    by_year: StrictBool = Field(False, description="Compare each observed year's share instead of the pooled one.")

    @model_validator(mode="after")
    def _value_pooled(self) -> FemaleShareTarget:
        if self.by_year and self.value is not None:
            raise ValueError("value is the pooled share: with by_year the shares come from the observed series")
        return self


class YearsAbroadTarget(Strict):
    years: Years = Field(description="Arrival years whose mean time abroad is compared.")
    range: tuple[float, float] | None = Field(None, description="Observed mean time abroad in years [low, high]; "
                                                                "default: the years_abroad row of "
                                                                "sim/data/targets.csv for these years.")
    weight: float = Field(1.0, gt=0)


class RepatriationsTarget(Strict):
    years: Years = Field(description="Years whose repatriations are summed.")
    at_least: float | None = Field(None, gt=0, description="Lower bound on repatriations over these years; "
                                                            "default: the repatriations row of "
                                                            "sim/data/targets.csv for these years.")
    weight: float = Field(1.0, gt=0)


class RouteShareTarget(Strict):
    years: Years
    routes: list[str] = Field(min_length=1, description="Route labels whose share of arrivals is the target.")
    value: float | None = Field(None, gt=0, lt=1, description="Observed share of these routes among arrivals.")
    range: tuple[float, float] | None = Field(None, description="Or the range the sources give: no error inside.")
    weight: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _one(self) -> RouteShareTarget:
        if (self.value is None) == (self.range is None):
            raise ValueError("give either value (a share) or range ([low, high])")
        if self.range is not None and not 0 < self.range[0] <= self.range[1] < 1:
            raise ValueError(f"range must satisfy 0 < low <= high < 1, found {list(self.range)}")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        if self.range is None:
            assert self.value is not None  # one of value and range is given: checked by the validator above
            return self.value, self.value
        return self.range

    def error(self, share: float) -> float:
        """|ln(share / value)|, or for a range the log-distance to its nearer end (0 inside)."""
        lo, hi = self.bounds
        return math.log(lo / share) if share < lo else math.log(share / hi) if share > hi else 0.0


TARGET_NAMES = ("arrivals", "female_share", "route_share", "years_abroad", "repatriations")


class Targets(Strict):
    arrivals: ArrivalsTarget | None = None
    female_share: FemaleShareTarget | None = None
    route_share: RouteShareTarget | None = None
    years_abroad: YearsAbroadTarget | None = None
    repatriations: RepatriationsTarget | None = None

    @model_validator(mode="after")
    def _some(self) -> Targets:
        if not any(getattr(self, name) for name in TARGET_NAMES):
            raise ValueError(f"give at least one target: {', '.join(TARGET_NAMES)}")
        for name in TARGET_NAMES:
            t = getattr(self, name)
            if t is not None and t.years[1] < t.years[0]:
                raise ValueError(f"{name}.years: the last year ({t.years[1]}) is before the first ({t.years[0]})")
        return self


class Sampling(Strict):
    design: Literal["sobol", "lhs"] = "sobol"
    samples: int = Field(ge=2, le=100_000, description="Prior points (sobol: a power of two).")
    replicates: int = Field(2, ge=1, le=100)
    seed: int = Field(0, ge=0, le=MAX_SEED)

    @model_validator(mode="after")
    def _pow2(self) -> Sampling:
        if self.design == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"sobol samples must be a power of two, found {self.samples}")
        return self


class Accept(Strict):
    quantile: float = Field(gt=0, le=1, description="Keep the closest fraction of points (epsilon quantile).")


class Refine(Strict):
    samples: int = Field(ge=2, le=100_000, description="New Sobol points in the box (a power of two).")
    expand: float = Field(0.1, ge=0, le=1, description="Widen the accepted range by this fraction on each side.")
    quantile: float | None = Field(None, gt=0, le=1, description="Accept this quantile of the points in the box; "
                                                                  "default: keep the first round's epsilon.")

    @model_validator(mode="after")
    def _pow2(self) -> Refine:
        if self.samples & (self.samples - 1):
            raise ValueError(f"refine samples must be a power of two, found {self.samples}")
        return self


class Smc(Strict):
    """Sequential ABC (`method: smc`): sim/analysis/calibration/smc.py and docs/calibration.md."""

    generations: int = Field(4, ge=1, le=50, description="Generations after the prior sample (generation 0).")
    particles: int | None = Field(None, ge=2, le=100_000, description="Accepted particles each generation needs; "
                                                                       "default: the number generation 0 accepted.")
    quantile: float = Field(0.5, gt=0, lt=1, description="epsilon_t = this quantile of generation t-1's accepted "
                                                         "distances.")
    min_acceptance: float = Field(0.02, ge=0.001, le=1, description="Stop after a generation whose acceptance rate "
                                                                    "(accepted / proposed) is below this.")
    batch: int | None = Field(None, ge=2, le=100_000, description="Candidates per sweep; default: 2 x particles.")


class Check(Strict):
    replicates: int = Field(5, ge=1, le=100, description="Runs of the calibrated values at the base size.")
    candidates: int = Field(1, ge=1, le=100, description="point: best: check this many accepted points of least "
                                                         "distance and write the one that does best.")


ROUND_SUFFIX = "-sweep_round2"  # the longest name of a calibration's sweep specs is <name>-sweep_round2


def _check_calibration_name(name: str) -> str:
    """A safe path component (`sim.outputs.check_name`) short enough for its sweeps' names."""
    return check_name(name, room=len(ROUND_SUFFIX), why=f"the calibration's sweeps are named <name>{ROUND_SUFFIX}")


class CalibrationSpec(Strict):
    name: str = Field(description="Calibration name; the default output is results/<name>: ASCII letters, digits, '.', "
                                  "'_', '-'.")

    _safe_name = field_validator("name")(classmethod(lambda cls, v: _check_calibration_name(v)))
    description: str = ""
    scenario: str = Field(description="Base scenario, relative to the spec file.")
    observed: str = Field("mou_arrivals", description="Packaged series name, or a CSV file (relative to the spec) "
                                                       "with the columns of sim/data/mou_arrivals.csv.")
    population_size: int | None = Field(None, ge=1, le=MAX_POPULATION,
                                        description="Run the calibration at this population size.")
    parameters: dict[str, Prior] = Field(min_length=1)
    _distinct_paths = field_validator("parameters")(classmethod(lambda cls, v: distinct_paths(v)))
    targets: Targets
    sampling: Sampling
    accept: Accept
    refine: Refine | None = None
    method: Literal["rejection", "smc"] = Field("rejection", description="rejection (one prior sample, optionally "
                                                                         "refined) or smc (sequential ABC).")
    smc: Smc | None = Field(None, description="method: smc: its settings (default: the defaults of each key).")
    point: Literal["median", "best"] = Field("median", description="Calibrated values: posterior medians, or the "
                                                                    "accepted point of least distance.")
    check: Check = Field(default_factory=Check)
    engine: EngineName = Field(ENSEMBLE_DEFAULT, description="Which engine runs the sweeps: arrays (default) or "
                                                             "agents (the Mesa engine); both give the same results.")

    @field_validator("refine")
    @classmethod
    def _refine_shrinks(cls, refine: Refine | None, info: ValidationInfo) -> Refine | None:
        """refine.quantile gives a smaller epsilon than the first round's: below accept.quantile."""
        accept = info.data.get("accept")
        if refine is not None and refine.quantile is not None and accept is not None \
                and refine.quantile >= accept.quantile:
            raise ValueError(f"refine.quantile ({refine.quantile:g}) must be below accept.quantile "
                             f"({accept.quantile:g}): it gives a smaller epsilon than the first round's (leave it out "
                             "to keep that epsilon)")
        return refine

    @field_validator("method")
    @classmethod
    def _no_refine_with_smc(cls, method: str, info: ValidationInfo) -> str:
        """Named at `method` (refine comes before it), so that the error gives its key and line."""
        if method == "smc" and info.data.get("refine") is not None:
            raise ValueError("refine is a second round of rejection ABC; method: smc refines by its generations "
                             "(leave refine out, or use method: rejection)")
        return method

    @field_validator("smc")
    @classmethod
    def _smc_only_with_smc(cls, smc: Smc | None, info: ValidationInfo) -> Smc | None:
        if info.data.get("method") == "rejection" and smc is not None:  # absent: method itself was refused
            raise ValueError("smc settings are given but method is rejection: add method: smc, or leave smc out")
        return smc


@dataclass
class LoadedCalibration:
    """A validated spec with its base scenario, observed table and derived constants."""

    spec: CalibrationSpec
    path: Path
    base_path: Path
    base: Scenario
    observed: pd.DataFrame
    female_observed: float | None
    count_scale: float
    horizon: Years
    routes: list[str]
    female_by_year: dict[int, float] = field(default_factory=dict)  # observed single years, with by_year
    abroad_range: tuple[float, float] | None = None  # years_abroad target, years
    repatriations_floor: float | None = None  # repatriations target, persons

    @property
    def names(self) -> list[str]:
        return list(self.spec.parameters)

    @property
    def route_share_needs_timeseries(self) -> bool:
        t = self.spec.targets.route_share
        return t is not None and tuple(t.years) != self.horizon

    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def _refuse_bad_count_prior(full: dict, name: str, prior: Prior, fail) -> None:
    """A parameter where the base holds a whole number (a count, such as `population.size`) is sampled as the
    integers low..high (`sim.analysis.calibration.rounds.integer_parameters`): its prior must be uniform, with
    whole-number bounds."""
    try:
        node = get_path(full, name.split(",")[0].strip())
    except KeyError:
        return  # an unknown path: named by the check of the bounds that follows
    if not isinstance(node, int) or isinstance(node, bool):
        return
    if prior.dist != "uniform":
        raise fail(f"'{name}' sets a whole number of the scenario (a count): give it a uniform prior, sampled as "
                   f"the integers low..high (found {prior.dist})", ("parameters", name))
    if not (float(prior.low).is_integer() and float(prior.high).is_integer()):  # type: ignore[arg-type]
        raise fail(f"'{name}' sets a whole number of the scenario (a count): give its prior whole-number bounds "
                   f"(found low {prior.low:g}, high {prior.high:g})", ("parameters", name))


def load_calibration(path: str | Path) -> LoadedCalibration:
    """Read and validate a calibration spec against its base scenario and observed series."""
    p = Path(path)
    spec, _, lines = read_model_file(CalibrationSpec, p)

    def fail(msg: str, raw: tuple) -> ScenarioError:
        return ScenarioError(msg, path=str(p), key=".".join(map(str, raw)) or None, line=line_for(lines, raw))

    replicates = spec.sampling.replicates
    # each round is a sweep: (key, its points, what they are, what to lower), refused here in this file's words
    rounds = [(("sampling", "samples"), spec.sampling.samples, "points", "samples")]
    if spec.refine is not None:
        rounds.append((("refine", "samples"), spec.refine.samples, "points", "refine samples"))
    if spec.method == "smc":  # a batch of candidates; by default 2 x particles, at most 2 x the prior sample
        smc = spec.smc or Smc()
        if smc.batch is not None:
            rounds.append((("smc", "batch"), smc.batch, "candidates a batch (smc.batch)", "smc.batch"))
        else:
            batch = 2 * (smc.particles or spec.sampling.samples)
            rounds.append((("smc", "particles") if smc.particles else ("sampling", "samples"), batch,
                           "candidates a batch (by default 2 x the particles, which default to the samples)",
                           "smc.particles, a smaller smc.batch"))
    for key, points, what, lower in rounds:
        if points * replicates > MAX_RUNS:
            raise fail(f"{points:,} {what} x {replicates} replicates (sampling.replicates) make "
                       f"{points * replicates:,} runs, more than the limit of {MAX_RUNS:,} runs per sweep: use fewer "
                       f"{lower} or replicates", key)
    base_path, base = load_base_scenario(p, spec.scenario, lines)
    horizon = (int(base.time.start[:4]), int(base.time.end[:4]))
    full = scenario_to_dict(base)
    for name, prior in spec.parameters.items():
        _refuse_bad_count_prior(full, name, prior, fail)
        for bound in (prior.low, prior.high):
            trial = json.loads(json.dumps(full))
            try:
                for one in name.split(","):
                    set_path(trial, one.strip(), bound, source=str(p))
                validate_dict(trial, path="(prior bound)")
            except ScenarioError as exc:
                raise fail(f"{exc.message} (with the prior bound {bound:g})", ("parameters", name)) from None
    refuse_repeated_places(full, spec.parameters, path=str(p), line=line_for(lines, ("parameters",)))
    refuse_tilde(spec.observed, p, "observed", lines)
    observed = _observed_table(spec.observed, p)
    if observed is None:
        raise fail(f"unknown observed series '{spec.observed}' (no such file either); packaged series: "
                   f"{', '.join(OBSERVED_SERIES)}", ("observed",))
    t = spec.targets
    whole = whole_years(base.time.start, base.time.end)
    for name in TARGET_NAMES:
        target = getattr(t, name)
        if target is not None and not (whole[0] <= target.years[0] and target.years[1] <= whole[1]):
            partly = sorted({y for y in horizon if not whole[0] <= y <= whole[1]
                             and target.years[0] <= y <= target.years[1]})
            why = (f" (it covers {' and '.join(map(str, partly))} only in part: part of a year's simulated counts "
                   "would be compared with the whole year observed)" if partly else "")
            covered = f"covers whole, {list(whole)}" if whole[0] <= whole[1] else "covers no year whole"
            raise fail(f"years {list(target.years)} reach outside the years the scenario's horizon "
                       f"({base.time.start} to {base.time.end}) {covered}{why}", ("targets", name, "years"))
    if t.arrivals is not None and _arrival_rows(observed, t.arrivals.years, horizon).empty:
        raise fail(f"no observed period of '{spec.observed}' lies wholly inside {list(t.arrivals.years)}",
                   ("targets", "arrivals", "years"))
    female = None
    if t.female_share is not None:
        female = t.female_share.value
        if female is None:
            rows = _arrival_rows(observed, t.female_share.years, horizon)
            arrivals = rows["arrivals"].sum()
            if not arrivals:
                raise fail("no observed arrivals in these years to take the female share from",
                           ("targets", "female_share", "years"))
            # the simulated share pools every one of these years: the observed one must too (like with like)
            seen = {y for r in rows.itertuples() for y in range(int(r.period_start), int(r.period_end) + 1)}
            lacking = [y for y in range(t.female_share.years[0], t.female_share.years[1] + 1) if y not in seen]
            if lacking:
                raise fail(f"the observed series '{spec.observed}' has no period wholly inside these years for "
                           f"{', '.join(map(str, lacking))}: the simulated share would pool years the observed one "
                           "does not; give years the series covers", ("targets", "female_share", "years"))
            female = float(rows["female"].sum() / arrivals)
    from sim.rules.network import RouteGraph

    routes = RouteGraph(base).routes
    if t.route_share is not None:
        unknown = [r for r in t.route_share.routes if r not in routes]
        if unknown:
            raise fail(f"unknown route(s) {', '.join(unknown)}; routes of '{base.name}': {', '.join(routes)}",
                       ("targets", "route_share", "routes"))
    if spec.population_size and spec.population_size != base.population.size and (
            base.initial_stock or any(n.brokers is not None for n in base.network.nodes)):
        raise fail(f"population_size {spec.population_size:,} differs from the scenario's {base.population.size:,}, "
                   "but the scenario has an initial stock or brokers, whose sizes and capacities are absolute "
                   "counts: simulated counts would not scale with the population; leave population_size out",
                   ("population_size",))
    by_year = {}
    if t.female_share is not None and t.female_share.by_year:
        rows = _arrival_rows(observed, t.female_share.years, horizon)
        one = rows[(rows["period_start"] == rows["period_end"]) & (rows["arrivals"] > 0)]
        by_year = {int(r.period_start): float(r.female_share) for r in one.itertuples()}
        if not by_year:
            raise fail("no single observed year with arrivals in these years", ("targets", "female_share", "years"))
    abroad = repatriations = None
    if t.years_abroad is not None:
        abroad = t.years_abroad.range or _published(fail, "years_abroad", t.years_abroad.years)
        if not 0 < abroad[0] <= abroad[1]:
            raise fail(f"range must satisfy 0 < low <= high, found {list(abroad)}", ("targets", "years_abroad"))
    if t.repatriations is not None:
        repatriations = t.repatriations.at_least or _published(fail, "repatriations", t.repatriations.years)[0]
    scale = base.population.size / spec.population_size if spec.population_size else 1.0
    return LoadedCalibration(spec, p, base_path, base, observed, female, scale, horizon, routes, by_year, abroad,
                             repatriations)


def _published(fail, target: str, years: Years) -> tuple[float, float]:
    """[low, high] of the row of sim/data/targets.csv for `target` over exactly these years (high = low for a
    lower bound); a ScenarioError naming the key when there is none."""
    table = load_targets()
    start, end = table["period_start"], table["period_end"]
    rows = table[(table["target"] == target) & (start.dt.year == years[0]) & (start.dt.month == 1)
                 & (end.dt.year == years[1]) & (end.dt.month == 12)]
    if rows.empty:
        raise fail(f"sim/data/targets.csv has no {target} figure for {years[0]}-{years[1]}; give the value here",
                   ("targets", target))
    low, high = float(rows.iloc[0]["low"]), float(rows.iloc[0]["high"])
    return low, (high if math.isfinite(high) else low)


def _observed_table(ref: str, spec_path: Path) -> pd.DataFrame | None:
    """A packaged series by name, or a CSV file with the packaged columns (period_start, period_end, arrivals,
    male, female, source, note; '#' comment lines), read and checked as `load_observed` (`read_observed_csv`)."""
    if ref in OBSERVED_SERIES:
        return load_observed(ref)
    path = (spec_path.parent / ref)
    if not path.is_file():
        return None
    try:
        return read_observed_csv(path)
    except pd.errors.ParserError as exc:
        raise ScenarioError(f"cannot read observed series as CSV: {exc}", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"cannot read observed series as CSV text: {exc.reason}", path=str(path)) from None
    except ValueError as exc:
        raise ScenarioError(f"observed series, {exc}", path=str(path)) from None


def _arrival_rows(observed: pd.DataFrame, years: Years, horizon: Years) -> pd.DataFrame:
    """Observed non-cumulative periods wholly inside `years` and the horizon."""
    lo, hi = max(years[0], horizon[0]), min(years[1], horizon[1])
    keep = (~observed["cumulative"]) & (observed["period_start"] >= lo) & (observed["period_end"] <= hi)
    return observed[keep]

