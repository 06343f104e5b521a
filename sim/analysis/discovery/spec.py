"""The discovery spec (docs/discovery.md): uncertain parameters and policy levers with ranges, an LHS or Sobol
design, one outcome, the condition that makes a point a case of interest, and PRIM settings; loaded and checked
against its base scenario."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.experiments.parameters import distinct_paths
from sim.api_checks import MAX_SEED
from sim.analysis.sensitivity.outcomes import Outcome, parse_outcome
from sim.analysis.sensitivity.spec import (Bounds, check_fixed_apart, check_labels, refuse_fractions_of_counts,
                                          set_all_paths, validate_point)
from sim.engine.engines import ENSEMBLE_DEFAULT, EngineName
from sim.errors import ScenarioError
from sim.experiments.design import check_run_count
from sim.loading import load_base_scenario
from sim.outputs import check_name
from sim.scenario.dates import parse_month
from sim.scenario.keys import line_for
from sim.scenario.overrides import refuse_repeated_places, scenario_to_dict
from sim.scenario.schema import Scenario
from sim.scenario.strict import Strict
from sim.scenario.validation import read_model_file

RESERVED_COLUMNS = ("point", "outcome", "outcome_sd", "case")  # points.csv's own columns (run.point_table)

Scalar = float | int | bool | str


class DiscoveryDesign(Strict):
    type: Literal["lhs", "sobol"] = Field("lhs", description="Latin hypercube (default) or scrambled Sobol points.")
    samples: int = Field(200, ge=10, le=1_000_000, description="Number of points (sobol: a power of two).")

    @model_validator(mode="after")
    def _check(self) -> DiscoveryDesign:
        if self.type == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"sobol samples must be a power of two, found {self.samples}")
        return self


class Condition(Strict):
    """When a point is a case of interest (y = 1), on its outcome value v (the mean over its replicates): exactly
    one of v < below, v > above, v <= the q-quantile of all points (below_quantile), v >= the q-quantile
    (above_quantile)."""

    below: float | None = Field(None, description="Cases of interest: outcome < below.")
    above: float | None = Field(None, description="Cases of interest: outcome > above.")
    below_quantile: float | None = Field(None, gt=0, lt=1, description="Outcome <= its q-quantile over the points.")
    above_quantile: float | None = Field(None, gt=0, lt=1, description="Outcome >= its q-quantile over the points.")

    @model_validator(mode="after")
    def _one(self) -> Condition:
        given = [k for k in ("below", "above", "below_quantile", "above_quantile") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of below, above, below_quantile, above_quantile; found "
                             f"{', '.join(given) or 'none'}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("below", "above", "below_quantile", "above_quantile") if getattr(self, k) is not None)

    @property
    def value(self) -> float:
        v = getattr(self, self.kind)
        assert v is not None
        return float(v)

    def describe(self) -> str:
        return {"below": f"< {self.value:g}", "above": f"> {self.value:g}",
                "below_quantile": f"<= its {self.value:g} quantile",
                "above_quantile": f">= its {self.value:g} quantile"}[self.kind]


class PrimSettings(Strict):
    threshold: float = Field(0.8, gt=0, le=1, description="Minimum density of the chosen box: the box of the "
                                                          "peeling trajectory with the highest coverage among those "
                                                          "at least this dense (the densest of them on a tie).")
    peel_alpha: float = Field(0.05, gt=0, lt=0.5, description="Share of the points peeled off per step.")
    paste_alpha: float = Field(0.05, gt=0, lt=0.5, description="Share of the points pasted back per step.")
    mass_min: float = Field(0.05, gt=0, lt=1, description="Peeling stops at boxes holding this share of points.")
    max_qp: float = Field(0.05, gt=0, le=1, description="Restrictions of the chosen box whose quasi-p-value exceeds "
                                                        "this are dropped, the weakest first (1: keep them all).")


class DiscoverySpec(Strict):
    name: str = Field(description="Spec name; the default output is results/<name>: ASCII letters, digits, '.', "
                                  "'_', '-'.")

    _safe_name = field_validator("name")(classmethod(lambda cls, v: check_name(v)))
    description: str = ""
    scenario: str = Field(description="Base scenario, path relative to the spec file.")
    fixed: dict[str, Scalar] = Field(default_factory=dict,
                                     description="dotted.path: value set at every point (e.g. population.size).")
    parameters: dict[str, Bounds] = Field(min_length=1, description="Uncertain parameters and policy levers.")
    _distinct_paths = field_validator("parameters")(classmethod(lambda cls, v: distinct_paths(v)))
    design: DiscoveryDesign = Field(default_factory=DiscoveryDesign)
    outcome: str = Field(description="Outcome expression, as in a sensitivity spec (docs/sensitivity.md).")
    condition: Condition
    prim: PrimSettings = Field(default_factory=PrimSettings)
    replicates: int = Field(1, ge=1, le=1000)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    engine: EngineName = Field(ENSEMBLE_DEFAULT, description="Which engine runs the sweep: arrays (default) or "
                                                             "agents (the Mesa engine); both give the same results.")

    @model_validator(mode="after")
    def _check(self) -> DiscoverySpec:
        check_fixed_apart(self.fixed, self.parameters)
        pinned = [n for n, b in self.parameters.items() if b.dist == "fixed"]
        if pinned:
            raise ValueError(f"{', '.join(pinned)}: a fixed value cannot bound a box; put it under fixed")
        return self


@dataclass
class LoadedDiscovery:
    spec: DiscoverySpec
    path: Path
    scenario_path: Path
    base: Scenario
    outcome: Outcome
    lines: dict[tuple, int] = field(default_factory=dict, repr=False)  # the spec's line index

    @property
    def names(self) -> list[str]:
        return list(self.spec.parameters)

    @property
    def labels(self) -> list[str]:
        """Each parameter's label, or its dotted path."""
        return [b.label or n for n, b in self.spec.parameters.items()]


