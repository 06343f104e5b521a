"""Experiment (sweep) specs: YAML validated like scenarios. Format in docs/experiments.md."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, Discriminator, Field, StrictBool, Tag, ValidationInfo, field_validator,
                      model_validator)

from sim.api_checks import MAX_SEED
from sim.engine.engines import ENSEMBLE_DEFAULT, EngineName
from sim.experiments.parameters import ParameterRange, Scalar, distinct_paths, one_kind
from sim.outputs import check_name
from sim.scenario.schema import Scenario
from sim.scenario.strict import Strict
from sim.errors import ScenarioError, UsageError
from sim.scenario.keys import line_for
from sim.scenario.overrides import (dump_scenario, refuse_repeated_places, refuse_shared_places, scenario_to_dict,
                                    set_path)
from sim.loading import load_base_scenario
from sim.scenario.validation import read_model_file


class Range(Strict):
    """`num` evenly spaced values from `start` to `stop` inclusive."""

    start: float
    stop: float
    num: int = Field(ge=1, le=10_000)

    @model_validator(mode="after")
    def _both_ends(self) -> Range:
        if self.num == 1 and self.start != self.stop:  # linspace gives start alone: stop was dropped unseen
            raise ValueError(f"num: 1 gives one value, but start ({self.start:g}) and stop ({self.stop:g}) differ; "
                             "give num: 2 or more, or the one value as a list")
        if self.num > 1 and self.start == self.stop:  # num equal values: the same point num times
            raise ValueError(f"start and stop are both {self.start:g}, so the {self.num} values are all equal; give "
                             "num: 1, or a stop that differs (more runs of a point: replicates)")
        return self



def _parameter_kind(v: Any) -> str | None:
    """Which form of parameter a value is meant to be: a list, a mapping with `dist` (a distribution) or with
    `start`, `stop` or `num` (a range); None for anything else. Validating only that form makes the message say
    what is wrong with it, not with every form at once."""
    if isinstance(v, (list, tuple)):
        return "values"
    if isinstance(v, Range):  # a validated parameter, when a spec is dumped
        return "range"
    if isinstance(v, ParameterRange):
        return "distribution"
    if isinstance(v, dict):
        if "dist" in v:
            return "distribution"
        if {"start", "stop", "num"} & set(v):
            return "range"
    return None


Parameter = Annotated[
    Annotated[list[Scalar], AfterValidator(one_kind), Tag("values")] | Annotated[Range, Tag("range")]
    | Annotated[ParameterRange, Tag("distribution")],
    Discriminator(_parameter_kind, custom_error_type="parameter_form",
                  custom_error_message="expected a list of values, a range {start, stop, num} or a distribution "
                                       "{dist: uniform|loguniform|integer, low, high}, {dist: categorical, values} or "
                                       "{dist: fixed, value}"),
    Field(description="values, range or distribution"),
]


PACKAGE_DESIGNS = ("policies", "policies_points")  # designs whose points carry a named policy package
POINT_DESIGNS = ("points", "policies_points")  # designs whose parameters are lists zipped into points


class Design(Strict):
    type: Literal["grid", "lhs", "sobol", "policies", "points", "policies_points"] = Field(
        "grid", description="How points are made.")
    samples: int | None = Field(None, ge=1, le=1_000_000,
                                description="lhs/sobol: number of points (sobol: a power of two).")
    policies: dict[str, dict[str, Scalar]] = Field(
        default_factory=dict, description="policies: package name -> {dotted.path: value}.")

    @model_validator(mode="after")
    def _check(self) -> Design:
        if self.type in ("lhs", "sobol") and self.samples is None:
            raise ValueError(f"design '{self.type}' needs samples")
        if self.type == "sobol" and self.samples is not None and self.samples & (self.samples - 1):
            raise ValueError(f"sobol samples must be a power of two, found {self.samples}")
        if self.type in PACKAGE_DESIGNS and not self.policies:
            raise ValueError(f"design '{self.type}' needs at least one named package under policies")
        if self.type not in PACKAGE_DESIGNS and self.policies:
            raise ValueError("policies packages are only used with design type 'policies' or 'policies_points'")
        if self.type not in ("lhs", "sobol") and self.samples is not None:  # it would be ignored
            raise ValueError(f"samples is only used with design type 'lhs' or 'sobol', not '{self.type}'")
        return self


Block = Literal["totals", "by_route", "by_year"]
BLOCKS: tuple[Block, ...] = ("totals", "by_route", "by_year")


class Outputs(Strict):
    keep: list[Block] = Field(default_factory=lambda: list(BLOCKS), min_length=1,
                              description="Outcome blocks kept per run (at least one).")
    timeseries: StrictBool = Field(True, description="Write each run's time series to DIR/timeseries/.")


class ExperimentSpec(Strict):
    name: str = Field(description="Spec name; the default output is results/<name>: ASCII letters, digits, '.', "
                                  "'_', '-'.")

    _safe_name = field_validator("name")(classmethod(lambda cls, v: check_name(v)))
    description: str = ""
    scenario: str = Field(description="Base scenario, path relative to the spec file.")
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    _distinct_paths = field_validator("parameters")(classmethod(lambda cls, v: distinct_paths(v)))
    design: Design = Field(default_factory=Design)  # checked against the parameters (validate_default: Strict)
    replicates: int = Field(1, ge=1, le=10_000)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    outputs: Outputs = Field(default_factory=Outputs)
    engine: EngineName = Field(ENSEMBLE_DEFAULT, description="Which engine runs the runs: arrays (default) or "
                                                             "agents (the Mesa engine); both give the same results.")

    @field_validator("design")
    @classmethod
    def _design_fits_the_parameters(cls, design: Design, info: ValidationInfo) -> Design:
        """The parameters' forms the design takes (checked at `design`, the key after `parameters`, so that the
        error names its line; skipped when the parameters themselves were refused)."""
        parameters: dict[str, Parameter] | None = info.data.get("parameters")
        if parameters is None:
            return design
        for path, p in parameters.items():
            if isinstance(p, ParameterRange) and design.type not in ("lhs", "sobol"):
                raise ValueError(f"parameter '{path}' is a distribution; use design lhs or sobol, "
                                 f"or give a list of values or a range")
            if not isinstance(p, ParameterRange) and design.type in ("lhs", "sobol"):
                raise ValueError(f"design '{design.type}' samples distributions; parameter '{path}' "
                                 "must be a distribution {dist: uniform|loguniform|integer|categorical|fixed, ...}")
            if isinstance(p, list) and not p:
                raise ValueError(f"parameter '{path}' has no values")
            if design.type in POINT_DESIGNS and not isinstance(p, list):
                raise ValueError(f"design '{design.type}' takes lists of values; parameter '{path}' is not a "
                                 "list")
        if design.type in POINT_DESIGNS:
            lengths = {len(p) for p in parameters.values() if isinstance(p, list)}  # all lists: checked above
            if len(lengths) > 1:
                raise ValueError(f"design '{design.type}' needs lists of equal length (point i takes the i-th "
                                 f"value of each); found lengths {sorted(lengths)}")
        if design.type in ("lhs", "sobol", "points") and not parameters:  # points: it made 0 points
            raise ValueError(f"design '{design.type}' needs at least one parameter")
        return design


class LoadedSpec:
    """A validated spec with its base scenario resolved and checked; not changed after it is made (its
    fingerprint is computed once)."""

    def __init__(self, spec: ExperimentSpec, path: Path, base: Scenario):
        self.spec = spec
        self.path = path
        self.base = base
        self.base_dict = scenario_to_dict(base)
        self._fingerprint: str | None = None

    @property
    def parameter_names(self) -> list[str]:
        return list(self.spec.parameters)

    def fingerprint(self) -> str:
        """sha256 of what determines every run's result: the spec (without replicates, so a sweep can be extended,
        description, and engine: both engines give the same files, tests/test_docking.py) and the resolved base
        scenario (without its description and sources). Computed on the first call (dumping the scenario as YAML
        takes 7 ms for the toy, 24 ms for Korea, and a sweep asks 4-5 times, a calibration more)."""
        if self._fingerprint is None:
            payload = self.spec.model_dump(mode="json", exclude={"replicates", "description", "engine"})
            # the base scenario's free text (description, sources) does not change any run
            payload["scenario"] = dump_scenario(self.base.model_copy(update={"description": "", "sources": []}))
            self._fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return self._fingerprint

    def design_order(self) -> dict[str, list[str]]:
        """The order of the parameters and policy packages, which decides which point a run id holds (the last
        parameter varies fastest, packages come first): `fingerprint` hashes the spec with its keys sorted."""
        return {"parameters": list(self.spec.parameters), "policies": list(self.spec.design.policies)}

    def made(self, manifest: dict) -> bool:
        """The sweep directory whose sweep.json is `manifest` holds runs of this spec: the same fingerprint and the
        same order of parameters and packages as the spec it records (a spec recorded without them, by an older
        version, is taken at its fingerprint). A spec with two parameters swapped has the same fingerprint, but its
        point 1 is the other one's point 2: resumed, one point mixed the runs of two settings."""
        if manifest.get("fingerprint") != self.fingerprint():
            return False
        recorded = manifest.get("spec")
        if not isinstance(recorded, dict):
            return True
        design = recorded.get("design")
        design = design if isinstance(design, dict) else {}
        order = {"parameters": list(recorded.get("parameters") or {}), "policies": list(design.get("policies") or {})}
        return order == self.design_order()


