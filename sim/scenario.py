"""Scenario schema, YAML loading, dotted-path overrides and error reporting.

A scenario is loaded in three steps: YAML text -> plain dict (safe loader, line numbers kept) -> `Scenario`
(pydantic, frozen, unknown keys rejected) -> graph sanity checks (`sim.checks`). Every failure raises
`ScenarioError`, which names the file, the key path, the YAML line when known, and what is allowed; a failed
validation lists every problem (up to MAX_PROBLEMS). Reading is bounded (docs/scenario.md, "Reading rules and
limits"): regular files of at most MAX_FILE_BYTES, nesting of at most MAX_DEPTH, aliases adding at most
MAX_ALIAS_NODES values; duplicate keys, base-60 numbers and true/false for numbers are errors.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import hashlib
import math
import os
import re
import stat
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

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
    """'YYYY-MM' (or a YAML date) -> (year, month); the year lies in 0001..9999 (the years a calendar date can
    have), the month in 01..12."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.year, value.month
    m = _MONTH_RE.match(str(value).strip())
    if not m:
        raise ValueError(f"expected a month as 'YYYY-MM', found {value!r}")
    year, month = int(m.group(1)), int(m.group(2))
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise ValueError(f"year must be {dt.MINYEAR:04d}..{dt.MAXYEAR:04d}, found {value!r}")
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
    """Base for every scenario section and spec: unknown keys rejected, NaN/inf rejected, true/false rejected
    where a number is expected (pydantic would read true as 1), immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        if _holds_bool(v):
            field = cls.model_fields.get(info.field_name) if info.field_name else None
            if field is not None:
                verdict, where = _bool_verdict(field.annotation, v)
                if verdict == "bad":
                    at = "".join(f"[{w!r}]" if isinstance(w, str) else f"[{w}]" for w in where)
                    found = "true" if _at(v, where) else "false"
                    raise ValueError(f"expected a number, found {found}{' at ' + at if at else ''} "
                                     "(true/false is not a number)")
        return v


def _holds_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return True
    if isinstance(v, dict):
        return any(_holds_bool(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return any(_holds_bool(x) for x in v)
    return False


def _at(v: Any, where: tuple) -> Any:
    for w in where:
        v = v[w]
    return v


def _bool_verdict(tp: Any, v: Any) -> tuple[str, tuple]:
    """Whether type `tp` takes the true/false values inside `v`: ('ok', ()), ('bad', where) when one stands where
    only a number (int or float) is allowed, or ('other', ()) when pydantic decides (a model, a string, ...)."""
    import types
    import typing

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return _bool_verdict(args[0], v)
    if origin in (typing.Union, types.UnionType):
        verdicts = [_bool_verdict(a, v) for a in args]
        for wanted in ("ok", "bad"):
            for verdict in verdicts:
                if verdict[0] == wanted:
                    return verdict
        return "other", ()
    if isinstance(v, bool):
        if tp in (bool, Any, object) or (origin is Literal and v in args and any(a is v for a in args)):
            return "ok", ()
        if isinstance(tp, type) and issubclass(tp, (int, float)) and not issubclass(tp, bool):
            return "bad", ()
        return "other", ()
    items: list[tuple[Any, Any, Any]] = []
    if isinstance(v, (list, tuple)) and origin in (list, tuple, set, frozenset):
        if origin is tuple and args and args[-1] is not Ellipsis:
            items = [(i, args[i] if i < len(args) else Any, x) for i, x in enumerate(v)]
        else:
            items = [(i, args[0] if args else Any, x) for i, x in enumerate(v)]
    elif isinstance(v, dict) and origin is dict:
        items = [(k, args[1] if args else Any, x) for k, x in v.items()]
    else:
        return "other", ()
    for key, item_tp, x in items:
        if _holds_bool(x):
            verdict, where = _bool_verdict(item_tp, x)
            if verdict == "bad":
                return "bad", (key,) + where
    return "ok", ()


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
        out, given = {}, {}
        for k, val in v.items():
            key = str(k)
            if re.fullmatch(r"\d{4}", key):
                key = f"{key}-01"
            month = _month_value(key)
            if month in out:
                raise ValueError(f"keys '{given[month]}' and '{k}' are the same month ({month}); give it once")
            out[month], given[month] = val, k
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


MAX_FILE_BYTES = 10 * 1024 * 1024  # scenario and spec files larger than this are refused before reading
MAX_DEPTH = 64  # deepest nesting of mappings and lists, counting through aliases
MAX_ALIAS_NODES = 100_000  # values that expanding aliases (*name) may add to a document

_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
# PyYAML's YAML 1.1 number patterns without the base-60 forms (1:20 would otherwise be read as 80), and with the
# YAML 1.2 exponent forms 1e-4, 1e20, 2.5E3 read as numbers (YAML 1.1 reads them as text)
_INT_RE = re.compile(r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+)$""", re.X)
_FLOAT_RE = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X)
_OCTAL_RE = re.compile(r"^[-+]?0[0-7_]+$")  # 0100 would be read as 64
_SEXAGESIMAL_RE = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


