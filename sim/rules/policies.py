"""Dated interventions and their application.

The state in force at a date is always rebuilt from the scenario's base values by applying every policy active
at that date, in the order they are listed (`set` first, then `scale`, within a policy). A policy is active for
steps whose date d satisfies start <= d < end. Rebuilding (instead of applying and undoing) keeps overlapping
policies exact: ending one policy never disturbs another. A state whose values do not fit (an overflow to
infinity, a duration or dwell past its limit: `value_problems`) is an error, never wrapped or cut to fit.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from sim.errors import ScenarioError
from sim.rules.network import RouteGraph
from sim.scenario.schema import BOOL_TARGETS, CONTROLS, MAX_MONTHS, NODE_TARGETS, Policy, PushSeries, Scenario
from sim.scenario.dates import month_start, parse_month, step_dates
from sim.scenario.units import step_months

MAX_DURATION = MAX_MONTHS  # months: an edge's duration, also after policies (the schema's bound, 600)
MAX_DWELL = MAX_MONTHS  # months: a node's dwell, likewise


@dataclass
class NetworkState:
    """Edge and node values in force: the only mutable description of the network a run uses."""

    controls: np.ndarray  # (E, 5) densities in CONTROLS order
    cost: np.ndarray  # (E,) USD
    duration: np.ndarray  # (E,) steps, int (months, float, in `base_state`)
    shoot_on_sight: np.ndarray  # (E,) bool
    open: np.ndarray  # (E,) bool
    arrest_hazard: np.ndarray  # (N,) probability per step (per month in `base_state`)
    dwell: np.ndarray  # (N,) steps (months in `base_state`)
    geometric_dwell: np.ndarray  # (N,) bool
    # (N,) brokers (docs/model.md §14): passages per step (per month in `base_state`) and base fee (USD); 0 at
    # nodes without brokers. Defaults keep a state built without them valid.
    broker_capacity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    broker_fee: np.ndarray = field(default_factory=lambda: np.zeros(0))
    step_months: float = 1.0  # length of a step in months, by which durations are converted (sim.scenario.units)


def base_state(scenario: Scenario) -> NetworkState:
    edges, nodes = scenario.network.edges, scenario.network.nodes
    return NetworkState(
        controls=np.array([[getattr(e.controls, c) for c in CONTROLS] for e in edges], dtype=float),
        cost=np.array([e.cost for e in edges], dtype=float),
        duration=np.array([e.duration for e in edges], dtype=float),
        shoot_on_sight=np.array([e.shoot_on_sight for e in edges], dtype=bool),
        open=np.array([e.open for e in edges], dtype=bool),
        arrest_hazard=np.array([n.arrest_hazard for n in nodes], dtype=float),
        dwell=np.array([n.dwell for n in nodes], dtype=float),
        geometric_dwell=np.array([n.dwell_distribution == "geometric" for n in nodes], dtype=bool),
        broker_capacity=np.array([n.brokers.capacity if n.brokers else 0.0 for n in nodes], dtype=float),
        broker_fee=np.array([n.brokers.fee if n.brokers else 0.0 for n in nodes], dtype=float),
        step_months=step_months(scenario.time.step),
    )


def is_active(policy: Policy, date: dt.date) -> bool:
    if not policy.enabled or date < month_start(policy.start):
        return False
    return policy.end is None or date < month_start(policy.end)


def active_set(scenario: Scenario, date: dt.date) -> tuple[int, ...]:
    """Indices of the policies in force at `date`."""
    return tuple(i for i, p in enumerate(scenario.policies) if is_active(p, date))


def active_sets(scenario: Scenario, dates: list[dt.date]) -> list[tuple[int, ...]]:
    """`active_set` at each of `dates` (increasing), the policies' months parsed once: a policy is in force from
    its start (if enabled) until before its end, as `is_active`."""
    windows = [(i, month_start(p.start), None if p.end is None else month_start(p.end))
               for i, p in enumerate(scenario.policies) if p.enabled]
    return [tuple(i for i, start, end in windows if start <= d and (end is None or d < end)) for d in dates]


def selected_edges(policy: Policy, graph: RouteGraph) -> np.ndarray:
    """Edges chosen by id, by mode or by the node they leave (`from_nodes`) (union)."""
    sel = policy.select
    chosen = [graph.edge_index[e] for e in sel.edges if e in graph.edge_index]
    chosen += [i for i, m in enumerate(graph.edge_mode) if m in sel.modes]
    if sel.from_nodes:
        starts = {graph.node_index[n] for n in sel.from_nodes if n in graph.node_index}
        chosen += [i for i, a in enumerate(graph.edge_from.tolist()) if a in starts]
    return np.array(sorted(set(chosen)), dtype=np.int64)


def selected_nodes(policy: Policy, graph: RouteGraph) -> np.ndarray:
    return np.array(sorted({graph.node_index[n] for n in policy.select.nodes if n in graph.node_index}),
                    dtype=np.int64)


def network_state(scenario: Scenario, graph: RouteGraph, active: tuple[int, ...]) -> NetworkState:
    """Base values (months) with the active policies applied, densities and hazards clipped to [0, 1], then in
    steps of Δ months (sim.scenario.units): duration max(1, round(d / Δ)), dwell w / Δ, arrest hazard 1 - (1 - h)^Δ.
    A value that does not fit (`value_problems`) raises ScenarioError naming the policy and its key: a value is
    never wrapped around or silently cut to fit."""
    st, changed_by = _applied(scenario, graph, active)
    problems = _describe(value_problems(st), changed_by, graph, when=None)
    if problems:
        key, msg = problems[0]
        if len(problems) > 1:
            msg += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
        raise ScenarioError(msg, key=key)
    np.clip(st.controls, 0.0, 1.0, out=st.controls)
    np.clip(st.arrest_hazard, 0.0, 1.0, out=st.arrest_hazard)
    delta = st.step_months
    st.duration = np.maximum(1, np.round(st.duration / delta)).astype(np.int64)
    st.dwell = st.dwell / delta
    st.broker_capacity = st.broker_capacity * delta
    with np.errstate(divide="ignore"):
        st.arrest_hazard = -np.expm1(np.log1p(-st.arrest_hazard) * delta)
    return st


def state_problems(scenario: Scenario, graph: RouteGraph, active: tuple[int, ...],
                   when: str | None = None) -> list[tuple[str, str]]:
    """(key, message) for every value that does not fit in the state of the `active` policies (`value_problems`).
    The key is the last policy key that changed the value (e.g. `policies[slow].scale.duration`), or the base
    value's key if no policy did; `when` (a date) is named in the message."""
    st, changed_by = _applied(scenario, graph, active)
    return _describe(value_problems(st), changed_by, graph, when)