def load_discovery(path: str | Path) -> LoadedDiscovery:
    """Read and validate a discovery spec: schema, fixed and parameter paths at both ends of each range against the
    base scenario, the outcome against its routes and horizon. Errors name file, key and line (ScenarioError)."""
    from sim.rules.network import RouteGraph

    p = Path(path)
    spec, _, lines = read_model_file(DiscoverySpec, p)
    labels = check_labels(spec.parameters, str(p), lines)
    for name, label in zip(spec.parameters, labels):
        if label in RESERVED_COLUMNS:  # points.csv would hold two columns of that name, one overwriting the other
            raise ScenarioError(f"'{label}' names a column of points.csv; a parameter's label may be anything but "
                                f"{', '.join(RESERVED_COLUMNS)}", path=str(p), key=f"parameters.{name}",
                                line=line_for(lines, ("parameters", name)))
    check_run_count(spec.design.samples, spec.replicates, str(p))
    scenario_path, base = load_base_scenario(p, spec.scenario, lines)
    fixed = scenario_to_dict(base)
    for name, value in spec.fixed.items():
        set_all_paths(fixed, name, value, str(p), ("fixed", name), lines)
    validate_point(fixed, str(p), ("fixed",), lines, "with the fixed settings")
    for name, b in spec.parameters.items():
        refuse_fractions_of_counts(fixed, name, b, str(p), lines)
        for value in b.extremes():
            data = json.loads(json.dumps(fixed))
            set_all_paths(data, name, value, str(p), ("parameters", name), lines)
            validate_point(data, str(p), ("parameters", name), lines, f"at {value}")
    refuse_repeated_places(fixed, [*spec.fixed, *spec.parameters], path=str(p), line=line_for(lines, ("parameters",)))
    routes = list(RouteGraph(base).routes)
    years = range(parse_month(base.time.start)[0], parse_month(base.time.end)[0] + 1)
    try:
        outcome = parse_outcome("outcome", spec.outcome, routes, years)
    except ValueError as exc:
        raise ScenarioError(str(exc), path=str(p), key="outcome", line=line_for(lines, ("outcome",))) from None
    return LoadedDiscovery(spec, p, scenario_path, base, outcome, lines)
