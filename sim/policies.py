"""Dated interventions and their application.

The state in force at a date is always rebuilt from the scenario's base values by applying every policy active
at that date, in the order they are listed (`set` first, then `scale`, within a policy). A policy is active for
steps whose date d satisfies start <= d < end. Rebuilding (instead of applying and undoing) keeps overlapping
policies exact: ending one policy never disturbs another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim.network import RouteGraph
from sim.scenario import CONTROLS, Policy, Scenario, month_start, parse_month
from sim.units import step_months


@dataclass
class NetworkState:
    """Edge and node values in force: the only mutable description of the network a run uses."""

    controls: np.ndarray  # (E, 5) densities in CONTROLS order
    cost: np.ndarray  # (E,) USD
    duration: np.ndarray  # (E,) steps, int (months in `base_state`)
    shoot_on_sight: np.ndarray  # (E,) bool
    open: np.ndarray  # (E,) bool
    arrest_hazard: np.ndarray  # (N,) probability per step (per month in `base_state`)
    dwell: np.ndarray  # (N,) steps (months in `base_state`)
    geometric_dwell: np.ndarray  # (N,) bool
    step_months: float = 1.0  # length of a step in months, by which durations are converted (sim.units)


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
    )


def is_active(policy: Policy, date: dt.date) -> bool:
    if not policy.enabled or date < month_start(policy.start):
        return False
    return policy.end is None or date < month_start(policy.end)


def active_set(scenario: Scenario, date: dt.date) -> tuple[int, ...]:
    """Indices of the policies in force at `date`."""
    return tuple(i for i, p in enumerate(scenario.policies) if is_active(p, date))


def selected_edges(policy: Policy, graph: RouteGraph) -> np.ndarray:
    """Edges chosen by id or by mode (union)."""
    sel = policy.select
    chosen = [graph.edge_index[e] for e in sel.edges if e in graph.edge_index]
    chosen += [i for i, m in enumerate(graph.edge_mode) if m in sel.modes]
    return np.array(sorted(set(chosen)), dtype=np.int64)


def selected_nodes(policy: Policy, graph: RouteGraph) -> np.ndarray:
    return np.array(sorted({graph.node_index[n] for n in policy.select.nodes if n in graph.node_index}),
                    dtype=np.int64)


def network_state(scenario: Scenario, graph: RouteGraph, active: tuple[int, ...]) -> NetworkState:
    """Base values (months) with the active policies applied, densities and hazards clipped to [0, 1], then in
    steps of Δ months (sim.units): duration max(1, round(d / Δ)), dwell w / Δ, arrest hazard 1 - (1 - h)^Δ."""
    st = base_state(scenario)
    for i in active:
        pol = scenario.policies[i]
        edges = selected_edges(pol, graph)
        nodes = selected_nodes(pol, graph)
        for op, items in (("set", pol.set), ("scale", pol.scale)):
            for target, value in items.items():
                if target.startswith("controls."):
                    col = CONTROLS.index(target.split(".", 1)[1])
                    arr, idx = st.controls[:, col], edges
                elif target in ("cost", "duration", "shoot_on_sight", "open"):
                    arr, idx = getattr(st, target), edges
                elif target in ("arrest_hazard", "dwell"):
                    arr, idx = getattr(st, target), nodes
                else:
                    continue  # group targets: see group_rates
                if op == "set":
                    arr[idx] = value
                else:
                    arr[idx] = arr[idx] * value
    np.clip(st.controls, 0.0, 1.0, out=st.controls)
    np.clip(st.arrest_hazard, 0.0, 1.0, out=st.arrest_hazard)
    delta = step_months(scenario.time.step)
    st.step_months = delta
    st.duration = np.maximum(1, np.round(st.duration / delta)).astype(np.int64)
    st.dwell = st.dwell / delta
    with np.errstate(divide="ignore"):
        st.arrest_hazard = -np.expm1(np.log1p(-st.arrest_hazard) * delta)
    return st


def push_value(series, date: dt.date) -> float:
    """A push series at `date`: linear interpolation between points (or the last point's value for `step`),
    constant before the first and after the last point."""
    keys = list(series.values)
    xs = np.array([_month_number(k) for k in keys], dtype=float)
    ys = np.array([series.values[k] for k in keys], dtype=float)
    x = date.year * 12 + (date.month - 1) + (date.day - 1) / 31.0
    if series.interpolation == "step":
        i = np.searchsorted(xs, x, side="right") - 1
        return float(ys[max(i, 0)])
    return float(np.interp(x, xs, ys))


def _month_number(ym: str) -> int:
    y, m = parse_month(ym)
    return y * 12 + (m - 1)


def group_rates(scenario: Scenario, dates: list[dt.date]) -> np.ndarray:
    """(T, G) departure hazard per step at a free, riskless route: lambda_g(t) * prod_s push_s(t) * Δ, with
    lambda_g per month and Δ the step in months.

    Policies may `set`/`scale` `departure_rate` and `push.<series>`, for the selected groups (all if none).
    """
    groups = scenario.population.groups
    out = np.empty((len(dates), len(groups)))
    for t, date in enumerate(dates):
        active = [scenario.policies[i] for i in active_set(scenario, date)]
        for g, group in enumerate(groups):
            rate = group.departure_rate
            push = {name: push_value(s, date) for name, s in scenario.push.items()}
            for pol in active:
                if pol.select.groups and group.name not in pol.select.groups:
                    continue
                for op, items in (("set", pol.set), ("scale", pol.scale)):
                    for target, value in items.items():
                        if target == "departure_rate":
                            rate = value if op == "set" else rate * value
                        elif target.startswith("push."):
                            name = target.split(".", 1)[1]
                            push[name] = value if op == "set" else push[name] * value
            out[t, g] = rate * float(np.prod(list(push.values()))) if push else rate
    return out * step_months(scenario.time.step)