class _Refused(yaml.YAMLError):
    """A document we will not read: too deep, a bad value (with the mark of the node)."""

    def __init__(self, message: str, mark=None):
        super().__init__(message)
        self.message = message
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """The safe loader with three changes: no base-60 numbers (`1:20` stays the text '1:20'), nesting deeper than
    MAX_DEPTH is refused while composing (no RecursionError), and values Python cannot hold (a date such as
    2000-02-30, an integer of thousands of digits) are refused with their position instead of a ValueError."""

    yaml_implicit_resolvers = {
        first: [(tag, _INT_RE if tag == _INT else _FLOAT_RE if tag == _FLOAT else rx) for tag, rx in entries]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self.alias_lines: dict[tuple[int, Any], int] = {}  # (id(parent node), key node id or index) -> line

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            if parent is not None and self.check_event(yaml.AliasEvent):
                where = index if isinstance(index, int) else id(index)
                self.alias_lines[(id(parent), where)] = self.peek_event().start_mark.line + 1
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node):
        if _OCTAL_RE.match(str(node.value)):
            raise _Refused(f"{node.value} has a leading zero, which YAML 1.1 reads as an octal number; write it "
                           "without the leading zero (or quote it if it is text)", node.start_mark)
        if ":" in str(node.value):
            raise _Refused(f"base-60 numbers such as {node.value} are not read; write the number in decimal "
                           "(or quote it if it is text)", node.start_mark)
        try:
            return super().construct_yaml_int(node)
        except ValueError as exc:
            raise _Refused(f"cannot read {_short(node.value)} as an integer: {exc}", node.start_mark) from None

    def construct_yaml_float(self, node):
        if ":" in str(node.value):
            raise _Refused(f"base-60 numbers such as {node.value} are not read; write the number in decimal "
                           "(or quote it if it is text)", node.start_mark)
        return super().construct_yaml_float(node)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise _Refused(f"{node.value} is not a valid date: {exc}", node.start_mark) from None


