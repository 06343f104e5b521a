"""Scenario schema, YAML loading, dotted-path overrides and error reporting.

A scenario is loaded in three steps: YAML text -> plain dict (safe loader, line numbers kept) -> `Scenario`
(pydantic, frozen, unknown keys rejected) -> graph sanity checks (`sim.checks`). Every failure raises
`ScenarioError`, which names the file, the key path, the YAML line when known, and what is allowed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import hashlib
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.errors import ScenarioError
from sim.outputs import check_name
from sim.units import parse_duration, parse_probability_rate, parse_rate, step_months

CONTROLS = ("guards", "fence", "mines", "surveillance", "patrol")
MODES = ("land", "river", "dmz", "sea", "air")
NODE_KINDS = ("origin", "border", "transit", "destination")

MAX_MONTHS = 600.0  # longest edge duration or dwell: 50 years
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


# ---------------------------------------------------------------------------------------------- month handling


def parse_month(value: Any) -> tuple[int, int]:
    """'YYYY-MM' (or a YAML date) -> (year, month)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.year, value.month
    m = _MONTH_RE.match(str(value).strip())
    if not m:
        raise ValueError(f"expected a month as 'YYYY-MM', found {value!r}")
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 01..12, found {value!r}")
    return year, month


def month_str(ym: tuple[int, int]) -> str:
    return f"{ym[0]:04d}-{ym[1]:02d}"


def _month_value(v: Any) -> str:
    return month_str(parse_month(v))


Month = Annotated[str, Field(description="A month, 'YYYY-MM'.", examples=["2020-01"])]


# ---------------------------------------------------------------------------------------------------- schema


