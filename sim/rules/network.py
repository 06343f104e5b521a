"""The route graph: a networkx MultiDiGraph built from the scenario, and its candidate paths.

Candidate paths are all simple edge paths from an origin to a destination with at most `max_path_edges`
edges that do not pass through another destination. They are enumerated once per scenario, over every edge
whether open or not; which of them are usable at a given time (all edges open, group allowed to use every
mode) is a mask recomputed only when a policy opens or closes an edge.

The enumeration is bounded: it stops with a `ScenarioError` as soon as it has found more than `MAX_PATHS`
paths, or has tried to extend partial paths more than `MAX_EXTENSIONS` times, so its time and memory are bounded
by these limits and not by the number of paths the network holds. (A partial path is extended only to nodes from
which a destination can still be reached within the remaining edges, yet in a densely connected network most
extensions still end in dead ends: nodes the path has already visited.)
"""

from __future__ import annotations

from dataclasses import dataclass

from collections import deque
from collections.abc import Iterable

import networkx as nx
import numpy as np

from sim.errors import ScenarioError
from sim.scenario.schema import MODES, Scenario

MODE_BIT = {m: 1 << i for i, m in enumerate(MODES)}
MAX_PATHS = 20_000  # candidate paths over all origins
MAX_EXTENSIONS = 2_000_000  # edges the search may try to add to a partial path, over all origins


@dataclass(frozen=True)
class CandidatePath:
    """One origin -> destination path: edge indices in order, the transit nodes it waits in, its route."""

    origin: int
    edges: tuple[int, ...]
    nodes: tuple[int, ...]  # node indices visited after each edge (len == len(edges))
    route: int
    mode_mask: int


class RouteGraph:
    """Static structure of the network: indices, the networkx graph and every candidate path. Raises
    ScenarioError (key `network.max_path_edges`) when the network has too many paths (see the module doc)."""

    def __init__(self, scenario: Scenario):
        net = scenario.network
        self.node_ids: list[str] = [n.id for n in net.nodes]
        self.edge_ids: list[str] = [e.id for e in net.edges]
        self.node_index = {n: i for i, n in enumerate(self.node_ids)}
        self.edge_index = {e: i for i, e in enumerate(self.edge_ids)}
        self.node_kind = [n.kind for n in net.nodes]
        self.edge_from = np.array([self.node_index[e.from_] for e in net.edges], dtype=np.int64)
        self.edge_to = np.array([self.node_index[e.to] for e in net.edges], dtype=np.int64)
        self.edge_mode = [e.mode for e in net.edges]
        self.graph = nx.MultiDiGraph(name=scenario.name)
        for n in net.nodes:
            attrs: dict[str, str | float] = {"kind": n.kind, "label": n.label or n.id}
            if n.lon is not None and n.lat is not None:
                attrs.update(lon=n.lon, lat=n.lat)
            self.graph.add_node(n.id, **attrs)
        for e in net.edges:
            self.graph.add_edge(e.from_, e.to, key=e.id, id=e.id, mode=e.mode, duration=e.duration, cost=e.cost)
        self.paths: list[CandidatePath] = []
        self.routes: list[str] = []
        self._enumerate(scenario)
        by_origin: dict[int, list[int]] = {}
        for i, p in enumerate(self.paths):
            by_origin.setdefault(p.origin, []).append(i)
        self.paths_by_origin: dict[int, np.ndarray] = {o: np.array(v, dtype=np.int64) for o, v in by_origin.items()}
        self.path_mode_mask = np.array([p.mode_mask for p in self.paths], dtype=np.int64)
        self.max_legs = max((len(p.edges) for p in self.paths), default=0)  # edges of the longest candidate path

    def _enumerate(self, scenario: Scenario) -> None:
        net = scenario.network
        destinations = {n.id for n in net.nodes if n.kind == "destination"}
        origins = [n.id for n in net.nodes if n.kind == "origin"]
        edge_route = {e.id: e.route for e in net.edges}
        route_index: dict[str, int] = {}
        for origin, epath in candidate_edge_paths(self.graph, origins, destinations, net.max_path_edges):
            ids = tuple(k for _, _, k in epath)
            label = next((edge_route[k] for k in ids if edge_route[k]), None) or ">".join(ids)
            r = route_index.setdefault(label, len(route_index))
            mask = 0
            for edge in epath:
                mask |= MODE_BIT[self.graph.edges[edge]["mode"]]
            self.paths.append(CandidatePath(
                origin=self.node_index[origin],
                edges=tuple(self.edge_index[k] for k in ids),
                nodes=tuple(self.node_index[v] for _, v, _ in epath),
                route=r,
                mode_mask=mask,
            ))
        self.routes = list(route_index)

    def allowed_paths(self, origin: int, modes_mask: int) -> np.ndarray:
        """Indices of candidate paths from `origin` that use only the allowed modes."""
        idx = self.paths_by_origin.get(origin)
        if idx is None:
            return np.empty(0, dtype=np.int64)
        return idx[(self.path_mode_mask[idx] & ~modes_mask) == 0]


