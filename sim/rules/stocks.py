"""Initial stocks: people already waiting at transit nodes when the run starts (`initial_stock:` entries).

Entry e of `initial_stock` puts `size` persons at transit node n. Each person's attributes are drawn like a home
person's, from keyed generators (`sim.rules.streams`, purpose STOCK: stratum 0 draws group, sex and the time already
waited; stratum g + 1 draws group g's risk tolerance and means):

- group g with probability proportional to the entry's `groups` weights (default: the population shares);
- female with probability `female_share` of the entry (default: the group's `female_share`);
- risk tolerance and means from the group's distributions;
- time already waited a (months) from the entry's `waited` distribution (a fixed number by default 0);
- origin: the first of the group's origins (in the order written, positive weight) from which a candidate path the
  group may use passes through n (`stock_origin`), so that a repatriated person goes home to a place that leads to
  where they were found.

They are persons with indices after the home population's, in the order of the entries. Each continues from n along
one of the candidate paths from its origin through n (`paths_through`): the usable ones now, or all of them if none
is usable, picked by the logit rule of `sim.rules.choice` on the full path's utility without the cost term (what is
behind them is paid), with the uniform U(k, STOCK_CHOICE, person).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.rules.network import RouteGraph, modes_mask
from sim.rules.population import draw, draw_at_most, draw_means
from sim.rules.streams import STOCK, hash_int
from sim.scenario.schema import MAX_MONTHS, InitialStock, Scenario


@dataclass
class StockDraw:
    """The persons of the initial stock, in entry order: node and origin indices, group, sex, attributes, and the
    months already waited."""

    node: np.ndarray
    origin: np.ndarray
    group: np.ndarray
    female: np.ndarray
    risk_tolerance: np.ndarray
    means: np.ndarray
    waited: np.ndarray

    @property
    def size(self) -> int:
        return int(self.node.size)


def stock_group_weights(sc: Scenario, entry: InitialStock) -> np.ndarray:
    """Weights of the groups (in population order): the entry's `groups`, default the population shares."""
    if entry.groups is None:
        return np.array([g.share for g in sc.population.groups], dtype=float)
    return np.array([entry.groups.get(g.name, 0.0) for g in sc.population.groups], dtype=float)


def paths_through(graph: RouteGraph, origin: int, node: int, mask: int) -> np.ndarray:
    """Candidate paths from `origin` with modes allowed by `mask` that wait in or pass through `node`."""
    allowed = graph.allowed_paths(origin, mask)
    return np.array([j for j in allowed.tolist() if node in graph.paths[j].nodes[:-1]], dtype=np.int64)


def stock_origin(sc: Scenario, graph: RouteGraph, group: int, node: int) -> int | None:
    """The first of the group's origins (order written, weight > 0) with a candidate path through `node` that the
    group may use; None if there is none."""
    g = sc.population.groups[group]
    weights = g.origins if g.origins is not None else sc.population.origins
    mask = modes_mask(g.modes)
    for o, w in weights.items():
        if w > 0 and paths_through(graph, graph.node_index[o], node, mask).size:
            return graph.node_index[o]
    return None


def stock_problems(sc: Scenario, graph: RouteGraph) -> list[tuple[str, str]]:
    """Each entry names a transit node and known groups with weights not all zero, and every group it may draw has
    an origin with a usable candidate path through the node."""
    problems: list[tuple[str, str]] = []
    kinds = {n.id: n.kind for n in sc.network.nodes}
    names = [g.name for g in sc.population.groups]
    for i, entry in enumerate(sc.initial_stock):
        where = f"initial_stock[{i}]"
        if kinds.get(entry.node) != "transit":
            transit = sorted(n for n, k in kinds.items() if k == "transit")
            problems.append((f"{where}.node", f"'{entry.node}' is not a transit node; transit nodes: "
                             f"{', '.join(transit) or 'none'}"))
            continue
        if entry.groups is not None:
            unknown = [g for g in entry.groups if g not in names]
            if unknown:
                problems.append((f"{where}.groups", f"unknown group(s) {', '.join(unknown)}; groups: "
                                 f"{', '.join(names)}"))
                continue
        weights = stock_group_weights(sc, entry)
        if weights.sum() <= 0:
            problems.append((f"{where}.groups", "the group weights must not all be zero"))
            continue
        node = graph.node_index[entry.node]
        drawn = np.flatnonzero(weights > 0).tolist()
        stranded = [names[gi] for gi in drawn if stock_origin(sc, graph, gi, node) is None]
        if len(stranded) == len(drawn):  # the node is the problem, not the groups
            problems.append((f"{where}.node", f"'{entry.node}' lies on no candidate path that a group it draws may "
                             "use from its origins; an initial stock stands at a transit node on the way: choose "
                             "such a node"))
        elif stranded and entry.groups is None:  # drawn by the population's shares: the entry holds no `groups`
            problems.append((where, f"group(s) {', '.join(stranded)} have no candidate path they may use from "
                             f"their origins through '{entry.node}'; give {where}.groups, the groups that do"))
        else:
            problems += [(f"{where}.groups", f"group '{g}' has no candidate path it may use from its origins "
                          f"through '{entry.node}'; give {where}.groups without it") for g in stranded]
    return problems


def _generator(key: int, entry: int, stratum: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(hash_int(key, STOCK, entry, stratum)))


def draw_stock(sc: Scenario, graph: RouteGraph, key: int) -> StockDraw:
    """Draw every person of the initial stock (see the module doc); the scenario must pass `stock_problems`."""
    groups = sc.population.groups
    parts: dict[str, list[np.ndarray]] = {k: [] for k in StockDraw.__dataclass_fields__}
    for e, entry in enumerate(sc.initial_stock):
        n = entry.size
        rng = _generator(key, e, 0)
        w = stock_group_weights(sc, entry)
        cdf = np.cumsum(w / w.sum())
        grp = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(groups) - 1).astype(np.uint8)
        u_sex = rng.random(n)
        waited = np.maximum(draw_at_most(entry.waited, n, rng, MAX_MONTHS, key=f"initial_stock[{e}].waited",
                                         unit="months already waited",
                                         limit=f"{MAX_MONTHS:g} (50 years), the longest allowed"), 0.0)
        share = np.array([g.female_share if entry.female_share is None else entry.female_share for g in groups])
        node = graph.node_index[entry.node]
        origin = np.zeros(n, dtype=np.uint16)
        risk = np.zeros(n, dtype=np.float32)
        means = np.zeros(n, dtype=np.float32)
        for gi, g in enumerate(groups):
            sel = np.flatnonzero(grp == gi)
            if sel.size == 0:
                continue
            o = stock_origin(sc, graph, gi, node)
            assert o is not None, "initial_stock must pass stock_problems"
            origin[sel] = o
            g_rng = _generator(key, e, gi + 1)
            risk[sel] = draw(g.risk_tolerance, sel.size, g_rng)
            means[sel] = draw_means(g, sel.size, g_rng)
        parts["node"].append(np.full(n, node, dtype=np.int64))
        parts["origin"].append(origin)
        parts["group"].append(grp)
        parts["female"].append(u_sex < share[grp])
        parts["risk_tolerance"].append(risk)
        parts["means"].append(means)
        parts["waited"].append(waited)
    dtypes = {"node": np.int64, "origin": np.uint16, "group": np.uint8, "female": bool,
              "risk_tolerance": np.float32, "means": np.float32, "waited": np.float64}
    return StockDraw(**{k: (np.concatenate(v).astype(dtypes[k]) if v else np.empty(0, dtype=dtypes[k]))
                        for k, v in parts.items()})