class Strict(BaseModel):
    """Base for every scenario section: unknown keys rejected, NaN/inf rejected, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True)


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Density = Annotated[float, Field(ge=0.0, le=1.0, description="Control density in [0, 1].")]
NonNeg = Annotated[float, Field(ge=0.0)]


class TimeSpec(Strict):
    start: Month = Field(description="First simulated month, 'YYYY-MM'.")
    end: Month = Field(description="Last simulated month (inclusive), 'YYYY-MM'.")
    step: Literal["month", "week"] = Field(
        "month", description="Length of one step. Durations and rates are given in months whatever the step and "
                             "converted to steps (docs/scenario.md, time units).")

    _norm = field_validator("start", "end", mode="before")(classmethod(lambda cls, v: _month_value(v)))

    @model_validator(mode="after")
    def _order(self) -> TimeSpec:
        if parse_month(self.end) < parse_month(self.start):
            raise ValueError(f"time.end ({self.end}) is before time.start ({self.start})")
        return self


class Distribution(Strict):
    """One of: fixed(value), uniform(low, high), beta(a, b) scaled to [low, high], lognormal(median, sigma)."""

    dist: Literal["fixed", "uniform", "beta", "lognormal"] = Field(description="Distribution family.")
    value: float | None = Field(None, description="fixed: the value.")
    low: float | None = Field(None, description="uniform/beta: lower bound (beta default 0).")
    high: float | None = Field(None, description="uniform/beta: upper bound (beta default 1).")
    a: float | None = Field(None, gt=0, description="beta: shape a.")
    b: float | None = Field(None, gt=0, description="beta: shape b.")
    median: float | None = Field(None, gt=0, description="lognormal: median (= exp(mu)).")
    sigma: float | None = Field(None, ge=0, description="lognormal: sigma of the log.")

    @model_validator(mode="after")
    def _params(self) -> Distribution:
        need = {
            "fixed": ("value",),
            "uniform": ("low", "high"),
            "beta": ("a", "b"),
            "lognormal": ("median", "sigma"),
        }[self.dist]
        allowed = set(need) | ({"low", "high"} if self.dist == "beta" else set())
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"distribution '{self.dist}' needs {', '.join(need)}; missing {', '.join(missing)}")
        extra = [k for k in ("value", "low", "high", "a", "b", "median", "sigma")
                 if getattr(self, k) is not None and k not in allowed]
        if extra:
            raise ValueError(f"distribution '{self.dist}' takes only {', '.join(sorted(allowed))}; "
                             f"remove {', '.join(extra)}")
        lo, hi = self.bounds()
        if lo > hi:
            raise ValueError(f"low ({lo}) must not exceed high ({hi})")
        return self

    def bounds(self) -> tuple[float, float]:
        if self.dist == "fixed":
            return float(self.value), float(self.value)
        if self.dist == "uniform":
            return float(self.low), float(self.high)
        if self.dist == "beta":
            return float(0.0 if self.low is None else self.low), float(1.0 if self.high is None else self.high)
        return 0.0, math.inf


class Group(Strict):
    name: str = Field(description="Group name, e.g. ordinary, elite, soldier, overseas_worker.")
    share: Probability = Field(description="Share of the population in this group; shares sum to 1.")
    female_share: Probability = Field(description="Share of women in the group.")
    departure_rate: NonNeg = Field(
        description="lambda_g: hazard rate of setting out per person per month at push 1 with a riskless, free "
                    "route; a number (per month) or e.g. '0.02 per year'.")
    risk_tolerance: Distribution = Field(description="Risk tolerance r in [0, 1] (1 = ignores risk).")
    means: Distribution = Field(description="Means m in USD available for the journey.")
    modes: list[Literal["land", "river", "dmz", "sea", "air"]] = Field(
        description="Route modes the group may use; a path is usable only if all its edges' modes are listed.")
    origins: dict[str, NonNeg] | None = Field(
        None, description="Origin node -> weight for this group; default: population.origins.")

    _rate_unit = field_validator("departure_rate", mode="before")(classmethod(lambda cls, v: parse_rate(v)))

    @field_validator("risk_tolerance")
    @classmethod
    def _rt_range(cls, v: Distribution) -> Distribution:
        lo, hi = v.bounds()
        if lo < 0 or hi > 1:
            raise ValueError(f"risk tolerance must lie in [0, 1], distribution spans [{lo}, {hi}]")
        return v

    @field_validator("means")
    @classmethod
    def _means_range(cls, v: Distribution) -> Distribution:
        if v.bounds()[0] < 0:
            raise ValueError("means must not be negative")
        return v

    @field_validator("modes")
    @classmethod
    def _modes_nonempty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("a group needs at least one mode")
        return v


class Population(Strict):
    size: int = Field(gt=0, le=200_000_000, description="Persons at home at the start (one agent = one person).")
    origins: dict[str, NonNeg] = Field(description="Origin node -> weight (normalised).")
    groups: list[Group] = Field(min_length=1, description="Population groups.")

    @model_validator(mode="after")
    def _shares(self) -> Population:
        total = sum(g.share for g in self.groups)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"group shares must sum to 1, found {total:g}")
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f"group names must be unique, found {names}")
        if sum(self.origins.values()) <= 0:
            raise ValueError("population.origins weights must not all be zero")
        return self


class PushSeries(Strict):
    interpolation: Literal["linear", "step"] = Field(
        "linear", description="linear: straight line between points; step: hold the last point's value.")
    values: dict[str, NonNeg] = Field(
        min_length=1, description="'YYYY' or 'YYYY-MM' -> multiplier; a year means its January.")

    @field_validator("values", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {}
        for k, val in v.items():
            key = str(k)
            if re.fullmatch(r"\d{4}", key):
                key = f"{key}-01"
            out[_month_value(key)] = val
        return dict(sorted(out.items()))


class Node(Strict):
    id: str = Field(description="Unique node id.")
    kind: Literal["origin", "border", "transit", "destination"] = Field(description="Role of the node.")
    label: str | None = Field(None, description="Readable name for plots.")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude for maps.")
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude for maps.")
    arrest_hazard: Probability = Field(
        0.0, description="Transit: P(arrested and repatriated) per month of waiting; a number (per month) or e.g. "
                         "'0.1 per year'.")
    dwell: NonNeg = Field(0.0, le=MAX_MONTHS, description="Transit: mean wait before moving on, in months; a number "
                                                          "(months) or e.g. '45 days', '3 years'.")
    dwell_distribution: Literal["fixed", "geometric"] = Field(
        "fixed", description="fixed: wait exactly the dwell (rounded to whole steps); geometric: leave each step "
                             "with probability step / dwell.")

    _dwell_unit = field_validator("dwell", mode="before")(classmethod(lambda cls, v: parse_duration(v)))
    _hazard_unit = field_validator("arrest_hazard", mode="before")(
        classmethod(lambda cls, v: parse_probability_rate(v)))

    @model_validator(mode="after")
    def _transit_only(self) -> Node:
        if self.kind != "transit" and (self.arrest_hazard > 0 or self.dwell > 0):
            raise ValueError(f"node '{self.id}' is {self.kind}: arrest_hazard and dwell apply to transit nodes only")
        return self


class Controls(Strict):
    guards: Density = 0.0
    fence: Density = 0.0
    mines: Density = 0.0
    surveillance: Density = 0.0
    patrol: Density = 0.0


class Edge(Strict):
    id: str = Field(description="Unique edge id.")
    from_: str = Field(alias="from", description="Start node id.")
    to: str = Field(description="End node id.")
    mode: Literal["land", "river", "dmz", "sea", "air"] = Field(description="How the edge is crossed.")
    duration: float = Field(1.0, gt=0, le=MAX_MONTHS,
                            description="Time needed to cross the edge, in months (at least one step); a number "
                                        "(months) or e.g. '10 days', '2 weeks'.")
    cost: NonNeg = Field(0.0, description="USD paid to cross (e.g. a broker fee).")
    route: str | None = Field(None, description="Route label for outputs; a path takes its first edge label.")
    controls: Controls = Field(default_factory=Controls, description="Control densities on the edge.")
    shoot_on_sight: bool = Field(False, description="Whether a detected person may be shot.")
    open: bool = Field(True, description="A closed edge cannot be entered; people reaching it turn back.")

    model_config = ConfigDict(populate_by_name=True)

    _duration_unit = field_validator("duration", mode="before")(classmethod(lambda cls, v: parse_duration(v)))


class Network(Strict):
    nodes: list[Node] = Field(min_length=2)
    edges: list[Edge] = Field(min_length=1)
    max_path_edges: int = Field(8, ge=1, le=20, description="Longest candidate path, in edges.")


class HazardCoefficients(Strict):
    guards: NonNeg = 0.0
    fence: NonNeg = 0.0
    mines: NonNeg = 0.0
    surveillance: NonNeg = 0.0
    patrol: NonNeg = 0.0


class Hazards(Strict):
    block: HazardCoefficients = Field(
        default_factory=lambda: HazardCoefficients(fence=1.5),
        description="P(blocked) = 1 - exp(-sum_k block_k * control_k); blocked people turn back.")
    kill: HazardCoefficients = Field(
        default_factory=lambda: HazardCoefficients(mines=2.0),
        description="P(killed undetected, e.g. by mines) = 1 - exp(-sum_k kill_k * control_k).")
    detect: HazardCoefficients = Field(
        default_factory=lambda: HazardCoefficients(guards=1.5, surveillance=1.0, patrol=1.5, fence=0.3),
        description="P(detected) = 1 - exp(-sum_k detect_k * control_k).")
    shot_kill_probability: Probability = Field(
        0.5, description="P(killed | detected) on an edge under a shoot-on-sight order; otherwise caught.")


class RouteChoice(Strict):
    risk_weight: NonNeg = Field(6.0, description="alpha_risk: utility lost per unit of failure probability "
                                                 "at risk tolerance 0.")
    cost_weight: NonNeg = Field(1.0, description="alpha_cost: utility lost per unit of cost / means.")
    time_weight: NonNeg = Field(0.01, description="alpha_time: utility lost per expected month of travel.")


class Selector(Strict):
    edges: list[str] = Field(default_factory=list, description="Edge ids.")
    modes: list[Literal["land", "river", "dmz", "sea", "air"]] = Field(default_factory=list,
                                                                       description="Edge modes.")
    nodes: list[str] = Field(default_factory=list, description="Node ids (transit nodes).")
    groups: list[str] = Field(default_factory=list, description="Group names (for departure_rate, push.*).")


EDGE_TARGETS = {f"controls.{c}" for c in CONTROLS} | {"cost", "duration", "shoot_on_sight", "open"}
NODE_TARGETS = {"arrest_hazard", "dwell"}
GROUP_TARGETS = {"departure_rate"}
BOOL_TARGETS = {"shoot_on_sight", "open"}
UNIT_PARSERS = {"duration": parse_duration, "dwell": parse_duration, "departure_rate": parse_rate,
                "arrest_hazard": parse_probability_rate}


class Policy(Strict):
    name: str = Field(description="Unique policy name.")
    start: Month = Field(description="First month in force.")
    end: Month | None = Field(None, description="Month from which it no longer holds (exclusive); none = forever.")
    enabled: bool = Field(True, description="false switches the policy off (e.g. in a sweep) without deleting it.")
    select: Selector = Field(default_factory=Selector, description="What the policy acts on.")
    set: dict[str, float | bool] = Field(
        default_factory=dict, description="target -> new value, in the target's unit (duration, dwell: months or "
                                          "e.g. '45 days'; departure_rate, arrest_hazard: per month or e.g. "
                                          "'0.1 per year').")
    scale: dict[str, NonNeg] = Field(default_factory=dict, description="target -> multiplier.")

    _norm = field_validator("start", "end", mode="before")(
        classmethod(lambda cls, v: None if v is None else _month_value(v)))

    @field_validator("set", mode="before")
    @classmethod
    def _units(cls, v: Any) -> Any:
        """Read unit strings of duration/dwell (months) and departure_rate/arrest_hazard (per month)."""
        if not isinstance(v, dict):
            return v
        return {k: UNIT_PARSERS[k](x) if k in UNIT_PARSERS and isinstance(x, str) else x for k, x in v.items()}

    @model_validator(mode="after")
    def _check(self) -> Policy:
        if self.end is not None and parse_month(self.end) <= parse_month(self.start):
            raise ValueError(f"policy '{self.name}': end ({self.end}) must be after start ({self.start})")
        if not self.set and not self.scale:
            raise ValueError(f"policy '{self.name}' neither sets nor scales anything")
        for kind, targets in (("set", self.set), ("scale", self.scale)):
            for target in targets:
                if target.startswith("push."):
                    continue
                if target not in EDGE_TARGETS | NODE_TARGETS | GROUP_TARGETS:
                    allowed = sorted(EDGE_TARGETS | NODE_TARGETS | GROUP_TARGETS | {"push.<series>"})
                    raise ValueError(f"policy '{self.name}': unknown {kind} target '{target}'; "
                                     f"allowed: {', '.join(allowed)}")
                if kind == "scale" and target in BOOL_TARGETS:
                    raise ValueError(f"policy '{self.name}': '{target}' is true/false and can only be set")
        for target, v in self.set.items():
            if target in BOOL_TARGETS and not isinstance(v, bool):
                raise ValueError(f"policy '{self.name}': set.{target} must be true or false")
            if target not in BOOL_TARGETS and isinstance(v, bool):
                raise ValueError(f"policy '{self.name}': set.{target} must be a number")
            if target.startswith("controls.") or target == "arrest_hazard":
                if not 0 <= v <= 1:
                    raise ValueError(f"policy '{self.name}': set.{target} must lie in [0, 1], found {v}")
            elif target not in BOOL_TARGETS and v < 0:
                raise ValueError(f"policy '{self.name}': set.{target} must not be negative, found {v}")
        return self

    def targets(self) -> set[str]:
        return set(self.set) | set(self.scale)


class Scenario(Strict):
    """A complete, validated scenario. Immutable: overrides produce a new Scenario."""

    name: str = Field(description="Short name, used in output provenance and in the default run directory "
                                  "results/<name>-<time>: letters, digits, '.', '_', '-'.")

    _safe_name = field_validator("name")(classmethod(lambda cls, v: check_name(v)))
    description: str = Field("", description="Free text.")
    sources: list[str] = Field(default_factory=list, description="Citations for the figures used.")
    time: TimeSpec
    seed: int = Field(0, ge=0, description="Seed of the run's random stream.")
    observed: Literal["mou_arrivals"] | None = Field(
        None, description="Observed series to compare runs against (packaged in sim/data).")
    population: Population
    push: dict[str, PushSeries] = Field(default_factory=dict, description="Named push series (multipliers).")
    route_choice: RouteChoice = Field(default_factory=RouteChoice)
    network: Network
    hazards: Hazards = Field(default_factory=Hazards)
    policies: list[Policy] = Field(default_factory=list)

    @model_validator(mode="after")
    def _geometric_dwell_at_least_one_step(self) -> Scenario:
        delta = step_months(self.time.step)
        for n in self.network.nodes:
            if n.dwell_distribution == "geometric" and 0 < n.dwell < delta:
                raise ValueError(f"node '{n.id}': a geometric dwell needs a mean of at least one step "
                                 f"({delta:.4g} months with {self.time.step} steps), found {n.dwell:.4g}")
        return self


# ---------------------------------------------------------------------------------------------------- loading


class _LineLoader(yaml.SafeLoader):
    """Safe loader; composes nodes so key paths can be mapped to line numbers."""


def _line_index(root: yaml.Node | None) -> dict[tuple, int]:
    """Map each key path (tuple of keys / list indices) to its 1-based line number."""
    index: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value
                index[path + (key,)] = k.start_mark.line + 1
                walk(v, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    if root is not None:
        walk(root, ())
    return index


def _key_at(root: yaml.Node | None, mark) -> str | None:
    """Dotted key of the value node that starts at a parser mark (None if not found)."""
    if root is None or mark is None:
        return None

    def walk(node: yaml.Node, path: list[str]) -> str | None:
        if (node.start_mark.line, node.start_mark.column) == (mark.line, mark.column) and path:
            return ".".join(path)
        children = []
        if isinstance(node, yaml.MappingNode):
            children = [(v, path + [str(k.value)]) for k, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            children = [(v, path + [str(i)]) for i, v in enumerate(node.value)]
        for child, child_path in children:
            found = walk(child, child_path)
            if found:
                return found
        return None

    return walk(root, [])


def read_yaml(path: str | Path) -> tuple[Any, dict[tuple, int]]:
    """Read a YAML file safely; return (data, line index). Raise ScenarioError on any problem."""
    p = Path(path)
    if not p.exists():
        raise ScenarioError("file not found", path=str(p))
    if p.is_dir():
        raise ScenarioError("is a directory, expected a YAML file", path=str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read file: {exc}", path=str(p)) from exc
    root = None
    try:
        root = yaml.compose(text, Loader=_LineLoader)
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError(f"unsupported or unsafe YAML tag ({exc.problem}); only plain YAML data is allowed",
                            path=str(p), key=_key_at(root, mark), line=line) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"YAML syntax error: {problem}", path=str(p), line=line) from exc
    if data is None:
        raise ScenarioError("file is empty; expected a mapping of scenario keys", path=str(p))
    if not isinstance(data, dict):
        raise ScenarioError(f"expected a mapping of keys at the top level, found {type(data).__name__}", path=str(p))
    return data, _line_index(root)


def _loc_to_key(loc: tuple, data: Any) -> tuple[str, tuple]:
    """Turn a pydantic error location into a readable dotted key and the raw path for line lookup."""
    parts: list[str] = []
    raw: list = []
    node = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list):
            ident = None
            if 0 <= item < len(node) and isinstance(node[item], dict):
                ident = node[item].get("id", node[item].get("name"))
            parts.append(f"[{ident}]" if ident is not None else f"[{item}]")
            raw.append(item)
            node = node[item] if 0 <= item < len(node) else None
        elif isinstance(item, str):
            if item in {"function-after", "function-before", "literal", "union"} or "[" in item:
                continue
            parts.append(item)
            raw.append(item)
            node = node.get(item) if isinstance(node, dict) else None
    text = ""
    for p in parts:
        text += p if p.startswith("[") or not text else "." + p
    return text, tuple(raw)


def _line_for(index: dict[tuple, int], raw: tuple) -> int | None:
    while raw:
        if raw in index:
            return index[raw]
        raw = raw[:-1]
    return None


def validate_model[M: BaseModel](model: type[M], data: Any, *, path: str | None = None,
                                 lines: dict[tuple, int] | None = None) -> M:
    """Validate raw data against a schema model; on failure raise ScenarioError naming the file, the key path,
    the line and what is allowed (the first problem, with a count of the others)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key, raw = _loc_to_key(tuple(err["loc"]), data)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(raw[:-1], model)
            msg = f"unknown key '{raw[-1]}'" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif "input" in err and err["type"] not in ("value_error",):
            msg = f"{msg}, found {err['input']!r}"
        msg = msg.removeprefix("Value error, ")
        more = len(exc.errors()) - 1
        if more:
            msg += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ScenarioError(msg, path=path, key=key or None, line=_line_for(lines or {}, raw)) from exc


