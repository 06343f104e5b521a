"""The effects spec (docs/effects.md): base scenario, posterior, packages, outcomes, horizon; loaded and checked
against the base scenario before anything runs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from sim.api_checks import MAX_SEED
from sim.analysis.effects.posterior import Posterior, read_posterior
from sim.analysis.sensitivity.outcomes import Outcome, parse_outcome
from sim.engine.engines import ENSEMBLE_DEFAULT, EngineName
from sim.errors import ScenarioError
from sim.experiments.parameters import Scalar
from sim.loading import load_base_scenario, refuse_tilde, validate_dict
from sim.outputs import check_name
from sim.scenario.dates import month_str, parse_month
from sim.scenario.keys import line_for
from sim.scenario.overrides import copy_tree, refuse_repeated_places, scenario_to_dict, set_path
from sim.scenario.schema import Scenario
from sim.scenario.strict import Strict
from sim.scenario.validation import read_model_file

NONE = "none"  # `posterior: none`: no parameter uncertainty, one draw = the scenario as written
# Posteriors shipped with bordersim: sim/data/posteriors/<scenario name>.csv (issue 14 ships Korea's)
SHIPPED_POSTERIORS = Path(__file__).resolve().parents[2] / "data" / "posteriors"


class EffectsSpec(Strict):
    name: str = Field(description="Spec name; the default output is results/<name>: ASCII letters, digits, '.', '_', "
                                  "'-'.")

    _safe_name = field_validator("name")(classmethod(lambda cls, v: check_name(v)))
    description: str = ""
    scenario: str = Field(description="Base scenario, path relative to the spec file.")
    posterior: str | None = Field(
        None, description="Posterior sample (CSV, relative to the spec file), or 'none' for no parameter "
                          "uncertainty; default: the posterior shipped for the scenario (sim/data/posteriors/).")
    parameters: list[str] | None = Field(
        None, description="Posterior columns to use (default: every column whose name is a dotted path).")
    draws: int | None = Field(None, ge=1, le=100_000,
                              description="Number of draws, evenly thinned from the posterior (default: all).")
    horizon: str | None = Field(None, description="Last month 'YYYY-MM' (time.end); the scenario extends with its "
                                                  "last values.")
    fixed: dict[str, Scalar] = Field(default_factory=dict,
                                     description="dotted.path: value set in every run (e.g. population.size).")
    baseline: str | None = Field(None, description="The package effects are measured against (default: the one "
                                                   "package without settings).")
    policies: dict[str, dict[str, Scalar]] = Field(
        min_length=2, description="package name -> {dotted.path: value}; one of them the baseline (e.g. "
                                  "no_change: {}).")
    outcomes: dict[str, str] = Field(min_length=1, description="name: expression (docs/sensitivity.md).")
    replicates: int = Field(3, ge=1, le=10_000)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    engine: EngineName = Field(ENSEMBLE_DEFAULT, description="Which engine runs the sweep: arrays (default) or "
                                                             "agents (the Mesa engine); both give the same results.")

    @field_validator("horizon", mode="before")
    @classmethod
    def _month(cls, v):
        return None if v is None else month_str(parse_month(v))

    @field_validator("posterior", mode="before")
    @classmethod
    def _none(cls, v):
        return NONE if v is False or (isinstance(v, str) and v.strip().lower() == NONE) else v

    @field_validator("parameters")
    @classmethod
    def _columns(cls, v):
        if v is not None and not v:
            raise ValueError("an empty list chooses no posterior column: name at least one, leave the key out "
                             "to use every column whose name is a dotted path, or write `posterior: none` for "
                             "no parameter uncertainty")
        if v is not None and len(set(v)) < len(v):
            twice = sorted({c for c in v if v.count(c) > 1})
            raise ValueError(f"{', '.join(repr(c) for c in twice)} listed twice")
        return v

    @model_validator(mode="after")
    def _check(self) -> EffectsSpec:
        if self.baseline is not None and self.baseline not in self.policies:
            raise ValueError(f"baseline '{self.baseline}' is not a package; packages: {', '.join(self.policies)}")
        if self.baseline is None:
            empty = [n for n, p in self.policies.items() if not p]
            if len(empty) != 1:
                raise ValueError("name the baseline package (baseline: NAME): the default is the one package "
                                 f"without settings, and there are {len(empty)} ({', '.join(empty) or 'none'})")
        if self.posterior == NONE and (self.parameters is not None or self.draws is not None):
            raise ValueError("posterior: none has no columns or draws to choose; remove parameters/draws")
        return self

    @property
    def baseline_name(self) -> str:
        return self.baseline or next(n for n, p in self.policies.items() if not p)


@dataclass
class LoadedEffects:
    spec: EffectsSpec
    path: Path
    scenario_path: Path
    base: Scenario  # the base scenario with the horizon and the fixed settings applied
    posterior: Posterior
    outcomes: list[Outcome]
    lines: dict = field(default_factory=dict, repr=False)

    @property
    def packages(self) -> list[str]:
        return list(self.spec.policies)

    def keep(self) -> list[str]:
        needed = set().union(*(o.needs() for o in self.outcomes))
        return [k for k in ("totals", "by_route", "by_year") if k in needed]


def default_posterior(scenario: Scenario) -> Path | None:
    """The posterior shipped for a scenario of this name, if any: sim/data/posteriors/<name>.csv."""
    p = SHIPPED_POSTERIORS / f"{scenario.name}.csv"
    return p if p.is_file() else None


def load_effects(path: str | Path) -> LoadedEffects:
    """Read and validate an effects spec: schema; the horizon and fixed settings on the base scenario; the
    posterior file and its columns; every package's paths, and the scenario of every package at the first draw;
    outcome expressions against the routes and the (extended) horizon. Errors name file, key and line."""
    from sim.rules.network import RouteGraph

    p = Path(path)
    spec, _, lines = read_model_file(EffectsSpec, p)
    src = str(p)

    def err(message: str, *raw: str) -> ScenarioError:
        return ScenarioError(message, path=src, key=".".join(raw), line=line_for(lines, raw))

    scenario_path, scenario = load_base_scenario(p, spec.scenario, lines)
    data = scenario_to_dict(scenario)
    if spec.horizon is not None:
        if parse_month(spec.horizon) < parse_month(scenario.time.end):
            raise err(f"horizon {spec.horizon} lies before the scenario's end {scenario.time.end}; the horizon "
                      "extends a scenario, it does not cut it", "horizon")
        data["time"]["end"] = spec.horizon
    refuse_repeated_places(data, spec.fixed, path=src, line=line_for(lines, ("fixed",)), key="fixed")
    for name in spec.fixed:
        if name in ("time.start", "time.end"):
            raise err(f"{name} may not be fixed: the horizon of an effects analysis is set by `horizon: YYYY-MM`, "
                      "which extends the scenario and may not cut it", "fixed", name)
    for package, settings in spec.policies.items():
        for name in settings:
            if name == "time" or name.startswith("time."):
                raise err(f"package '{package}' sets {name}: every package is run over the same horizon and steps "
                          "(an effect would mix the policy with a change of horizon or step); set the horizon "
                          "with `horizon:` and the step with `fixed: {time.step: ...}`", "policies", package, name)
    for name, value in spec.fixed.items():
        _set(data, name, value, err, "fixed", name)
    try:
        base = validate_dict(data, path="(effects base)")
    except ScenarioError as exc:
        raise err(f"the base scenario becomes invalid with the horizon and fixed settings: {exc.key}: "
                  f"{exc.message}", "fixed" if spec.fixed else "horizon") from None
    posterior = _posterior(spec, p, base, data, err, lines)
    _check_draws(posterior, data, err)
    first = copy_tree(data)
    for name, value in posterior.first().items():
        _set(first, name, value, err, "posterior")
    for package, settings in spec.policies.items():
        trial = copy_tree(first)
        refuse_repeated_places(trial, settings, path=src, line=line_for(lines, ("policies", package)),
                               key=f"policies.{package}")
        for name, value in settings.items():
            _set(trial, name, value, err, "policies", package, name)
        try:
            validate_dict(trial, path="(effects package)")
        except ScenarioError as exc:
            raise err(f"package '{package}' makes an invalid scenario: {exc.key}: {exc.message}",
                      "policies", package) from None
    routes = list(RouteGraph(base).routes)
    years = range(parse_month(base.time.start)[0], parse_month(base.time.end)[0] + 1)
    outcomes = []
    for name, expr in spec.outcomes.items():
        try:
            outcomes.append(parse_outcome(name, expr, routes, years))
        except ValueError as exc:
            raise err(str(exc), "outcomes", name) from None
    return LoadedEffects(spec, p, scenario_path, base, posterior, outcomes, lines)


def _posterior(spec: EffectsSpec, p: Path, base: Scenario, data: dict, err, lines: dict) -> Posterior:
    if spec.posterior == NONE:
        return Posterior(None, {}, 1)
    if spec.posterior is None:
        shipped = default_posterior(base)
        if shipped is None:
            raise err(f"no posterior is shipped for scenario '{base.name}' (looked for "
                      f"{SHIPPED_POSTERIORS / (base.name + '.csv')}); name one with `posterior: PATH` (a "
                      "calibration's posterior.csv) or write `posterior: none` for no parameter uncertainty",
                      "posterior")
        file = shipped
    else:
        refuse_tilde(spec.posterior, p, "posterior", lines)
        file = (p.parent / spec.posterior).resolve()
    posterior = read_posterior(file, data, spec.parameters, spec.draws, spec_path=str(p), lines=lines)
    clash = sorted(set(spec.fixed) & set(posterior.columns))
    if clash:
        raise err(f"{', '.join(clash)} is both fixed and a column of the posterior {file}", "fixed", clash[0])
    return posterior


def _check_draws(posterior: Posterior, data: dict, err) -> None:
    """Every draw's row of the posterior, set on the base, makes a valid scenario; else an error naming the
    posterior file, the row and its values (a package would otherwise be blamed for the posterior's value)."""
    if posterior.file is None:
        return
    seen = set()
    for i, row in enumerate(posterior.rows):
        if row in seen:
            continue
        seen.add(row)
        trial = copy_tree(data)
        values = {name: column[i] for name, column in posterior.columns.items()}
        for name, value in values.items():
            _set(trial, name, value, err, "posterior")
        try:
            validate_dict(trial, path="(effects draw)")
        except ScenarioError as exc:
            shown = ", ".join(f"{name} = {value}" for name, value in values.items())
            # the column that sets the path at fault ('network.edges[boat].controls.patrol' is the column's
            # 'network.edges.boat.controls.patrol'); with one column, that one
            at = re.sub(r"\[([^\]]*)\]", r".\1", exc.key or "")
            column = next((name for name in values if at in (p.strip() for p in name.split(","))),
                          next(iter(values)) if len(values) == 1 else None)
            raise ScenarioError(f"posterior row {row} ({shown}; counted from 0, as values.parquet's posterior_row) "
                                f"makes an invalid scenario: {exc.key}: {exc.message}",
                                path=str(posterior.file), key=column) from None


def _set(data: dict, name: str, value, err, *raw: str) -> None:
    """Set every comma-separated dotted path of `name`; an unknown path is reported at the spec's key."""
    try:
        for dotted in name.split(","):
            set_path(data, dotted.strip(), value, source="(effects spec)")
    except ScenarioError as exc:
        raise err(exc.message, *raw) from None