def value_problems(st: NetworkState) -> list[tuple[str, int, float, str]]:
    """(target, element index, value, what is allowed) for each value of a network state, before clipping and
    conversion to steps, that does not fit. This is the one place the limits are stated, in months: every number
    finite, a duration more than 0 and at most MAX_DURATION and a dwell at most MAX_DWELL (the schema's bounds),
    a geometric dwell 0 (no wait) or at least one step (`st.step_months`)."""
    out: list[tuple[str, int, float, str]] = []

    def check(target: str, values: np.ndarray, ok: np.ndarray, allowed: str) -> None:
        out.extend((target, int(j), float(values[j]), allowed) for j in np.flatnonzero(~ok))

    finite = "a finite number"
    with np.errstate(invalid="ignore"):
        for c, name in enumerate(CONTROLS):
            check(f"controls.{name}", st.controls[:, c], np.isfinite(st.controls[:, c]), finite)
        check("cost", st.cost, np.isfinite(st.cost), finite)
        check("duration", st.duration, np.isfinite(st.duration) & (st.duration > 0) & (st.duration <= MAX_DURATION),
              f"more than 0 and at most {MAX_DURATION:g} months")
        check("arrest_hazard", st.arrest_hazard, np.isfinite(st.arrest_hazard), finite)
        check("dwell", st.dwell, np.isfinite(st.dwell) & (st.dwell <= MAX_DWELL), f"at most {MAX_DWELL:g} months")
        short = st.geometric_dwell & (st.dwell > 0) & (st.dwell < st.step_months)
        step = f"{st.step_months:.4g} month{'s' if st.step_months != 1 else ''}"
        check("dwell", st.dwell, ~short, f"0 or at least one step ({step}) for a geometric dwell")
        check("brokers.capacity", st.broker_capacity, np.isfinite(st.broker_capacity), finite)
        check("brokers.fee", st.broker_fee, np.isfinite(st.broker_fee), finite)
    return out


def _applied(scenario: Scenario, graph: RouteGraph, active: tuple[int, ...]
             ) -> tuple[NetworkState, dict[tuple[str, int], list[str]]]:
    """Base values (months) with the active policies applied in order (`set`, then `scale`, within a policy),
    neither clipped nor converted to steps, and for each numeric (target, element) the policy keys that changed it,
    in order."""
    st = base_state(scenario)
    changed_by: dict[tuple[str, int], list[str]] = {}
    with np.errstate(over="ignore", invalid="ignore"):  # overflow becomes inf/nan, which value_problems reports
        for i in active:
            pol = scenario.policies[i]
            edges = selected_edges(pol, graph)
            nodes = selected_nodes(pol, graph)
            for op, items in (("set", pol.set_to), ("scale", pol.scale)):
                for target, value in items.items():
                    if target.startswith("controls."):
                        col = CONTROLS.index(target.split(".", 1)[1])
                        arr, idx = st.controls[:, col], edges
                    elif target in ("cost", "duration", "shoot_on_sight", "open"):
                        arr, idx = getattr(st, target), edges
                    elif target in ("arrest_hazard", "dwell"):
                        arr, idx = getattr(st, target), nodes
                    elif target in ("brokers.capacity", "brokers.fee"):
                        arr, idx = getattr(st, "broker_" + target.split(".", 1)[1]), nodes
                    else:
                        continue  # group targets: see group_rates
                    if op == "set":
                        arr[idx] = value
                    else:
                        arr[idx] = arr[idx] * value
                    if target not in BOOL_TARGETS:
                        for j in idx.tolist():
                            changed_by.setdefault((target, j), []).append(f"policies[{pol.name}].{op}.{target}")
    return st, changed_by