def read_model_file[M: BaseModel](model: type[M], path: str | Path) -> tuple[M, dict, dict[tuple, int]]:
    """Read a YAML file and validate it against a schema model: (validated model, raw data, line index)."""
    data, lines = read_yaml(path)
    return validate_model(model, data, path=str(path), lines=lines), data, lines


def validate_dict(data: dict, *, path: str | None = None, lines: dict[tuple, int] | None = None) -> Scenario:
    """Validate a raw dict into a Scenario and run the graph sanity checks."""
    from sim.checks import check_scenario

    scenario = validate_model(Scenario, data, path=path, lines=lines)
    problems = check_scenario(scenario)
    if problems:
        key, msg = problems[0]
        raw = _key_to_raw(key, data)
        if len(problems) > 1:
            msg += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
        raise ScenarioError(msg, path=path, key=key, line=_line_for(lines or {}, raw))
    return scenario


def _allowed_keys(parent: tuple, root: Any = None) -> list[str]:
    """Field names allowed at a raw path, found by walking the schema from `root` (default Scenario)."""
    model: Any = Scenario if root is None else root
    for item in parent:
        if isinstance(item, int):
            continue
        field = _field_by_name(model, item)
        if field is None:
            return []
        model = _inner_model(field.annotation)
        if model is None:
            return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _field_by_name(model: Any, name: str):
    for n, f in model.model_fields.items():
        if (f.alias or n) == name:
            return f
    return None


