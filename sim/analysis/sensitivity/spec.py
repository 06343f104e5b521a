"""The sensitivity spec (docs/sensitivity.md): parameters with bounds, outcomes, Morris and Sobol settings,
replicates, a seed; loaded and checked against its base scenario."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from sim.api_checks import MAX_SEED
from sim.analysis.sensitivity import METHODS
from sim.analysis.sensitivity.outcomes import Outcome, parse_outcome
from sim.engine.engines import ENSEMBLE_DEFAULT, EngineName
from sim.experiments.parameters import ParameterRange, distinct_paths
from sim.errors import ScenarioError
from sim.loading import load_base_scenario, validate_dict
from sim.outputs import check_name
from sim.scenario.dates import parse_month
from sim.scenario.keys import line_for
from sim.scenario.overrides import get_path, refuse_repeated_places, scenario_to_dict, set_path
from sim.scenario.schema import Scenario
from sim.scenario.strict import Strict
from sim.scenario.validation import read_model_file

Scalar = float | int | bool | str


# ------------------------------------------------------------------------------------------------- spec


class Bounds(ParameterRange):
    """A parameter's range (`sim.experiments.parameters`): uniform on [low, high] (the default kind), loguniform
    (low > 0), the integers low..high, categorical values or a fixed value; with a label for tables and figures."""

    proper_interval: ClassVar[bool] = True
    dist: Literal["uniform", "loguniform", "integer", "categorical", "fixed"] = Field(
        "uniform", description="uniform (default), loguniform, integer, categorical or fixed.")
    label: str | None = Field(None, description="Short name in tables and figures (default: the dotted path).")


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
    second_order: StrictBool = Field(False, description="Also sample for second-order indices (N(2D+2) points).")

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"samples must be a power of two, found {v}")
        return v


def _check_sensitivity_name(name: str) -> str:
    """A safe path component (`sim.outputs.check_name`) that stays one with the method appended (the default
    output directory is results/<name>-<method>)."""
    return check_name(name, room=max(len(m) for m in METHODS) + 1,
                      why="the default output directory is results/<name>-<method>")


class SensitivitySpec(Strict):
    name: str = Field(description="Spec name; the default output is results/<name>-<method>: ASCII letters, digits, "
                                  "'.', '_', '-'.")

    _safe_name = field_validator("name")(classmethod(lambda cls, v: _check_sensitivity_name(v)))
    description: str = ""
    scenario: str = Field(description="Base scenario, path relative to the spec file.")
    fixed: dict[str, Scalar] = Field(default_factory=dict,
                                     description="dotted.path: value set at every point (e.g. population.size).")
    parameters: dict[str, Bounds] = Field(min_length=1)
    _distinct_paths = field_validator("parameters")(classmethod(lambda cls, v: distinct_paths(v)))
    outcomes: dict[str, str] = Field(min_length=1, description="name: expression (docs/sensitivity.md).")
    morris: MorrisSettings = Field(default_factory=MorrisSettings)
    sobol: SobolSettings = Field(default_factory=SobolSettings)
    replicates: int = Field(2, ge=1, le=1000)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    seed_bootstrap: int = Field(200, ge=0, le=100_000, description="Replicate bootstrap draws for seed intervals.")
    engine: EngineName = Field(ENSEMBLE_DEFAULT, description="Which engine runs the sweep: arrays (default) or "
                                                             "agents (the Mesa engine); both give the same results.")

    @model_validator(mode="after")
    def _check(self) -> SensitivitySpec:
        check_fixed_apart(self.fixed, self.parameters)
        return self


def check_labels(parameters: dict[str, Bounds], path: str, lines: dict) -> list[str]:
    """Each parameter's label (its path when it has none); ScenarioError naming the spec's `parameters` unless
    they differ (tables and figures name parameters by them)."""
    labels = [b.label or n for n, b in parameters.items()]
    if len(set(labels)) != len(labels):
        raise ScenarioError(f"labels must differ, found {labels}", path=path, key="parameters",
                            line=line_for(lines, ("parameters",)))
    return labels


def check_fixed_apart(fixed: dict, parameters: dict) -> None:
    """ValueError naming the paths that are both fixed and a parameter (a spec sets a path one way only)."""
    both = set(fixed) & set(parameters)
    if both:
        raise ValueError(f"{', '.join(sorted(both))} is both fixed and a parameter")



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

    from sim.rules.network import RouteGraph

    p = Path(path)
    spec, _, lines = read_model_file(SensitivitySpec, p)
    scenario_path, base = load_base_scenario(p, spec.scenario, lines)
    fixed = scenario_to_dict(base)
    for name, value in spec.fixed.items():
        set_all_paths(fixed, name, value, str(p), ("fixed", name), lines)
    validate_point(fixed, str(p), ("fixed",), lines, "with the fixed settings")
    for name, b in spec.parameters.items():
        refuse_fractions_of_counts(fixed, name, b, str(p), lines)
        ends = b.extremes()
        for where, value in zip(("low", "high") if b.low is not None else ("value",) * len(ends), ends):
            data = json.loads(json.dumps(fixed))
            set_all_paths(data, name, value, str(p), ("parameters", name), lines)
            validate_point(data, str(p), ("parameters", name), lines, f"at {where} = {value}")
    refuse_repeated_places(fixed, [*spec.fixed, *spec.parameters], path=str(p), line=line_for(lines, ("parameters",)))
    check_labels(spec.parameters, str(p), lines)
    routes = list(RouteGraph(base).routes)
    years = range(parse_month(base.time.start)[0], parse_month(base.time.end)[0] + 1)
    outcomes = []
    for name, expr in spec.outcomes.items():
        # point_means.csv has a column `point`, one per parameter path (and `u:PATH`), one per outcome (and
        # `NAME:sd`): an outcome named like another column would overwrite it
        if name == "point" or name in spec.parameters or name.startswith("u:") or name.endswith(":sd"):
            raise ScenarioError(f"outcome name '{name}' would name a column of point_means.csv twice; an outcome "
                                "may not be called 'point' or like a parameter's path, start with 'u:' or end "
                                "with ':sd'", path=str(p), key=f"outcomes.{name}",
                                line=line_for(lines, ("outcomes", name)))
        try:
            outcomes.append(parse_outcome(name, expr, routes, years))
        except ValueError as exc:
            raise ScenarioError(str(exc), path=str(p), key=f"outcomes.{name}",
                                line=line_for(lines, ("outcomes", name))) from None
    return LoadedSensitivity(spec, p, scenario_path, base, outcomes)


def set_all_paths(data: dict, name: str, value, source: str, raw: tuple, lines: dict) -> None:
    """Set every comma-separated dotted path of `name`; an unknown path is reported at the spec's key."""
    try:
        for dotted in name.split(","):
            set_path(data, dotted.strip(), value, source=source)
    except ScenarioError as exc:
        raise ScenarioError(exc.message, path=source, key=".".join(raw), line=line_for(lines, raw)) from None