_Loader.add_constructor(_INT, _Loader.construct_yaml_int)
_Loader.add_constructor(_FLOAT, _Loader.construct_yaml_float)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _short(text: Any, n: int = 40) -> str:
    s = str(text)
    return repr(s) if len(s) <= n else repr(s[:n]) + f"... ({len(s):,} characters)"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: yaml.Node) -> None:
    """Refuse a node graph that aliases make too large, too deep or circular.

    PyYAML gives an alias (*name) the very node of its anchor, so a document is a graph whose expansion (what
    the constructed data and every walk over it hold) can be exponentially larger than the text: nine levels of
    nine aliases in 342 bytes expand to 9^9 values. Sizes and depths are computed once per distinct node; the
    expanded size may exceed the distinct nodes by at most MAX_ALIAS_NODES, the expanded depth is at most
    MAX_DEPTH, and a node that contains itself is refused."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()

    def visit(node: yaml.Node, level: int) -> None:
        key = id(node)
        on_path.add(key)
        total, deepest = 1, 1
        for child in _children(node):
            ck = id(child)
            if ck in on_path:
                raise _Refused("an alias refers to a value that contains it (a circular alias)", child.start_mark)
            if ck not in size:
                if level + 1 > MAX_DEPTH:
                    raise _Refused(f"nested more than {MAX_DEPTH} levels deep (counting aliases)", child.start_mark)
                visit(child, level + 1)
            if level + depth[ck] > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep (counting aliases)", child.start_mark)
            total += size[ck]
            deepest = max(deepest, depth[ck] + 1)
        size[key], depth[key] = total, deepest
        on_path.discard(key)

    visit(root, 1)
    added = size[id(root)] - len(size)
    if added > MAX_ALIAS_NODES:
        raise _Refused(f"aliases expand too far: expanding the aliases (*name) adds {added:,} values to the "
                       f"{len(size):,} written, more than the {MAX_ALIAS_NODES:,} allowed; write the values out "
                       "or use fewer aliases")


def _index_and_duplicates(root: yaml.Node, loader: _Loader) -> tuple[dict[tuple, int], list[tuple[tuple, int, int]]]:
    """Map each key path (tuple of keys / list indices) to its 1-based line, walking every node once: a value
    given by an alias gets the line of the alias (the loader notes it while composing) and is not walked again,
    so the values inside it have no line of their own (a lookup falls back to the alias). Also collect duplicate
    keys of a mapping as (path of the key, first line, second line); merge keys (<<) are not duplicates."""
    index: dict[tuple, int] = {}
    duplicates: list[tuple[tuple, int, int]] = []
    seen: set[int] = set()

    def walk(node: yaml.Node, path: tuple, alias_line: int | None = None) -> None:
        index[path] = alias_line or node.start_mark.line + 1
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for k, v in node.value:
                line = k.start_mark.line + 1
                if not isinstance(k, yaml.ScalarNode):  # a list or mapping as a key: the constructor refuses it
                    continue
                if k.tag == "tag:yaml.org,2002:merge":
                    walk(v, path + ("<<",))
                    continue
                key = loader.construct_object(k, deep=True)
                if key in first:
                    duplicates.append((path + (key,), first[key], line))
                else:
                    first[key] = line
                index[path + (key,)] = line
                walk(v, path + (key,), loader.alias_lines.get((id(node), id(k))))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,), loader.alias_lines.get((id(node), i)))

    walk(root, ())
    return index, duplicates


def _read_text(p: Path) -> str:
    """The text of a regular file of at most MAX_FILE_BYTES, UTF-8. The file is opened without blocking and
    checked on the open descriptor, so a FIFO, a device such as /dev/zero, or a huge file is refused before any
    byte is read (and cannot be swapped in between the check and the read)."""
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ScenarioError("file not found", path=str(p)) from None
    except IsADirectoryError:
        raise ScenarioError("is a directory, expected a YAML file", path=str(p)) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read file: {exc.strerror or exc}", path=str(p)) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if stat.S_ISDIR(st.st_mode):
            raise ScenarioError("is a directory, expected a YAML file", path=str(p))
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError("is not a regular file (a device, pipe or socket); expected a YAML file",
                                path=str(p))
        limit = f"scenario and spec files may be at most {MAX_FILE_BYTES // 2**20} MB"
        if st.st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"file is too large ({st.st_size:,} bytes); {limit}", path=str(p))
        try:
            raw = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ScenarioError(f"cannot read file: {exc.strerror or exc}", path=str(p)) from None
    if len(raw) > MAX_FILE_BYTES:  # it grew after the check
        raise ScenarioError(f"file is too large; {limit}", path=str(p))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"cannot read file: not UTF-8 text ({exc.reason} at byte {exc.start})",
                            path=str(p)) from None


def parse_yaml(text: str, *, path: str | None = None) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML text into (data, line index) under the reading rules: safe tags only, no base-60 numbers, no
    duplicate keys, nesting at most MAX_DEPTH, aliases adding at most MAX_ALIAS_NODES values. Every problem is
    a ScenarioError naming `path` and, where known, the line and key."""
    loader = _Loader(text)
    root = None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        _check_aliases(root)
        lines, duplicates = _index_and_duplicates(root, loader)
        data = loader.construct_document(root)
    except _Refused as exc:
        line = exc.mark.line + 1 if exc.mark else None
        raise ScenarioError(exc.message, path=path, key=_key_at(root, exc.mark), line=line) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        problem = (f"unsupported or unsafe YAML tag ({exc.problem}); only plain YAML data is allowed"
                   if "tag" in str(exc.problem) else f"cannot read YAML: {exc.problem}")
        raise ScenarioError(problem, path=path, key=_key_at(root, mark), line=line) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"YAML syntax error: {problem}", path=path, line=line) from exc
    except RecursionError:  # a safety net: MAX_DEPTH keeps every walk far from the interpreter's limit
        raise ScenarioError(f"nested too deeply (at most {MAX_DEPTH} levels)", path=path) from None
    finally:
        loader.dispose()
    if duplicates:
        _raise_problems([(_loc_to_key(key_path, data)[0] or None, second,
                          f"duplicate key '{key_path[-1]}' (lines {first} and {second}); a key may appear only "
                          "once in a mapping") for key_path, first, second in duplicates], path=path)
    return data, lines