def _inner_model(annotation: Any):
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def _key_to_raw(key: str, data: dict) -> tuple:
    """Inverse of _loc_to_key for check messages: 'network.edges[dmz].to' -> ('network','edges',3,'to')."""
    raw: list = []
    node: Any = data
    for part in re.findall(r"[^.\[\]]+|\[[^\]]*\]", key):
        if part.startswith("["):
            ident = part[1:-1]
            if isinstance(node, list):
                idx = next((i for i, x in enumerate(node) if isinstance(x, dict)
                            and str(x.get("id", x.get("name"))) == ident), None)
                if idx is None and ident.isdigit():
                    idx = int(ident)
                if idx is None or idx >= len(node):
                    break
                raw.append(idx)
                node = node[idx]
        else:
            raw.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(raw)


def load_scenario(path: str | Path, overrides: list[str] | None = None, seed: int | None = None) -> Scenario:
    """Load, override (`dotted.path=value`), validate and sanity-check a scenario file."""
    data, lines = read_yaml(path)
    if overrides or seed is not None:
        base = validate_dict(data, path=str(path), lines=lines)
        full = scenario_to_dict(base)
        for item in overrides or []:
            apply_override(full, item, source=str(path))
        if seed is not None:
            full["seed"] = seed
        return validate_dict(full, path=f"{path} (after --set)")
    return validate_dict(data, path=str(path), lines=lines)


