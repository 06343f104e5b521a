"""Outcome counting (the only source of outputs), RunResult, and writing a run directory.

Counts are kept per step x route x group. Flows (`set_out`, `arrived`, `caught`, `killed`, `repatriated`,
`returned`) count events in the step; `in_transit` is the stock of people on the way at the end of the step.
Every person is accounted for at every step t:

    sum_{s<=t} set_out = sum_{s<=t} (arrived + caught + killed + repatriated + returned) + in_transit(t)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.outcomes import ARRIVED, EDGE_COUNTS, FLOWS, SET_OUT, TOTAL_KEYS
from sim.outputs import new_dir



class Ledger:
    """Counters filled by the model during a run.

    Events of the current step are counted in plain Python lists (cheaper per event than numpy scalars) and
    moved into the (T, R, G, ...) arrays when the step closes."""

    def __init__(self, n_steps: int, n_routes: int, n_groups: int, n_edges: int, n_nodes: int):
        self.shape = (n_routes, n_groups)
        self.flows = np.zeros((n_steps, n_routes, n_groups, len(FLOWS)), dtype=np.int64)
        self.arrived_female = np.zeros((n_steps, n_routes, n_groups), dtype=np.int64)
        self.in_transit = np.zeros((n_steps, n_routes, n_groups), dtype=np.int64)
        self._groups = n_groups
        self._step = [0] * (n_routes * n_groups * len(FLOWS))
        self._female = [0] * (n_routes * n_groups)
        self._stock = [0] * (n_routes * n_groups)
        self._edges = [0] * (n_edges * len(EDGE_COUNTS))
        self._repatriated = [0] * n_nodes

    def set_out(self, route: int, group: int) -> None:
        cell = route * self._groups + group
        self._step[cell * 6 + SET_OUT] += 1
        self._stock[cell] += 1

    def finish(self, route: int, group: int, outcome: int, female: bool) -> None:
        cell = route * self._groups + group
        self._step[cell * 6 + outcome] += 1
        self._stock[cell] -= 1
        if outcome == ARRIVED and female:
            self._female[cell] += 1

    def edge(self, edge: int, count: int) -> None:
        """Count one crossing event on an edge; `count` indexes EDGE_COUNTS."""
        self._edges[edge * 5 + count] += 1

    def repatriated(self, node: int) -> None:
        self._repatriated[node] += 1

    def close_step(self, t: int) -> None:
        r, g = self.shape
        self.flows[t] = np.array(self._step, dtype=np.int64).reshape(r, g, len(FLOWS))
        self.arrived_female[t] = np.array(self._female, dtype=np.int64).reshape(r, g)
        self.in_transit[t] = np.array(self._stock, dtype=np.int64).reshape(r, g)
        self._step = [0] * len(self._step)
        self._female = [0] * len(self._female)

    @property
    def edges(self) -> np.ndarray:
        """(E, 5) crossing counts in EDGE_COUNTS order."""
        return np.array(self._edges, dtype=np.int64).reshape(-1, len(EDGE_COUNTS))

    @property
    def repatriated_at(self) -> np.ndarray:
        return np.array(self._repatriated, dtype=np.int64)


@dataclass
class RunResult:
    """Everything a run produced: counts plus the labels needed to read them. Picklable and compact."""

    scenario_name: str
    seed: int
    scenario_sha256: str
    version: str
    dates: list[dt.date]
    routes: list[str]
    groups: list[str]
    edge_ids: list[str]
    node_ids: list[str]
    flows: np.ndarray
    arrived_female: np.ndarray
    in_transit: np.ndarray
    edges: np.ndarray
    repatriated_at: np.ndarray
    resolved_yaml: str = ""
    extra: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ summaries
    def _totals(self, axis_keep: int | None) -> dict | np.ndarray:
        """Sum of flows over time (and the other label axis), with final in_transit, as an (X, 7) array."""
        flows = self.flows.sum(axis=0)  # (R, G, F)
        stock = self.in_transit[-1]  # (R, G)
        if axis_keep is None:
            return np.concatenate([flows.sum(axis=(0, 1)), [stock.sum()]])[None, :]
        other = 1 - axis_keep
        return np.concatenate([flows.sum(axis=other), stock.sum(axis=other)[:, None]], axis=1)

    def totals(self) -> dict[str, int]:
        row = self._totals(None)[0]
        return {k: int(v) for k, v in zip(TOTAL_KEYS, row)}

    def by_route(self) -> dict[str, dict[str, int]]:
        arr = self._totals(0)
        return {r: {k: int(v) for k, v in zip(TOTAL_KEYS, arr[i])} for i, r in enumerate(self.routes)}

    def by_group(self) -> dict[str, dict[str, int]]:
        arr = self._totals(1)
        return {g: {k: int(v) for k, v in zip(TOTAL_KEYS, arr[i])} for i, g in enumerate(self.groups)}

    def years(self) -> np.ndarray:
        return np.array([d.year for d in self.dates])

    def arrivals_by_year(self) -> dict[str, int]:
        years = self.years()
        arrived = self.flows[..., ARRIVED].sum(axis=(1, 2))
        return {str(y): int(arrived[years == y].sum()) for y in sorted(set(years.tolist()))}

    def female_share_by_year(self) -> dict[str, float | None]:
        years = self.years()
        arrived = self.flows[..., ARRIVED].sum(axis=(1, 2))
        female = self.arrived_female.sum(axis=(1, 2))
        out = {}
        for y in sorted(set(years.tolist())):
            a = arrived[years == y].sum()
            out[str(y)] = round(float(female[years == y].sum() / a), 6) if a else None
        return out

    def by_edge(self) -> dict[str, dict[str, int]]:
        return {e: {k: int(v) for k, v in zip(EDGE_COUNTS, self.edges[i])} for i, e in enumerate(self.edge_ids)}

    def summary(self) -> dict:
        return {
            "totals": self.totals(),
            "by_route": self.by_route(),
            "by_group": self.by_group(),
            "arrivals_by_year": self.arrivals_by_year(),
            "female_share_by_year": self.female_share_by_year(),
            "by_edge": self.by_edge(),
            "repatriated_at": {n: int(v) for n, v in zip(self.node_ids, self.repatriated_at) if v},
            "provenance": {
                "scenario": self.scenario_name,
                "seed": self.seed,
                "scenario_sha256": self.scenario_sha256,
                "version": self.version,
                "steps": len(self.dates),
                "start": self.dates[0].isoformat(),
                "end": self.dates[-1].isoformat(),
            },
            **self.extra.get("summary", {}),  # keys of mechanisms switched on (BorderModel.knowledge_summary)
        }

    def timeseries(self) -> pd.DataFrame:
        """Tidy table: one row per date x route x group, flow columns, arrived_female, in_transit."""
        t, r, g = self.in_transit.shape
        ti, ri, gi = (a.ravel() for a in np.meshgrid(np.arange(t), np.arange(r), np.arange(g), indexing="ij"))
        data = {
            "date": pd.to_datetime(pd.Series(self.dates)).to_numpy()[ti],
            "route": pd.Categorical.from_codes(ri, categories=self.routes),
            "group": pd.Categorical.from_codes(gi, categories=self.groups),
        }
        flat = self.flows.reshape(t * r * g, len(FLOWS))
        for k, name in enumerate(FLOWS):
            data[name] = flat[:, k]
        data["arrived_female"] = self.arrived_female.ravel()
        data["in_transit"] = self.in_transit.ravel()
        return pd.DataFrame(data)

    def conservation_holds(self) -> bool:
        """Check the identity at every step and for every route x group."""
        cum = self.flows.cumsum(axis=0)
        lhs = cum[..., SET_OUT]
        rhs = cum[..., 1:].sum(axis=-1) + self.in_transit
        return bool(np.array_equal(lhs, rhs))


def write_run(result: RunResult, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write summary.json, timeseries.parquet and scenario.resolved.yaml atomically: into a temporary sibling
    directory first, renamed into place only when complete. An existing directory is replaced only with force,
    and only if it is a run directory bordersim made (`sim.outputs.claim_dir`)."""
    out = Path(out_dir)
    with new_dir(out, "run", force=force) as tmp:
        (tmp / "summary.json").write_text(json.dumps(result.summary(), indent=2) + "\n")
        result.timeseries().to_parquet(tmp / "timeseries.parquet", index=False)
        (tmp / "scenario.resolved.yaml").write_text(result.resolved_yaml)
    return out