def modes_mask(modes: Iterable[str]) -> int:
    mask = 0
    for m in modes:
        mask |= MODE_BIT[m]
    return mask


def hops_to_destination(graph: nx.MultiDiGraph, destinations: set[str]) -> dict[str, int]:
    """Fewest edges from each node to a destination, not passing through another destination (destinations
    0; nodes that reach none are absent). A breadth-first search backwards from the destinations."""
    dist = {d: 0 for d in destinations if d in graph}
    queue = deque(dist)
    while queue:
        w = queue.popleft()
        for u in graph.predecessors(w):
            if u not in dist:
                dist[u] = dist[w] + 1
                queue.append(u)
    return dist


def candidate_edge_paths(graph: nx.MultiDiGraph, origins: list[str], destinations: set[str], cutoff: int, *,
                         max_paths: int = MAX_PATHS, max_extensions: int = MAX_EXTENSIONS) -> list[tuple[str, list]]:
    """(origin, edge path) for every simple edge path of at most `cutoff` edges from each origin in turn to the
    first destination it reaches, in depth-first order of `graph.out_edges` (deterministic).

    A partial path is extended to a node only if a destination can still be reached within the remaining edges
    (by `hops_to_destination`, a lower bound). Every extension tried counts against `max_extensions` and every
    path found against `max_paths`; past either limit a ScenarioError (key `network.max_path_edges`) says how
    far the search got, so the work is bounded by the limits, never by the number of paths.
    """
    dist = hops_to_destination(graph, destinations)
    # Out-edges worth trying from each node: to a destination, or to a node that reaches one at all.
    useful = {u: [(u, v, k) for _, v, k in graph.out_edges(u, keys=True) if v in dist] for u in graph}
    out: list[tuple[str, list]] = []
    extensions = 0
    for origin in origins:
        if dist.get(origin, cutoff + 1) > cutoff:
            continue
        path: list[tuple[str, str, str]] = []
        visited = {origin}
        stack = [iter(useful[origin])]
        while stack:
            edge = next(stack[-1], None)
            if edge is None:
                stack.pop()
                if path:
                    visited.discard(path.pop()[1])
                continue
            extensions += 1
            if extensions > max_extensions:
                raise _limit_error(cutoff, len(out), max_paths, f"after trying {max_extensions:,} extensions of "
                                   "partial paths, most of them dead ends,")
            v = edge[1]
            if v in visited:
                continue
            if v in destinations:
                out.append((origin, path + [edge]))
                if len(out) > max_paths:
                    raise _limit_error(cutoff, len(out), max_paths, "")
                continue
            if len(path) + 1 + dist[v] > cutoff:
                continue
            path.append(edge)
            visited.add(v)
            stack.append(iter(useful[v]))
    return out


def _limit_error(cutoff: int, found: int, max_paths: int, why: str) -> ScenarioError:
    stopped = f"stopped {why}" if why else "stopped"
    return ScenarioError(
        f"too many candidate paths: the search {stopped} with {found:,} paths found; at most {max_paths:,} are "
        f"allowed. Lower network.max_path_edges (now {cutoff}), or use fewer parallel edges (edges with the same "
        "from and to) or fewer interconnected transit nodes", key="network.max_path_edges")