# ------------------------------------------------------------------------------------------------ overrides


def scenario_to_dict(scenario: Scenario) -> dict:
    """Plain dict of every key, defaults included, with YAML-friendly aliases (edges use 'from')."""
    return scenario.model_dump(mode="json", by_alias=True)


def dump_scenario(scenario: Scenario) -> str:
    """Canonical YAML text of a scenario (the resolved scenario written next to each run)."""
    return yaml.safe_dump(scenario_to_dict(scenario), sort_keys=False, allow_unicode=True, width=110)


def scenario_sha256(scenario: Scenario) -> str:
    return hashlib.sha256(dump_scenario(scenario).encode()).hexdigest()


def _scalar_paths(node: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _scalar_paths(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            ident = v.get("id", v.get("name")) if isinstance(v, dict) else None
            out += _scalar_paths(v, f"{prefix}.{ident if ident is not None else i}")
    else:
        out.append(prefix)
    return out


def scalar_paths(data: dict) -> list[str]:
    """Every dotted path to a scalar; list items are addressed by their id/name (or index)."""
    return _scalar_paths(data)


def _step_into(node: Any, part: str) -> tuple[Any, Any]:
    """Return (container, key) for one dotted-path part, or raise KeyError."""
    if isinstance(node, dict):
        if part in node:
            return node, part
        raise KeyError(part)
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict) and str(item.get("id", item.get("name"))) == part:
                return node, i
        if part.isdigit() and int(part) < len(node):
            return node, int(part)
        raise KeyError(part)
    raise KeyError(part)


def apply_override(data: dict, item: str, *, source: str = "--set") -> None:
    """Set one scalar in a full scenario dict from 'dotted.path=value' (value parsed as YAML)."""
    if "=" not in item:
        raise ScenarioError(f"--set expects dotted.path=value, found {item!r}", path=source)
    key, _, text = item.partition("=")
    key = key.strip()
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"cannot parse value {text!r}: {exc}", path=source, key=key) from exc
    set_path(data, key, value, source=source)