def read_yaml(path: str | Path) -> tuple[Any, dict[tuple, int]]:
    """Read a YAML file by the rules of `parse_yaml` after `_read_text`'s checks; return (data, line index), the
    data a mapping. Raise ScenarioError on any problem."""
    p = Path(path)
    data, lines = parse_yaml(_read_text(p), path=str(p))
    if data is None:
        raise ScenarioError("file is empty; expected a mapping of scenario keys", path=str(p))
    if not isinstance(data, dict):
        raise ScenarioError(f"expected a mapping of keys at the top level, found {type(data).__name__}", path=str(p))
    return data, lines


def _key_at(root: yaml.Node | None, mark) -> str | None:
    """Dotted key of the value node that starts at a parser mark (None if not found). Each node is visited once
    and no deeper than MAX_DEPTH, so a graph of aliases cannot make the search explode."""
    if root is None or mark is None:
        return None
    seen: set[int] = set()

    def walk(node: yaml.Node, path: list[str]) -> str | None:
        if (node.start_mark.line, node.start_mark.column) == (mark.line, mark.column) and path:
            return ".".join(path)
        if id(node) in seen or len(path) > MAX_DEPTH:
            return None
        seen.add(id(node))
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


_WRAPPERS = ("function-after", "function-before", "function-wrap", "function-plain", "literal", "union",
             "tagged-union")


def _loc_to_key(loc: tuple, data: Any, missing: bool = False) -> tuple[str, tuple]:
    """Turn a pydantic error location into a readable dotted key and the raw path for line lookup.

    The location is walked together with the data, so the labels pydantic adds for union branches and
    validators ('Range', 'function-after[...]', 'float', a tag) are left out: an item is a key only if the data
    holds it at that place, or if it is the last item of a missing-key error (`missing`)."""
    key, raw, _ = _loc_parts(loc, data, missing)
    return key, raw


