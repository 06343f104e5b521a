"""The decision rules shared by every engine: path metrics, route utility, departure probability, logit choice.

For a person with risk tolerance r in [0, 1] and means m (USD), a usable path j (every edge open, every mode
allowed for the person's group) with cost c_j, expected duration d_j (months) and success probability s_j has

    U_ij = -alpha_risk * (1 - r) * (1 - s_j) - alpha_cost * c_j / max(m, 1) - alpha_time * d_j   if c_j <= m
    U_ij = -inf                                                                                   otherwise

The person's deterrence is that of the best affordable path, U*_i = max_j U_ij (<= 0), and the probability of
setting out in a step is (Epstein's grievance against risk-weighted deterrence, as a hazard)

    p_i = 1 - exp(-lambda_g(t) * exp(U*_i))

where lambda_g(t) is the group's departure rate times the push series. Whoever sets out picks path j with the
logit probability exp(U_ij) / sum_k exp(U_ik) over affordable usable paths. No affordable path: p_i = 0.

With `route_choice.death_weight` alpha_death set, death is weighed apart from capture and return:

    U_ij = -alpha_death * (1 - r) * P(killed)_j - alpha_risk * (1 - r) * P(fail other)_j - alpha_cost * c_j / max(m, 1)
           - alpha_time * d_j

with P(fail other) = P(caught or repatriated) + P(returned) (`PathMetrics.killed`, `.other`). With
`route_choice.perception` these probabilities and s_j are the perceived ones (`sim.rules.perception`); with
`route_choice.nest` the path is drawn by the nested logit (`sim.rules.nested`); the departure rule is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.rules.hazards import edge_outcome_table, expected_dwell, transit_survival
from sim.rules.network import RouteGraph
from sim.rules.policies import NetworkState
from sim.scenario.schema import RouteChoice, Scenario


@dataclass
class PathMetrics:
    """Per candidate path: cost (USD), expected duration (months), success probability, usable now; with a death
    weight, the probabilities of being killed and of failing otherwise (caught, repatriated or returned); and the
    money needed at home to set out (`upfront`; None: the whole cost, as without brokers, docs/model.md §14)."""

    cost: np.ndarray
    duration: np.ndarray
    success: np.ndarray
    usable: np.ndarray
    killed: np.ndarray | None = None
    other: np.ndarray | None = None
    upfront: np.ndarray | None = None


def path_metrics(graph: RouteGraph, state: NetworkState, scenario: Scenario) -> PathMetrics:
    """Sum costs and durations along each path; success = prod over edges of P(passed) times prod over
    transit nodes waited in of P(leaving without arrest)."""
    table = edge_outcome_table(state.controls, state.shoot_on_sight, scenario.hazards)
    edge_pass = table[:, -1]
    node_survive = transit_survival(state.arrest_hazard, state.dwell, state.geometric_dwell)
    node_wait = expected_dwell(state.dwell, state.geometric_dwell)
    n = len(graph.paths)
    cost, dur, succ = np.zeros(n), np.zeros(n), np.ones(n)
    usable = np.ones(n, dtype=bool)
    for i, p in enumerate(graph.paths):
        e = np.array(p.edges)
        waits = np.array(p.nodes[:-1], dtype=np.int64)  # the last node is the destination
        with np.errstate(over="ignore"):  # costs past the floating-point range sum to inf: a path no one affords
            cost[i] = state.cost[e].sum()
        dur[i] = (state.duration[e].sum() + node_wait[waits].sum()) * state.step_months
        succ[i] = edge_pass[e].prod() * node_survive[waits].prod()
        usable[i] = bool(state.open[e].all())
    return PathMetrics(cost=cost, duration=dur, success=succ, usable=usable)


def utilities(risk_tolerance: np.ndarray, means: np.ndarray | None, metrics: PathMetrics, paths: np.ndarray,
              rc: RouteChoice) -> np.ndarray:
    """(k, P) utility of each of `paths` for k persons; -inf where the money needed at home (the cost, or
    `upfront` with brokers) is more than the person has. `means` None: the utility without the cost term, every
    path affordable (the initial stock's onward choice: what lies behind them is paid)."""
    c = metrics.cost[paths][None, :]
    need = c if metrics.upfront is None else metrics.upfront[paths][None, :]
    if rc.death_weight is not None and (metrics.killed is None or metrics.other is None):
        raise ValueError("a death weight needs PathMetrics.killed and .other")
    # Every term is <= 0, so a sum past the floating-point range (weights near 1e308) is -inf, the limit of a
    # path infinitely bad to take, never NaN: the overflow is the answer, not a fault to warn about. A cost
    # weight of 0 drops the cost term, and so does means None: 0 * an infinite cost (an infinite price, costs
    # summing past the floating-point range) and inf / inf are NaN; for finite costs u - 0.0 is u, the same bits.
    with np.errstate(over="ignore"):
        cost_term = (rc.cost_weight * c / np.maximum(means[:, None], 1.0) if means is not None and rc.cost_weight
                     else 0.0)
        if rc.death_weight is None:
            u = (-rc.risk_weight * (1.0 - risk_tolerance[:, None]) * (1.0 - metrics.success[paths][None, :])
                 - cost_term
                 - rc.time_weight * metrics.duration[paths][None, :])
        else:
            assert metrics.killed is not None and metrics.other is not None  # refused above
            u = (-rc.death_weight * (1.0 - risk_tolerance[:, None]) * metrics.killed[paths][None, :]
                 - rc.risk_weight * (1.0 - risk_tolerance[:, None]) * metrics.other[paths][None, :]
                 - cost_term
                 - rc.time_weight * metrics.duration[paths][None, :])
    if means is None:
        return np.broadcast_to(u, (risk_tolerance.size, paths.size)).copy()
    return np.where(need <= means[:, None], u, -np.inf)


def risk_free_bound(r_max: float | np.ndarray, metrics: PathMetrics, paths: np.ndarray, rc: RouteChoice) -> np.ndarray:
    """The utility of each of `paths` at risk tolerance r_max with no cost term, term by term as `utilities`
    computes it: an upper bound of every person's utility with r <= r_max (every term is monotone in r). r_max may
    be an array that broadcasts against the paths (e.g. a column: one row per r_max). A sum past the
    floating-point range is -inf, as in `utilities`."""
    with np.errstate(over="ignore"):
        if rc.death_weight is None:
            return (-rc.risk_weight * (1 - r_max) * (1 - metrics.success[paths])
                    - rc.time_weight * metrics.duration[paths])
        assert metrics.killed is not None and metrics.other is not None
        return (-rc.death_weight * (1 - r_max) * metrics.killed[paths]
                - rc.risk_weight * (1 - r_max) * metrics.other[paths]
                - rc.time_weight * metrics.duration[paths])


def departure_probability(rate: np.ndarray, best_utility: np.ndarray) -> np.ndarray:
    """p = 1 - exp(-rate * exp(U*)); zero where no path is affordable (U* = -inf), an infinite rate (a chain
    multiplier past the floating-point range) included."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(best_utility == -np.inf, 0.0, -np.expm1(-rate * np.exp(best_utility)))


def logit_choice(u: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Row-wise index drawn with P(j) = exp(u_j) / sum_k exp(u_k) by inverse CDF on the given uniforms. A row
    whose every entry is -inf (utilities summed past the floating-point range) draws uniformly, P(j) = 1 / P:
    the logit of equal utilities, not the NaN of -inf - -inf."""
    top = u.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        w = np.where(top == -np.inf, 1.0, np.exp(u - top))
    cdf = np.cumsum(w, axis=1)
    cdf /= cdf[:, -1:]
    idx = (cdf < uniforms[:, None]).sum(axis=1)
    return np.minimum(idx, u.shape[1] - 1)
