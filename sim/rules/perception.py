"""What people at home know about the risk of each route: pure numpy functions an array engine can reuse.

Failure outcomes are counted in three kinds, in the order of `KINDS`: killed; caught or repatriated (caught on an
edge, or arrested in transit); returned (blocked, or turned back at a closed edge). For a path j the true
probability of each kind, f_jk, follows the path leg by leg (`path_failure_probabilities`); a route r's true
values are the mean over its usable candidate paths, f_rk, or over all of them when none is usable (`route_truth`).

The perceived values per route, p_rk(t), are exponentially smoothed shares of the outcomes of the attempts that
ended on the route (docs/model.md §12):

    p_rk(0) = f_rk(0)                                           (the truth at the first step)
    p_rk(s + 1) = p_rk(s) + w * (o_rk(s) - p_rk(s))             if attempts ended on r in step s, else p_rk(s)
    w = 1 - exp(-delta / memory)   (w = 1 for memory 0)

with o_rk(s) the share of kind k among the attempts that ended on r in step s (arrivals included in the
denominator). The perceived value at step t is p_rk(max(0, t - L)), L the lag in whole steps. A path's perceived
probabilities scale its true ones by the route's perceived / true ratio, f^_jk = p_rk * (f_jk / f_rk) (p_rk where
f_rk = 0), scaled down together if their sum exceeds 1; its perceived success is s^_j = 1 - sum_k f^_jk.
"""

from __future__ import annotations

import math

import numpy as np

from sim.outcomes import ARRIVED, CAUGHT, KILLED, REPATRIATED, RETURNED
from sim.rules.hazards import edge_outcome_table, transit_survival

KINDS = ("killed", "caught", "returned")  # caught counts the caught on edges and the repatriated from transit


def smoothing_weight(memory_months: float, step_months: float) -> float:
    """w = 1 - exp(-delta / memory), the weight of the newest step's outcomes; 1 when memory is 0."""
    if memory_months <= 0:
        return 1.0
    return -math.expm1(-step_months / memory_months)


def lag_steps(lag_months: float, step_months: float) -> int:
    """The lag in whole steps: round(lag / delta) (0 stays 0)."""
    return int(round(lag_months / step_months))


def path_failure_probabilities(paths_edges: list[tuple[int, ...]], paths_nodes: list[tuple[int, ...]],
                               table: np.ndarray, node_survive: np.ndarray) -> np.ndarray:
    """(P, 3) true probabilities of ending a path killed / caught or repatriated / returned.

    With R the probability of reaching leg l (R = 1 at the first), each edge e adds R * table[e, returned] to
    returned, R * (killed undetected + shot) to killed and R * caught to caught, then R *= P(passed e); each
    transit node waited in after it (every node but the last) adds R * (1 - survive_n) to caught and
    R *= survive_n. `table` is `sim.rules.hazards.edge_outcome_table`, `node_survive` `transit_survival`."""
    out = np.zeros((len(paths_edges), len(KINDS)))
    for i, (edges, nodes) in enumerate(zip(paths_edges, paths_nodes)):
        reach = 1.0
        killed = caught = returned = 0.0
        for leg, e in enumerate(edges):
            ret, kill_u, shot, cau, passed = table[e]
            returned += reach * ret
            killed += reach * (kill_u + shot)
            caught += reach * cau
            reach *= passed
            if leg < len(edges) - 1:
                survive = node_survive[nodes[leg]]
                caught += reach * (1.0 - survive)
                reach *= survive
        out[i] = (killed, caught, returned)
    return out


def true_failures(graph, state, hazards) -> np.ndarray:
    """`path_failure_probabilities` of every candidate path of `graph` under the network `state`."""
    table = edge_outcome_table(state.controls, state.shoot_on_sight, hazards)
    survive = transit_survival(state.arrest_hazard, state.dwell, state.geometric_dwell)
    return path_failure_probabilities([p.edges for p in graph.paths], [p.nodes for p in graph.paths], table, survive)


def route_truth(failures: np.ndarray, path_route: np.ndarray, usable: np.ndarray, n_routes: int) -> np.ndarray:
    """(R, 3) mean of the usable paths' failure probabilities per route; for a route with no usable path (closed),
    the mean over all its candidate paths, whose probabilities are those of their edges' controls as if open (what
    is known of the route's dangers; it seeds the perceived risk of a route closed at the first step, which a 0
    would make look safe once it reopens); 0 for a route without candidate paths."""
    def means(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sums = np.zeros((n_routes, failures.shape[1]))
        counts = np.zeros(n_routes)
        np.add.at(sums, path_route[rows], failures[rows])
        np.add.at(counts, path_route[rows], 1.0)
        return sums / np.maximum(counts, 1.0)[:, None], counts

    truth, counts = means(usable)
    closed = counts == 0
    if closed.any():
        truth[closed] = means(np.ones(len(path_route), dtype=bool))[0][closed]
    return truth


def outcome_counts(flows_step: np.ndarray) -> np.ndarray:
    """(R, 4) counts per route of the attempts that ended in one step: killed, caught + repatriated, returned,
    all ended (arrivals included), from the ledger's (R, G, flows) counts of that step."""
    f = flows_step.sum(axis=1)
    ended = f[:, ARRIVED] + f[:, CAUGHT] + f[:, KILLED] + f[:, REPATRIATED] + f[:, RETURNED]
    return np.column_stack([f[:, KILLED], f[:, CAUGHT] + f[:, REPATRIATED], f[:, RETURNED], ended])


def update_perceived(perceived: np.ndarray, counts: np.ndarray, w: float) -> np.ndarray:
    """p(s + 1) = p(s) + w * (o(s) - p(s)) on the routes where attempts ended (counts[:, 3] > 0), o = counts[:, :3]
    / counts[:, 3]; the other routes keep p(s). Written as an increment, so that o = p leaves p exactly as it is."""
    ended = counts[:, 3]
    seen = ended > 0
    out = perceived.copy()
    if seen.any():
        obs = counts[seen, :3] / ended[seen, None]
        out[seen] = perceived[seen] + w * (obs - perceived[seen])
    return out


def perceived_failures(perceived_route: np.ndarray, truth_route: np.ndarray, failures: np.ndarray,
                       path_route: np.ndarray) -> np.ndarray:
    """(P, 3) perceived failure probabilities of the paths: f^_jk = p_rk * (f_jk / f_rk), or p_rk where f_rk = 0;
    a row whose sum exceeds 1 is divided by its sum."""
    truth = truth_route[path_route]
    p = perceived_route[path_route]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(truth > 0, failures / np.where(truth > 0, truth, 1.0), 1.0)
    f = p * ratio
    total = f.sum(axis=1)
    over = total > 1.0
    if over.any():
        f[over] /= total[over, None]
    return f
