"""The route graph: a networkx MultiDiGraph built from the scenario, and its candidate paths.

Candidate paths are all simple edge paths from an origin to a destination with at most `max_path_edges`
edges that do not pass through another destination. They are enumerated once per scenario, over every edge
whether open or not; which of them are usable at a given time (all edges open, group allowed to use every
mode) is a mask recomputed only when a policy opens or closes an edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from sim.scenario import MODES, Scenario

MODE_BIT = {m: 1 << i for i, m in enumerate(MODES)}


@dataclass(frozen=True)
class CandidatePath:
    """One origin -> destination path: edge indices in order, the transit nodes it waits in, its route."""

    origin: int
    edges: tuple[int, ...]
    nodes: tuple[int, ...]  # node indices visited after each edge (len == len(edges))
    route: int
    mode_mask: int


class RouteGraph:
    """Static structure of the network: indices, the networkx graph and every candidate path."""

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
            attrs = {"kind": n.kind, "label": n.label or n.id}
            if n.lon is not None and n.lat is not None:
                attrs.update(lon=n.lon, lat=n.lat)
            self.graph.add_node(n.id, **attrs)
        for e in net.edges:
            self.graph.add_edge(e.from_, e.to, key=e.id, id=e.id, mode=e.mode, duration=e.duration, cost=e.cost)
        self.paths: list[CandidatePath] = []
        self.routes: list[str] = []
        self._enumerate(scenario)
        self.paths_by_origin: dict[int, np.ndarray] = {}
        for i, p in enumerate(self.paths):
            self.paths_by_origin.setdefault(p.origin, []).append(i)
        self.paths_by_origin = {o: np.array(v, dtype=np.int64) for o, v in self.paths_by_origin.items()}
        self.path_mode_mask = np.array([p.mode_mask for p in self.paths], dtype=np.int64)
        self.max_legs = max((len(p.edges) for p in self.paths), default=0)  # edges of the longest candidate path

    def _enumerate(self, scenario: Scenario) -> None:
        net = scenario.network
        destinations = {n.id for n in net.nodes if n.kind == "destination"}
        edge_route = {e.id: e.route for e in net.edges}
        route_index: dict[str, int] = {}
        for origin in (n.id for n in net.nodes if n.kind == "origin"):
            for epath in _edge_paths(self.graph, origin, destinations, net.max_path_edges):
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

    def write_graphml(self, path: str | Path) -> None:
        nx.write_graphml(self.graph, str(path))


def modes_mask(modes: list[str]) -> int:
    mask = 0
    for m in modes:
        mask |= MODE_BIT[m]
    return mask


def _edge_paths(graph: nx.MultiDiGraph, origin: str, destinations: set[str], cutoff: int):
    """Simple edge paths origin -> any destination, stopping at the first destination reached (deterministic)."""
    out = []

    def extend(node: str, visited: set[str], path: list):
        if len(path) >= cutoff:
            return
        for _, v, k in graph.out_edges(node, keys=True):
            if v in visited:
                continue
            step = path + [(node, v, k)]
            if v in destinations:
                out.append(step)
            else:
                extend(v, visited | {v}, step)

    extend(origin, {origin}, [])
    return out