def _loc_parts(loc: tuple, data: Any, missing: bool = False) -> tuple[str, tuple, bool]:
    """`_loc_to_key` plus whether the location passed through a union branch label."""
    parts: list[str] = []
    raw: list = []
    node = data
    branch = False
    for pos, item in enumerate(loc):
        last = pos == len(loc) - 1
        if isinstance(item, int) and isinstance(node, list):
            ident = None
            if 0 <= item < len(node) and isinstance(node[item], dict):
                ident = node[item].get("id", node[item].get("name"))
            parts.append(f"[{ident}]" if ident is not None else f"[{item}]")
            raw.append(item)
            node = node[item] if 0 <= item < len(node) else None
        elif isinstance(node, dict) and (item in node or (last and missing)):
            parts.append(str(item))
            raw.append(item)
            node = node.get(item)
        elif isinstance(item, str) and (item.startswith(_WRAPPERS) or "[" in item or not isinstance(node, dict)
                                        or item not in node):
            branch = True  # a union branch or validator label, not a key
        else:
            parts.append(str(item))
            raw.append(item)
            node = None
    text = ""
    for p in parts:
        text += p if p.startswith("[") or not text else "." + p
    return text, tuple(raw), branch


def _line_for(index: dict[tuple, int], raw: tuple) -> int | None:
    while raw:
        if raw in index:
            return index[raw]
        raw = raw[:-1]
    return None


MAX_PROBLEMS = 10  # problems listed in one error message; the rest are counted


def _raise_problems(problems: list[tuple[str | None, int | None, str]], *, path: str | None) -> NoReturn:
    """Raise one ScenarioError for a list of (key, line, message). The first problem gives the error its key and
    line and the first line of its text; each further one follows on its own line as '  FILE:LINE, key 'KEY':
    MESSAGE', at most MAX_PROBLEMS in all, then '  and N more problems'."""
    key, line, text = problems[0]
    shown = problems[:MAX_PROBLEMS]
    for k, ln, msg in shown[1:]:
        text += "\n  " + ScenarioError(msg, path=path, key=k, line=ln).format()
    rest = len(problems) - len(shown)
    if rest:
        text += f"\n  and {rest} more problem{'s' if rest > 1 else ''}"
    raise ScenarioError(text, path=path, key=key, line=line)


def _by_line(problems: list[tuple[str | None, int | None, str]]) -> list[tuple[str | None, int | None, str]]:
    """Problems in file order (those without a line last, in their own order)."""
    return sorted(problems, key=lambda p: (p[1] is None, p[1] or 0))