def refuse_fractions_of_counts(data: dict, name: str, b: Bounds, source: str, lines: dict) -> None:
    """ScenarioError at the spec's key when `b` is a continuous range (uniform, loguniform) over a path where the
    scenario holds a whole number (a count, such as `population.size`): the design's points would be fractions,
    which the scenario refuses, and the sweep found that only after building the design, naming a file the
    analysis writes (its bounds themselves, whole numbers, pass; a log-uniform bound of 1000 is 999.99...)."""
    if b.dist not in ("uniform", "loguniform"):
        return
    for dotted in (q.strip() for q in name.split(",")):
        try:
            node = get_path(data, dotted)
        except KeyError:
            continue  # an unknown path: `set_all_paths` names it
        if isinstance(node, int) and not isinstance(node, bool):
            raise ScenarioError(f"the scenario holds a whole number at '{dotted}' (a count): give it `dist: integer` "
                                f"(the whole numbers low..high), not {b.dist}", path=source,
                                key=f"parameters.{name}", line=line_for(lines, ("parameters", name)))


def validate_point(data: dict, source: str, raw: tuple, lines: dict, when: str) -> None:
    """The scenario with these settings must be valid (schema and graph checks) before anything runs."""
    try:
        validate_dict(data, path="(sensitivity point)")
    except ScenarioError as exc:
        raise ScenarioError(f"the base scenario becomes invalid {when}: {exc.key}: {exc.message}", path=source,
                            key=".".join(raw), line=line_for(lines, raw)) from None



def problem(ls: LoadedSensitivity) -> dict:
    """SALib problem on the unit hypercube (values are mapped by each parameter's distribution afterwards)."""
    return {"num_vars": len(ls.names), "names": list(ls.names), "bounds": [[0.0, 1.0]] * len(ls.names)}