def _describe(problems: list[tuple[str, int, float, str]], changed_by: dict[tuple[str, int], list[str]],
              graph: RouteGraph, when: str | None) -> list[tuple[str, str]]:
    out = []
    for target, j, value, allowed in problems:
        on_node = target in NODE_TARGETS
        ident = graph.node_ids[j] if on_node else graph.edge_ids[j]
        keys = changed_by.get((target, j), [])
        key = keys[-1] if keys else f"network.{'nodes' if on_node else 'edges'}[{ident}].{target}"
        unit = " months" if target in ("duration", "dwell") else ""
        msg = f"{target} of {'node' if on_node else 'edge'} '{ident}' would be {value:g}{unit}"
        if when:
            msg += f" from {when}"
        if len(keys) > 1:
            msg += f" (changed by {', '.join(keys)})"
        out.append((key, f"{msg}; allowed: {allowed}"))
    return out


def push_value(series: PushSeries, date: dt.date) -> float:
    """A push series at `date`: linear interpolation between points (or the last point's value for `step`),
    constant before the first and after the last point. Time is counted in months: day d of a month of L days is
    (d - 1) / L of the way through it, so a weekly step's value rises evenly through every month, February too."""
    return _value_at(series, _points(series), date)


def _points(series: PushSeries) -> tuple[np.ndarray, np.ndarray]:
    """The series' points: (months since year 0, values)."""
    keys = list(series.values)
    xs = np.array([_month_number(k) for k in keys], dtype=float)
    ys = np.array([series.values[k] for k in keys], dtype=float)
    return xs, ys


def _value_at(series: PushSeries, points: tuple[np.ndarray, np.ndarray], date: dt.date) -> float:
    xs, ys = points
    x = date.year * 12 + (date.month - 1) + (date.day - 1) / calendar.monthrange(date.year, date.month)[1]
    if series.interpolation == "step":
        i = int(np.searchsorted(xs, x, side="right")) - 1
        return float(ys[max(i, 0)])
    return float(np.interp(x, xs, ys))


def _month_number(ym: str) -> int:
    y, m = parse_month(ym)
    return y * 12 + (m - 1)


def group_rate(group, push: dict[str, float], policies) -> float:
    """lambda_g * prod_s push_s for one group, with `policies` (in force, in order) applied: `set`, then `scale`
    of `departure_rate` and `push.<series>`, where the policy selects the group (or selects no group)."""
    rate = group.departure_rate
    push = dict(push)
    for pol in policies:
        if pol.select.groups and group.name not in pol.select.groups:
            continue
        for op, items in (("set", pol.set_to), ("scale", pol.scale)):
            for target, value in items.items():
                if target == "departure_rate":
                    rate = value if op == "set" else rate * value
                elif target.startswith("push.") and target[5:] in push:
                    push[target[5:]] = value if op == "set" else push[target[5:]] * value
    return rate * math.prod(push.values())


def group_rates(scenario: Scenario, dates: list[dt.date]) -> np.ndarray:
    """(T, G) departure hazard per step at a free, riskless route: lambda_g(t) * prod_s push_s(t) * Δ, with
    lambda_g per month and Δ the step in months.

    Policies may `set`/`scale` `departure_rate` and `push.<series>`, for the selected groups (all if none).
    """
    groups = scenario.population.groups
    out = np.empty((len(dates), len(groups)))
    points = {name: _points(s) for name, s in scenario.push.items()}  # parsed once, not at every date
    for t, (date, in_force) in enumerate(zip(dates, active_sets(scenario, dates))):
        active = [scenario.policies[i] for i in in_force]
        push = {name: _value_at(s, points[name], date) for name, s in scenario.push.items()}
        for g, group in enumerate(groups):
            out[t, g] = group_rate(group, push, active)
    return out * step_months(scenario.time.step)


def divergence_step(a: Scenario, b: Scenario) -> int:
    """The first step at which runs of `a` and `b` with one seed can differ: 0 unless the two are equal outside
    `policies` (and `seed`); else the first step t whose policies in force differ (their positions in the list,
    or what they do: a policy's dates matter only through the steps it is in force), or the number of steps when
    they never do. Before it, both runs rebuild the same state from the same base values and policies and draw the
    same keyed numbers, so they are identical step for step."""
    rest = {"policies", "seed"}
    if a.model_dump(exclude=rest) != b.model_dump(exclude=rest):
        return 0
    dates = step_dates(a.time)
    window = {"start", "end", "enabled"}
    same = [p.model_dump(exclude=window) == q.model_dump(exclude=window) for p, q in zip(a.policies, b.policies)]
    same += [False] * abs(len(a.policies) - len(b.policies))  # a policy only one of them has
    for t, (in_a, in_b) in enumerate(zip(active_sets(a, dates), active_sets(b, dates))):
        if in_a != in_b or not all(same[i] for i in in_a):
            return t
    return len(dates)