def _found(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _schema_problems(model: type[BaseModel], exc: ValidationError, data: Any,
                     lines: dict[tuple, int]) -> list[tuple[str | None, int | None, str]]:
    """(key, line, message) for every error of a failed validation, in file order. Errors pydantic reports once
    per branch of a union at the same key become one problem; a missing key and an unknown key next to it that is
    its near miss (a typo) become one problem, the unknown key with the suggestion."""
    entries = []  # [raw, key, msg, branch, err]
    for err in exc.errors(include_url=False):
        missing = err["type"] == "missing"
        key, raw, branch = _loc_parts(tuple(err["loc"]), data, missing)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(raw[:-1], model, data)
            near = difflib.get_close_matches(str(raw[-1]), allowed, n=1, cutoff=0.6)
            msg = (f"unknown key '{raw[-1]}'" + (f" (did you mean '{near[0]}'?)" if near else "")
                   + (f"; allowed here: {', '.join(allowed)}" if allowed else ""))
            err = {**err, "near": near[0] if near else None}
        elif missing:
            msg = "required key is missing"
        elif "input" in err and err["type"] not in ("value_error",):
            msg = f"{msg}, found {_found(err['input'])}"
            if isinstance(err["input"], str) and _SEXAGESIMAL_RE.match(err["input"]):
                msg += " (base-60 numbers such as 1:20 are not read as numbers)"
        entries.append([raw, key, msg, branch, err])
    typos = {e[0][:-1] + (e[4]["near"],) for e in entries if e[4].get("near")}
    entries = [e for e in entries if not (e[4]["type"] == "missing" and e[0] in typos)]
    merged: dict[tuple, list] = {}
    for e in entries:
        slot = (e[0], "union") if e[3] and e[4]["type"] != "extra_forbidden" else (e[0], len(merged))
        merged.setdefault(slot, []).append(e)
    problems = []
    for group in merged.values():
        raw, key = group[0][0], group[0][1]
        msgs = list(dict.fromkeys(e[2] for e in group))
        if len(msgs) > 1:
            msgs = [_union_message(group)]
        problems.append((key or None, _line_for(lines, raw), msgs[0]))
    return _by_line(problems)


def _union_message(group: list) -> str:
    """One message for the errors of the branches of a union at one key: 'Input should be a valid number or a
    valid boolean, found 'x''."""
    wants, found = [], None
    for _, _, _, _, err in group:
        m = err["msg"].removeprefix("Value error, ")
        wants.append(m.removeprefix("Input should be ").split(",")[0] if m.startswith("Input should be ") else m)
        if "input" in err and not isinstance(err["input"], dict):
            found = err["input"]
    wants = list(dict.fromkeys(wants))
    if len(wants) > 1 and all(w.startswith("a valid ") for w in wants):
        wants = [wants[0]] + [w.removeprefix("a valid ") for w in wants[1:]]
    text = "Input should be " + ", ".join(wants[:-1]) + " or " + wants[-1]
    return text + (f", found {_found(found)}" if found is not None else "")


def validate_model[M: BaseModel](model: type[M], data: Any, *, path: str | None = None,
                                 lines: dict[tuple, int] | None = None) -> M:
    """Validate raw data against a schema model; on failure raise ScenarioError naming the file and, for every
    problem (up to MAX_PROBLEMS, in file order), the key path, the line and what is allowed. When the data has
    the shape of another kind of file (a sweep spec given to `run`), say so and which command reads it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        hint = _other_kind(model, data, path)
        if hint:
            raise ScenarioError(hint, path=path) from exc
        problems = _schema_problems(model, exc, data, lines or {})
        try:
            _raise_problems(problems, path=path)
        except ScenarioError as err:
            raise err from exc


# kinds of bordersim file: the model each is validated as, keys only that kind has, the command that reads it
_FILE_KINDS = {
    "calibration spec": ("CalibrationSpec", ("targets", "sampling", "accept", "refine", "population_size", "point",
                                             "check"), "calibrate"),
    "sensitivity spec": ("SensitivitySpec", ("outcomes", "morris", "sobol", "fixed", "seed_bootstrap"),
                         "sensitivity"),
    "sweep spec": ("ExperimentSpec", ("design", "outputs"), "sweep"),
    "scenario": ("Scenario", ("network", "population", "time"), "run"),
}


def _looks_like(data: Any, model: type[BaseModel]) -> tuple[str, str] | None:
    """(kind, telling key) when data has the shape of a kind of bordersim file: a spec has a `scenario:` key and
    a key only its kind has; a scenario has network and population and no `scenario:`. Reading a scenario, a
    file with `scenario:` and `parameters` or `replicates` is taken for a sweep spec."""
    if not isinstance(data, dict):
        return None
    if "scenario" not in data:
        return ("scenario", "network") if {"network", "population"} <= set(data) else None
    for kind, (_, keys, _) in _FILE_KINDS.items():
        if kind != "scenario":
            has = [k for k in keys if k in data]
            if has:
                return kind, has[0]
    if model is Scenario:
        has = [k for k in ("parameters", "replicates") if k in data]
        if has:
            return "sweep spec", has[0]
    return None


def _other_kind(model: type[BaseModel], data: Any, path: str | None) -> str | None:
    """The hint for data that failed to validate as `model` but looks like another kind of file, else None."""
    found = _looks_like(data, model)
    if found is None or _FILE_KINDS[found[0]][0] == model.__name__:
        return None
    kind, key = found
    what = next((k for k, (name, _, _) in _FILE_KINDS.items() if name == model.__name__), "this kind of file")
    what = f"a {what}" if what != "this kind of file" else what
    if kind == "scenario":
        return (f"this looks like a scenario, not {what} (it has 'network' and 'population' and no 'scenario'): "
                f"use `bordersim run {path or 'FILE'}`; a spec names its base scenario under 'scenario:'")
    return (f"this looks like a {kind}, not {what} (it has 'scenario' and '{key}'): "
            f"use `bordersim {_FILE_KINDS[kind][2]} {path or 'FILE'}`")


def read_model_file[M: BaseModel](model: type[M], path: str | Path) -> tuple[M, dict, dict[tuple, int]]:
    """Read a YAML file and validate it against a schema model: (validated model, raw data, line index)."""
    data, lines = read_yaml(path)
    return validate_model(model, data, path=str(path), lines=lines), data, lines


def validate_dict(data: dict, *, path: str | None = None, lines: dict[tuple, int] | None = None) -> Scenario:
    """Validate a raw dict into a Scenario and run the graph sanity checks; every problem of the first of these
    that fails is reported (see `validate_model`)."""
    from sim.checks import check_scenario

    scenario = validate_model(Scenario, data, path=path, lines=lines)
    problems = check_scenario(scenario)
    if problems:
        _raise_problems(_by_line([(key, _line_for(lines or {}, _key_to_raw(key, data)), msg)
                                  for key, msg in problems]), path=path)
    return scenario


def _shapes(annotation: Any) -> list[Any]:
    """The alternatives of a type: Annotated and Optional stripped, unions opened."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _shapes(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [s for a in typing.get_args(annotation) for s in _shapes(a)]
    return [] if annotation is type(None) else [annotation]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _inner_model(annotation: Any):
    """The first model class inside a type, looking through Annotated, unions and containers (None if none)."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def _field_by_name(model: Any, name: Any):
    for n, f in model.model_fields.items():
        if (f.alias or n) == name:
            return f
    return None


def _best_model(candidates: list[Any], node: Any) -> Any:
    """Of several models a value may be, the one sharing most keys with the value (the first on a tie)."""
    keys = set(node) if isinstance(node, dict) else set()
    return max(candidates, key=lambda m: len(keys & {f.alias or n for n, f in m.model_fields.items()}))


def _allowed_keys(parent: tuple, root: Any = None, data: Any = None) -> list[str]:
    """Field names allowed at a raw path, found by walking the schema from `root` (default Scenario) together
    with the data (which of several models in a union a value is meant to be is judged by its keys)."""
    import typing

    tp: Any = Scenario if root is None else root
    node = data
    for item in parent:
        shapes = _shapes(tp)
        models = [s for s in shapes if _is_model(s)]
        containers = {typing.get_origin(s): s for s in shapes if typing.get_origin(s) in (list, tuple, dict)}
        with_field = [m for m in models if _field_by_name(m, item) is not None]
        if with_field:
            tp = _field_by_name(_best_model(with_field, node), item).annotation
        elif isinstance(item, int) and (list in containers or tuple in containers):
            tp = typing.get_args(containers.get(list) or containers[tuple])[0]
        elif dict in containers:
            tp = typing.get_args(containers[dict])[1]
        else:
            return []
        node = (node.get(item) if isinstance(node, dict)
                else node[item] if isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)
                else None)
    models = [s for s in _shapes(tp) if _is_model(s)]
    if not models:
        return []
    return [f.alias or n for n, f in _best_model(models, node).model_fields.items()]

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
    """Set one scalar in a full scenario dict from 'dotted.path=value' (value parsed as YAML by the rules of
    `parse_yaml`: 1:20 is text, not 80)."""
    if "=" not in item:
        raise ScenarioError(f"--set expects dotted.path=value, found {item!r}", path=source)
    key, _, text = item.partition("=")
    key = key.strip()
    try:
        value = parse_yaml(text, path=source)[0] if text.strip() else None
    except ScenarioError as exc:
        raise ScenarioError(f"cannot parse value {text!r}: {exc.message}", path=source, key=key) from None
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