def load_spec(path: str | Path, replicates: int | None = None) -> LoadedSpec:
    """Read and validate an experiment spec; check every parameter path against the base scenario."""
    p = Path(path)
    spec, _, lines = read_model_file(ExperimentSpec, p)
    if replicates is not None:
        if replicates < 1:
            raise UsageError(f"--replicates must be at least 1, found {replicates}", path=str(p))
        spec = spec.model_copy(update={"replicates": replicates})
    if spec.design.type not in POINT_DESIGNS:  # each list is an axis of the grid: a value twice, a point twice
        for name, param in spec.parameters.items():
            twice = next((v for i, v in enumerate(param) if v in param[:i]), None) if isinstance(param, list) else None
            if twice is not None:
                listed = ", ".join(map(json.dumps, param))  # as YAML writes them: true, "text", 1000.0
                raise ScenarioError(f"the value {json.dumps(twice)} is given twice ({listed}): the "
                                    f"{spec.design.type} design would make the same point twice; give each value "
                                    "once (more runs of a point: replicates)", path=str(p),
                                    key=f"parameters.{name}", line=line_for(lines, ("parameters", name)))
    base_path, base = load_base_scenario(p, spec.scenario, lines)
    full = scenario_to_dict(base)
    # every path a point may set, with a value to try it with, and where the spec says it (key path for messages)
    probes: list[tuple[str, Any, tuple[str, ...]]] = [(name, _probe(param), ("parameters", name))
                                                      for name, param in spec.parameters.items()]
    probes += [(name, value, ("design", "policies", package, name))
               for package, settings in spec.design.policies.items() for name, value in settings.items()]
    for name, value, where in probes:
        try:
            for path in name.split(","):
                set_path(json.loads(json.dumps(full)), path.strip(), value, source=str(p))
        except ScenarioError as exc:
            raise ScenarioError(exc.message, path=str(p), key=".".join(where), line=line_for(lines, where)) from None
    refuse_repeated_places(full, spec.parameters, path=str(p), line=line_for(lines, ("parameters",)))
    for package, settings in spec.design.policies.items():
        where = ("design", "policies", package)
        refuse_repeated_places(full, settings, path=str(p), line=line_for(lines, where), key=".".join(where))
        if spec.design.type == "policies":  # the grid's values win there: the package's setting would be lost
            refuse_shared_places(full, spec.parameters, settings, path=str(p), line=line_for(lines, where),
                                 key=".".join(where), why="in a policies design the grid's value wins, so the "
                                                          "package's setting would be lost at every point")
    return LoadedSpec(spec, p, base)


def _probe(param) -> Scalar:
    if isinstance(param, list):
        return param[0]
    if isinstance(param, Range):
        return param.start
    return param.extremes()[0]

