"""The scenario schema (pydantic, frozen, unknown keys rejected): what each key means is in docs/scenario.md."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, field_validator, model_validator
from pydantic.json_schema import GenerateJsonSchema, NoDefault

from sim.outputs import check_name
from sim.api_checks import MAX_SEED
from sim.scenario.dates import month_str, parse_month
from sim.scenario.strict import Strict
from sim.scenario.units import parse_duration, parse_probability_rate, parse_rate

CONTROLS = ("guards", "fence", "mines", "surveillance", "patrol")
MODES = ("land", "river", "dmz", "sea", "air")
NODE_KINDS = ("origin", "border", "transit", "destination")

MAX_MONTHS = 600.0  # longest edge duration or dwell: 50 years
MAX_MEANS = 3.4028234663852886e38  # USD: means are stored as 32-bit floats (numpy.finfo(float32).max)
# Keys of mechanisms that are off by default, as dotted paths ("*": every item of a list): left out of the resolved
# scenario (and so of its sha256) while at their defaults, so that a scenario that does not use them resolves, and
# hashes, exactly as before they existed. `scenario_to_dict` keeps them, so `--set` reaches every one.
OMIT_WHEN_DEFAULT = ("repeat", "initial_stock", "population.chain", "route_choice.death_weight",
                     "route_choice.perception", "route_choice.nest", "network.nodes.*.brokers",
                     "population.groups.*.transit", "policies.*.select.from_nodes")


def _month_value(v: Any) -> str:
    return month_str(parse_month(v))


Month = Annotated[str, Field(description="A month, 'YYYY-MM'.", examples=["2020-01"])]

UNIT_TEXT = {"type": "string", "description": "A number with a unit (docs/scenario.md), e.g. '45 days', '3 years', "
                                              "'0.1 per year'.", "examples": ["45 days", "0.1 per year"]}


def _or_unit_text(schema: dict[str, Any]) -> None:
    """JSON Schema of a field whose validator also reads a unit string before the number is checked: the field's
    own schema (a number with its bounds, a null, a distribution) or such a string, so that editors accept the
    strings docs/scenario.md shows."""
    own = {k: schema.pop(k) for k in list(schema) if k not in ("title", "description", "default")}
    schema["anyOf"] = [own, UNIT_TEXT]


def _months_or_unit_text(schema: dict[str, Any]) -> None:
    """`_or_unit_text` that also takes a plain number of months (the initial stock's `waited`)."""
    _or_unit_text(schema)
    schema["anyOf"].insert(1, {"type": "number", "minimum": 0})


def _values_or_unit_text(schema: dict[str, Any]) -> None:
    """`_or_unit_text` for the values of a mapping (a policy's `set`)."""
    _or_unit_text(schema["additionalProperties"])


# ---------------------------------------------------------------------------------------------------- schema


MAX_POPULATION = 200_000_000  # persons at home: population.size, and a calibration's population_size
MAX_GROUPS = 256  # population groups: a person's group is stored in one byte (sim.rules.population)
MAX_NODES = 65_536  # network nodes: a person's origin is stored in two bytes
ID_SEPARATORS = ".,=>+()"  # the parts of a --set path, of a parameter list, key and value, a route's edges;
# outcome expressions join routes with + inside (): arrived(sea + boat)


def _plain_name(value: str) -> str:
    """Ids, names and route labels appear in dotted paths (`--set network.edges.ID.cost=...`), in comma-joined
    parameter names, in route names made of edge ids joined by '>' (docs/model.md §7) and in outcome expressions
    (`arrived(sea + boat)`): they must be non-empty and hold none of ID_SEPARATORS."""
    if not value.strip():
        raise ValueError("empty: give a name")
    bad = [c for c in ID_SEPARATORS if c in value]
    if bad:
        raise ValueError(f"{value!r} holds {' and '.join(repr(c) for c in bad)}: ids, names and route labels may not "
                         "hold . , = > + ( or ) (they separate the parts of a --set path, the paths of a parameter "
                         "name, the edges of a route's name and the routes of an outcome such as arrived(a + b))")
    return value


PlainName = Annotated[str, AfterValidator(_plain_name)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Density = Annotated[float, Field(ge=0.0, le=1.0, description="Control density in [0, 1].")]
NonNeg = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


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


class AttributeDistribution(Strict):
    """One of: fixed(value), uniform(low, high), beta(a, b) scaled to [low, high], lognormal(median, sigma)."""

    dist: Literal["fixed", "uniform", "beta", "lognormal"] = Field(description="AttributeDistribution family.")
    value: float | None = Field(None, description="fixed: the value.")
    low: float | None = Field(None, description="uniform/beta: lower bound (beta default 0).")
    high: float | None = Field(None, description="uniform/beta: upper bound (beta default 1).")
    a: float | None = Field(None, gt=0, description="beta: shape a.")
    b: float | None = Field(None, gt=0, description="beta: shape b.")
    median: float | None = Field(None, gt=0, description="lognormal: median (= exp(mu)).")
    sigma: float | None = Field(None, ge=0, description="lognormal: sigma of the log.")

    @model_validator(mode="after")
    def _params(self) -> AttributeDistribution:
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
        """[low, high] of the values the distribution can take (lognormal: [0, inf)); its parameters are present,
        checked by `_params`."""
        if self.dist == "fixed":
            assert self.value is not None
            return float(self.value), float(self.value)
        if self.dist == "uniform":
            assert self.low is not None and self.high is not None
            return float(self.low), float(self.high)
        if self.dist == "beta":
            return float(0.0 if self.low is None else self.low), float(1.0 if self.high is None else self.high)
        return 0.0, math.inf

    def bounded_top(self) -> float:
        """The value a limit on the draws is checked against when the distribution is read: its upper bound, or
        for a lognormal (unbounded) its median; a lognormal's draws past the limit are refused when drawn."""
        if self.dist != "lognormal":
            return self.bounds()[1]
        assert self.median is not None  # checked by `_params`
        return float(self.median)


def _number_or_by_sex(schema: dict, cls: type) -> None:
    """JSON Schema of a by-sex value: a single number (bounded as each of the two) or the mapping of both (pydantic
    gave the mapping only, so an editor flagged the documented `dwell_scale: 1.5`)."""
    mapping = dict(schema)
    bounds = {k: v for k, v in mapping["properties"]["female"].items()
              if k in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")}
    schema.clear()
    schema.update({"title": mapping.pop("title", cls.__name__), "description": mapping.pop("description", ""),
                   "anyOf": [{"type": "number", **bounds}, mapping]})


class BySex(Strict):
    """A value for women and one for men; a single number means the same for both."""

    model_config = ConfigDict(json_schema_extra=_number_or_by_sex)

    female: NonNeg = Field(description="Value for women.")
    male: NonNeg = Field(description="Value for men.")

    @model_validator(mode="before")
    @classmethod
    def _one_number(cls, v: Any) -> Any:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return {"female": v, "male": v}
        return v


class PositiveBySex(BySex):
    """A multiplier for women and one for men, each > 0 and at most MAX_MONTHS (a one-month dwell made the longest
    a dwell may be); a single number means the same for both."""

    female: float = Field(gt=0.0, le=MAX_MONTHS, description="Value for women.")
    male: float = Field(gt=0.0, le=MAX_MONTHS, description="Value for men.")


class UsdBySex(BySex):
    """USD for women and for men, each >= 0 and at most MAX_MEANS (what means may hold); a single number means the
    same for both."""

    female: NonNeg = Field(description="Value for women.", json_schema_extra={"maximum": MAX_MEANS})
    male: NonNeg = Field(description="Value for men.", json_schema_extra={"maximum": MAX_MEANS})

    @field_validator("female", "male")
    @classmethod
    def _at_most_means(cls, v: float) -> float:
        if v > MAX_MEANS:
            raise ValueError(f"at most {MAX_MEANS:.4g} USD (what means, stored as 32-bit floats, can hold); found "
                             f"{v:g}")
        return v


class GroupTransit(Strict):
    """How a group's women and men fare while in transit (docs/model.md §14)."""

    dwell_scale: PositiveBySex = Field(
        default_factory=lambda: PositiveBySex(female=1.0, male=1.0),
        description="Multiplier of every transit node's dwell (fixed wait or geometric mean) for women and men.")
    savings: UsdBySex = Field(
        default_factory=lambda: UsdBySex(female=0.0, male=0.0),
        description="USD saved per month while in a transit node (work, money from family), from arrival there.")
    arrest_scale: BySex = Field(
        default_factory=lambda: BySex(female=1.0, male=1.0),
        description="Multiplier of every transit node's cumulative arrest hazard for women and men (how exposed "
                    "they are while waiting): a per-month arrest probability h becomes 1 - (1 - h)^scale.")


class Group(Strict):
    name: PlainName = Field(description="Group name, e.g. ordinary, elite, soldier, overseas_worker.")
    share: Probability = Field(description="Share of the population in this group; shares sum to 1.")
    female_share: Probability = Field(description="Share of women in the group.")
    departure_rate: NonNeg = Field(
        description="lambda_g: hazard rate of setting out per person per month at push 1 with a riskless, free "
                    "route; a number (per month) or e.g. '0.02 per year'.", json_schema_extra=_or_unit_text)
    risk_tolerance: AttributeDistribution = Field(description="Risk tolerance r in [0, 1] (1 = ignores risk).")
    means: AttributeDistribution = Field(description="Means m in USD available for the journey.")
    modes: list[Literal["land", "river", "dmz", "sea", "air"]] = Field(
        description="Route modes the group may use; a path is usable only if all its edges' modes are listed.")
    origins: dict[str, NonNeg] | None = Field(
        None, description="Origin node -> weight for this group; default: population.origins.")
    transit: GroupTransit | None = Field(
        None, description="Differences in transit by sex: dwell_scale, savings and arrest_scale; default: none "
                          "(scales 1, no savings).")

    _rate_unit = field_validator("departure_rate", mode="before")(classmethod(lambda cls, v: parse_rate(v)))

    @field_validator("risk_tolerance")
    @classmethod
    def _rt_range(cls, v: AttributeDistribution) -> AttributeDistribution:
        lo, hi = v.bounds()
        if lo < 0 or hi > 1:
            raise ValueError(f"risk tolerance must lie in [0, 1], distribution spans [{lo}, {hi}]")
        return v

    @field_validator("means")
    @classmethod
    def _means_range(cls, v: AttributeDistribution) -> AttributeDistribution:
        if v.bounds()[0] < 0:
            raise ValueError("means must not be negative")
        top = v.bounded_top()
        if top > MAX_MEANS:
            raise ValueError(f"means are stored as 32-bit floats, at most {MAX_MEANS:.4g} USD; found {top:g}")
        return v

    @field_validator("modes")
    @classmethod
    def _modes_nonempty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("a group needs at least one mode")
        return v


class Chain(Strict):
    """Chain migration (docs/model.md §11): departures from origin o are multiplied by 1 + beta * A_o / N0
    (linear) or 1 + beta * log(1 + A_o / N0) (log), A_o the arrivals from o in the steps before."""

    weight: NonNeg = Field(description="beta: growth of the departure propensity per scale arrivals.")
    scale: float = Field(gt=0, description="N0: arrivals from an origin that raise its propensity by beta "
                                           "(linear form).")
    form: Literal["linear", "log"] = Field("linear", description="linear: 1 + beta*A/N0; "
                                                                  "log: 1 + beta*log(1 + A/N0).")


class PopulationSection(Strict):
    size: int = Field(gt=0, le=MAX_POPULATION, description="Persons at home at the start (one agent = one person).")
    origins: dict[str, NonNeg] = Field(description="Origin node -> weight (normalised).")
    groups: list[Group] = Field(min_length=1, max_length=MAX_GROUPS, description="Population groups.")
    chain: Chain | None = Field(None, description="Chain migration from arrivals before (null: off).")

    @model_validator(mode="after")
    def _shares(self) -> PopulationSection:
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
        out: dict[str, Any] = {}
        given: dict[str, Any] = {}
        for k, val in v.items():
            key = str(k)
            if re.fullmatch(r"[0-9]{4}", key):
                key = f"{key}-01"
            month = _month_value(key)
            if month in out:
                raise ValueError(f"keys '{given[month]}' and '{k}' are the same month ({month}); give it once")
            out[month], given[month] = val, k
        return dict(sorted(out.items()))


class Brokers(Strict):
    """Passages onward from a transit node, sold by brokers (docs/model.md §14)."""

    capacity: NonNeg = Field(description="Passages sold per month; a number (per month) or e.g. '120 per year'.",
                             json_schema_extra=_or_unit_text)
    fee: NonNeg = Field(description="Base price of a passage in USD (f), paid out of the buyer's means.")
    fee_elasticity: NonNeg = Field(
        0.0, description="eta: price F = f * max(1, queued / max(capacity per month, 1))^eta (at the last sale); "
                         "0: a fixed price.")
    fee_max: NonNeg | None = Field(None, description="Cap on the price F in USD; none: no cap.")

    _capacity_unit = field_validator("capacity", mode="before")(classmethod(lambda cls, v: parse_rate(v)))


class Node(Strict):
    id: PlainName = Field(description="Unique node id.")
    kind: Literal["origin", "border", "transit", "destination"] = Field(description="Role of the node.")
    label: str | None = Field(None, description="Readable name for plots.")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude for maps.")
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude for maps.")
    arrest_hazard: Probability = Field(
        0.0, description="Transit: P(arrested and repatriated) per month of waiting; a number (per month) or e.g. "
                         "'0.1 per year'.", json_schema_extra=_or_unit_text)
    dwell: NonNeg = Field(0.0, le=MAX_MONTHS, description="Transit: mean wait before moving on, in months; a number "
                                                          "(months) or e.g. '45 days', '3 years'.",
                                                          json_schema_extra=_or_unit_text)
    dwell_distribution: Literal["fixed", "geometric"] = Field(
        "fixed", description="fixed: wait exactly the dwell (rounded to whole steps); geometric: leave each step "
                             "with probability step / dwell.")
    brokers: Brokers | None = Field(
        None, description="Transit: the onward passage is sold by brokers with a capacity and a price; none: "
                          "people leave when their wait ends.")

    _dwell_unit = field_validator("dwell", mode="before")(classmethod(lambda cls, v: parse_duration(v)))
    _hazard_unit = field_validator("arrest_hazard", mode="before")(
        classmethod(lambda cls, v: parse_probability_rate(v)))

    @model_validator(mode="after")
    def _transit_only(self) -> Node:
        if self.kind != "transit" and (self.arrest_hazard > 0 or self.dwell > 0):
            raise ValueError(f"node '{self.id}' is {self.kind}: arrest_hazard and dwell apply to transit nodes only")
        if self.kind != "transit" and self.brokers is not None:
            raise ValueError(f"node '{self.id}' is {self.kind}: brokers apply to transit nodes only")
        return self


class Controls(Strict):
    guards: Density = 0.0
    fence: Density = 0.0
    mines: Density = 0.0
    surveillance: Density = 0.0
    patrol: Density = 0.0


class Edge(Strict):
    id: PlainName = Field(description="Unique edge id.")
    from_: str = Field(alias="from", description="Start node id.")
    to: str = Field(description="End node id.")
    mode: Literal["land", "river", "dmz", "sea", "air"] = Field(description="How the edge is crossed.")
    duration: float = Field(1.0, gt=0, le=MAX_MONTHS,
                            description="Time needed to cross the edge, in months (at least one step); a number "
                                        "(months) or e.g. '10 days', '2 weeks'.", json_schema_extra=_or_unit_text)
    cost: NonNeg = Field(0.0, description="USD paid to cross (e.g. a broker fee).")
    route: PlainName | None = Field(None, description="Route label for outputs; a path takes its first edge label.")
    controls: Controls = Field(default_factory=Controls, description="Control densities on the edge.")
    shoot_on_sight: StrictBool = Field(False, description="Whether a detected person may be shot.")
    open: StrictBool = Field(True, description="A closed edge cannot be entered; people reaching it turn back.")

    model_config = ConfigDict(populate_by_name=True)

    _duration_unit = field_validator("duration", mode="before")(classmethod(lambda cls, v: parse_duration(v)))


class NetworkSection(Strict):
    nodes: list[Node] = Field(min_length=2, max_length=MAX_NODES)
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


class Perception(Strict):
    """Perceived risk per route (docs/model.md §12): exponentially smoothed, lagged outcome shares of others."""

    memory: NonNeg = Field(le=MAX_MONTHS, description="Memory of the smoothing, in months (or a unit string): "
                                                      "weight w = 1 - exp(-step / memory) on the newest outcomes; "
                                                      "0 = only the newest.", json_schema_extra=_or_unit_text)
    lag: NonNeg = Field(0.0, le=MAX_MONTHS, description="Months (or a unit string) before an outcome is known "
                                                        "at home; rounded to whole steps.",
                                                        json_schema_extra=_or_unit_text)

    _units = field_validator("memory", "lag", mode="before")(classmethod(lambda cls, v: parse_duration(v)))


class Nest(Strict):
    """Nested logit (docs/model.md §13): a family of routes by the log-sum of its paths, then a path in it."""

    by: Literal["route"] = Field("route", description="Families are route labels (`route` of the edges).")
    scale: float = Field(gt=0, le=1, description="mu in (0, 1]: 1 is the flat logit; smaller makes paths of one "
                                                 "family closer substitutes.")
    families: dict[PlainName, list[str]] = Field(
        default_factory=dict, description="Optional: family name -> route labels grouped into one family; "
                                          "a route not listed is a family of its own.")

    @model_validator(mode="after")
    def _disjoint(self) -> Nest:
        seen: dict[str, str] = {}
        for fam, routes in self.families.items():
            for r in routes:
                if r in seen:
                    raise ValueError(f"route '{r}' is in two families ('{seen[r]}' and '{fam}')")
                seen[r] = fam
        return self


class RouteChoice(Strict):
    risk_weight: NonNeg = Field(6.0, description="alpha_risk: utility lost per unit of failure probability "
                                                 "at risk tolerance 0.")
    cost_weight: NonNeg = Field(1.0, description="alpha_cost: utility lost per unit of cost / means.")
    time_weight: NonNeg = Field(0.01, description="alpha_time: utility lost per expected month of travel.")
    death_weight: NonNeg | None = Field(
        None, description="alpha_death: utility lost per unit of probability of being killed, weighed apart from "
                          "capture and return (which keep risk_weight); null: one risk term on 1 - s.")
    perception: Perception | None = Field(None, description="Perceived risk per route (null: the true risk at once).")
    nest: Nest | None = Field(None, description="Nested route choice (null: the flat logit).")


class Selector(Strict):
    edges: list[str] = Field(default_factory=list, description="Edge ids.")
    modes: list[Literal["land", "river", "dmz", "sea", "air"]] = Field(default_factory=list,
                                                                       description="Edge modes.")
    nodes: list[str] = Field(default_factory=list, description="Node ids (transit nodes).")
    from_nodes: list[str] = Field(default_factory=list,
                                  description="Node ids: selects the edges leaving these nodes.")
    groups: list[str] = Field(default_factory=list, description="Group names (for departure_rate, push.*).")


EDGE_TARGETS = {f"controls.{c}" for c in CONTROLS} | {"cost", "duration", "shoot_on_sight", "open"}
NODE_TARGETS = {"arrest_hazard", "dwell", "brokers.capacity", "brokers.fee"}
BROKER_TARGETS = {"brokers.capacity", "brokers.fee"}
GROUP_TARGETS = {"departure_rate"}
BOOL_TARGETS = {"shoot_on_sight", "open"}
UNIT_PARSERS = {"duration": parse_duration, "dwell": parse_duration, "departure_rate": parse_rate,
                "arrest_hazard": parse_probability_rate, "brokers.capacity": parse_rate}


class Policy(Strict):
    name: PlainName = Field(description="Unique policy name.")
    start: Month = Field(description="First month in force.")
    end: Month | None = Field(None, description="Month from which it no longer holds (exclusive); none = forever.")
    enabled: StrictBool = Field(True,
                                description="false switches the policy off (e.g. in a sweep) without deleting it.")
    select: Selector = Field(default_factory=Selector, description="What the policy acts on.")
    set_to: dict[str, float | StrictBool] = Field(  # `set` in YAML (an attribute named set would shadow the builtin)
        default_factory=dict, alias="set",
        description="target -> new value, in the target's unit (duration, dwell: months or e.g. '45 days'; "
                    "departure_rate, arrest_hazard: per month or e.g. '0.1 per year').",
                    json_schema_extra=_values_or_unit_text)
    scale: dict[str, NonNeg] = Field(default_factory=dict, description="target -> multiplier.")

    _norm = field_validator("start", "end", mode="before")(
        classmethod(lambda cls, v: None if v is None else _month_value(v)))

    @field_validator("set_to", mode="before")
    @classmethod
    def _units(cls, v: Any) -> Any:
        """Read unit strings of duration/dwell (months) and departure_rate/arrest_hazard (per month)."""
        if not isinstance(v, dict):
            return v
        out = {}
        for k, x in v.items():
            try:
                out[k] = UNIT_PARSERS[k](x) if k in UNIT_PARSERS and isinstance(x, str) else x
            except ValueError as exc:  # reported at `set`: name the target
                raise ValueError(f"{k}: {exc}") from None
        return out

    @model_validator(mode="after")
    def _check(self) -> Policy:
        if self.end is not None and parse_month(self.end) <= parse_month(self.start):
            raise ValueError(f"policy '{self.name}': end ({self.end}) must be after start ({self.start})")
        if not self.set_to and not self.scale:
            raise ValueError(f"policy '{self.name}' neither sets nor scales anything")
        for kind, targets in (("set", self.set_to), ("scale", self.scale)):
            for target in targets:
                if target.startswith("push."):
                    continue
                if target not in EDGE_TARGETS | NODE_TARGETS | GROUP_TARGETS:
                    allowed = sorted(EDGE_TARGETS | NODE_TARGETS | GROUP_TARGETS | {"push.<series>"})
                    raise ValueError(f"policy '{self.name}': unknown {kind} target '{target}'; "
                                     f"allowed: {', '.join(allowed)}")
                if kind == "scale" and target in BOOL_TARGETS:
                    raise ValueError(f"policy '{self.name}': '{target}' is true/false and can only be set")
        for target, v in self.set_to.items():
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
        return set(self.set_to) | set(self.scale)



class RepeatAfter(Strict):
    """Delay before a person whose attempt failed is back home and may set out again, per outcome; null = never."""

    repatriated: NonNeg | None = Field(
        None, le=MAX_MONTHS, description="Months from arrest in transit (repatriated) until back home; null: never "
                                          "tries again; a number (months) or e.g. '6 months', '2 years'.",
                                          json_schema_extra=_or_unit_text)
    caught: NonNeg | None = Field(
        None, le=MAX_MONTHS, description="Months from being caught on a crossing until back home; null: never.",
        json_schema_extra=_or_unit_text)
    returned: NonNeg | None = Field(
        None, le=MAX_MONTHS, description="Months from turning back until back home; null: never.",
        json_schema_extra=_or_unit_text)

    _units = field_validator("repatriated", "caught", "returned", mode="before")(
        classmethod(lambda cls, v: None if v is None else parse_duration(v)))


class Repeat(Strict):
    """Repeat attempts (docs/model.md section 9): off (nobody tries again) unless an `after` delay is set."""

    after: RepeatAfter = Field(default_factory=RepeatAfter,
                               description="Outcome -> delay until back home (null: that outcome never tries again).")
    propensity: NonNeg = Field(
        1.0, description="rho: the departure rate of a person at home who made a attempts is multiplied by rho^a.")

    def enabled(self) -> bool:
        return any(v is not None for v in (self.after.repatriated, self.after.caught, self.after.returned))


def _waited_value(v: Any) -> Any:
    """A number or a unit string is a fixed number of months; a mapping is a distribution."""
    if isinstance(v, (int, float, str)) and not isinstance(v, bool):
        return {"dist": "fixed", "value": parse_duration(v)}
    return v


class InitialStock(Strict):
    """People already waiting at a transit node at the start (docs/model.md section 10)."""

    node: str = Field(description="Transit node id where they wait.")
    size: int = Field(ge=0, le=10_000_000, description="How many persons.")
    groups: dict[str, NonNeg] | None = Field(
        None, description="Group name -> weight of their group composition; default: the population shares.")
    female_share: Probability | None = Field(
        None, description="Share of women among them; default: each group's female_share.")
    waited: AttributeDistribution = Field(
        default_factory=lambda: AttributeDistribution(dist="fixed", value=0.0),
        description="Months they have already waited at the node: a number (months), a unit string, or a "
                    "distribution (values in months, 0 to 600).", json_schema_extra=_months_or_unit_text)

    _waited = field_validator("waited", mode="before")(classmethod(lambda cls, v: _waited_value(v)))

    @field_validator("waited")
    @classmethod
    def _waited_range(cls, v: AttributeDistribution) -> AttributeDistribution:
        if v.bounds()[0] < 0:
            raise ValueError("the time already waited must not be negative")
        top = v.bounded_top()
        if top > MAX_MONTHS:
            raise ValueError(f"the time already waited must be at most {MAX_MONTHS:g} months (50 years); found "
                             f"{top!r}")
        return v


class Scenario(Strict):
    """A complete, validated scenario. Immutable: overrides produce a new Scenario."""

    name: str = Field(description="Short name, used in output provenance and in the default run directory "
                                  "results/<name>-<time>: ASCII letters, digits, '.', '_', '-'.")

    _safe_name = field_validator("name")(classmethod(lambda cls, v: check_name(v)))
    description: str = Field("", description="Free text.")
    sources: list[str] = Field(default_factory=list, description="Citations for the figures used.")
    time: TimeSpec
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed of the run's random stream.")
    observed: Literal["mou_arrivals"] | None = Field(
        None, description="Observed series to compare runs against (packaged in sim/data).")
    population: PopulationSection
    push: dict[PlainName, PushSeries] = Field(default_factory=dict, description="Named push series (multipliers).")
    route_choice: RouteChoice = Field(default_factory=RouteChoice)
    network: NetworkSection
    hazards: Hazards = Field(default_factory=Hazards)
    policies: list[Policy] = Field(default_factory=list)
    repeat: Repeat = Field(default_factory=Repeat, description="Repeat attempts after a failed one (default off).")
    initial_stock: list[InitialStock] = Field(
        default_factory=list, description="People already waiting at transit nodes at the start (default none).")


# ---------------------------------------------------------------------------------------------------- loading


class _FactoryDefaults(GenerateJsonSchema):
    """Every default in the schema, those made by a factory too (pydantic leaves them out: a factory could give a
    new value each time; ours give constants, such as `waited: 0` or `policies: []`)."""

    def get_default_value(self, schema):
        if "default_factory" in schema and not schema.get("default_factory_takes_data"):
            value = schema["default_factory"]()
            # a section as a file writes it, without the keys that are off (None)
            return value.model_dump(mode="json", by_alias=True, exclude_none=True) if isinstance(value, Strict) \
                else value
        return schema.get("default", NoDefault)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (`bordersim schema`): keys as a file writes them, with every default."""
    schema = Scenario.model_json_schema(by_alias=True, schema_generator=_FactoryDefaults)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "bordersim scenario"
    return schema