def set_path(data: dict, key: str, value: Any, *, source: str = "--set") -> None:
    """Set the scalar at dotted path `key` (list items by id/name or index) in a full scenario dict."""
    if isinstance(value, (dict, list)):
        raise ScenarioError("--set takes a scalar value (number, string, true/false)", path=source, key=key)
    node: Any = data
    parts = key.split(".")
    try:
        for part in parts[:-1]:
            container, k = _step_into(node, part)
            node = container[k]
        container, k = _step_into(node, parts[-1])
    except KeyError:
        valid = scalar_paths(data)
        near = difflib.get_close_matches(key, valid, n=5, cutoff=0.5)
        if not near:
            near = [p for p in valid if p.startswith(parts[0] + ".")][:5]
        hint = f"; nearby valid paths: {', '.join(near)}" if near else ""
        raise ScenarioError(f"unknown path '{key}'{hint}", path=source, key=key) from None
    if isinstance(container[k], (dict, list)):
        sub = [p for p in scalar_paths(data) if p.startswith(key + ".")][:5]
        raise ScenarioError(f"'{key}' is a section, not a scalar; e.g. {', '.join(sub)}", path=source, key=key)
    container[k] = value


# ---------------------------------------------------------------------------------------------------- calendar


def step_dates(time: TimeSpec) -> list[dt.date]:
    """Dates of the steps: month steps fall on the 1st; week steps every 7 days from start's 1st to end's last day."""
    y0, m0 = parse_month(time.start)
    y1, m1 = parse_month(time.end)
    if time.step == "month":
        out = []
        y, m = y0, m0
        while (y, m) <= (y1, m1):
            out.append(dt.date(y, m, 1))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    first = dt.date(y0, m0, 1)
    last = dt.date(y1, m1, calendar.monthrange(y1, m1)[1])
    n = (last - first).days // 7 + 1
    return [first + dt.timedelta(days=7 * k) for k in range(n)]


def month_start(ym: str) -> dt.date:
    y, m = parse_month(ym)
    return dt.date(y, m, 1)
