"""Outcome counting (the only source of outputs), RunResult, and writing a run directory.

Counts are kept per step x route x group. Flows (`set_out`, `arrived`, `caught`, `killed`, `repatriated`,
`returned`) count events in the step; `in_transit` is the stock of people on the way at the end of the step.
Every person is accounted for at every step t:

    sum_{s<=t} set_out = sum_{s<=t} (arrived + caught + killed + repatriated + returned) + in_transit(t)

With repeat attempts or an initial stock (docs/model.md section 7), flows count attempts and `PersonCounts`
tells persons from attempts: `initial_stock` (persons waiting at transit nodes at the start, a flow at step 0)
joins the left side above, and per group at every step

    sum first_set_out + sum initial_stock = sum (arrived + killed + retired) + in_transit + detained + home_again

while per route x group (route of the failed attempt) sum (caught + repatriated + returned) = sum (retired +
released) + detained.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.api_checks import bool_argument, path_argument
from sim.errors import UsageError
from sim.outcomes import (ARRIVED, CAUGHT, EDGE_COUNTS, FLOWS, KILLED, REPATRIATED, RETURNED, SET_OUT, SHARE_DECIMALS,
                          TOTAL_KEYS)
from sim.directories import RUN_FILES
from sim.outputs import new_dir
from sim.scenario.dates import step_dates
from sim.scenario.overrides import dump_scenario
from sim.scenario.schema import Scenario


PERSON_FLOWS = ("first_set_out", "initial_stock", "retired", "released")
PERSON_STOCKS = ("detained", "home_again")
PERSON_KEYS = PERSON_FLOWS + PERSON_STOCKS


class PersonCounts:
    """Counts that tell persons from attempts, per step x route x group (repeat attempts, initial stocks).

    Flows: `first_set_out` (persons setting out for the first time, by the route of that attempt),
    `initial_stock` (persons already on the way at the start, at step 0, by the route of their path), `retired`
    (failed attempts after which the person never tries again), `released` (persons back home after a failed
    attempt). Stocks at the end of the step: `detained` (failed, not yet home) and `home_again` (back home, not on
    the way again yet), both by the route of the failed attempt."""

    def __init__(self, n_steps: int, n_routes: int, n_groups: int):
        self._groups = n_groups
        self.series = {k: np.zeros((n_steps, n_routes, n_groups), dtype=np.int64) for k in PERSON_KEYS}
        self._step = {k: np.zeros(n_routes * n_groups, dtype=np.int64) for k in PERSON_FLOWS}
        self._stock = {k: np.zeros(n_routes * n_groups, dtype=np.int64) for k in PERSON_STOCKS}

    def add(self, name: str, routes, groups, k: int = 1) -> None:
        """Add k to flow or stock `name` at each (route, group) (arrays or ints; repeated cells add up)."""
        target = self._step[name] if name in self._step else self._stock[name]
        if isinstance(routes, int) and isinstance(groups, int):  # one event (a failed attempt)
            target[routes * self._groups + groups] += k
            return
        cells = np.asarray(routes, dtype=np.int64) * self._groups + np.asarray(groups, dtype=np.int64)
        np.add.at(target, cells, k)

    def close_step(self, t: int) -> None:
        for k, v in self._step.items():
            self.series[k][t] = v.reshape(self.series[k].shape[1:])
            v[:] = 0
        for k, v in self._stock.items():
            self.series[k][t] = v.reshape(self.series[k].shape[1:])


class Ledger:
    """Counters filled by the model during a run.

    Events of the current step are counted in plain Python lists (cheaper per event than numpy scalars) and
    moved into the (T, R, G, ...) arrays when the step closes."""

    def __init__(self, n_steps: int, n_routes: int, n_groups: int, n_edges: int, n_nodes: int,
                 persons: bool = False):
        self.persons = PersonCounts(n_steps, n_routes, n_groups) if persons else None
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
        # time abroad (docs/model.md §7): per step, the steps since leaving home summed over that step's arrivals
        self.abroad = np.zeros(n_steps, dtype=np.int64)
        self._abroad = 0
        # brokers (docs/model.md §14), per step x node: the price asked, passages sold, people queued at the end
        self.fees = np.full((n_steps, n_nodes), np.nan)
        self.sold = np.zeros((n_steps, n_nodes), dtype=np.int64)
        self.queued = np.zeros((n_steps, n_nodes), dtype=np.int64)

    def set_out(self, route: int, group: int) -> None:
        cell = route * self._groups + group
        self._step[cell * 6 + SET_OUT] += 1
        self._stock[cell] += 1

    def initial(self, route: int, group: int) -> None:
        """A person of the initial stock is on the way at step 0 (not a set_out)."""
        assert self.persons is not None, "a ledger of persons is kept whenever there is an initial stock"
        self._stock[route * self._groups + group] += 1
        self.persons.add("initial_stock", route, group)

    def finish(self, route: int, group: int, outcome: int, female: bool, abroad: int) -> None:
        """An attempt ends in `outcome`; `abroad` is the steps since the person left home (counted for arrivals)."""
        cell = route * self._groups + group
        self._step[cell * 6 + outcome] += 1
        self._stock[cell] -= 1
        if outcome == ARRIVED:
            self._abroad += abroad
            if female:
                self._female[cell] += 1

    def edge(self, edge: int, count: int) -> None:
        """Count one crossing event on an edge; `count` indexes EDGE_COUNTS."""
        self._edges[edge * 5 + count] += 1

    def repatriated(self, node: int) -> None:
        self._repatriated[node] += 1

    def add_counts(self, flows: np.ndarray, female: np.ndarray, stock: np.ndarray, edges: np.ndarray,
                   repatriated: np.ndarray, abroad: int) -> None:
        """Add a batch of events of the current step at once (an engine that counts them in arrays): flat arrays
        laid out as `_step` (route x group x FLOWS), `_female` and `_stock` (route x group, `stock` the change of the
        stock in transit), `_edges` (edge x EDGE_COUNTS) and `_repatriated` (node); `abroad` the steps since
        leaving home summed over the batch's arrivals."""
        self._abroad += abroad
        for name, add in (("_step", flows), ("_female", female), ("_stock", stock), ("_edges", edges),
                          ("_repatriated", repatriated)):
            if add.any():
                setattr(self, name, (np.array(getattr(self, name), dtype=np.int64) + add).tolist())

    def brokers(self, t: int, node: int, fee: float, sold: int) -> None:
        """The price F(t) a broker node asked in step t and the passages it sold."""
        self.fees[t, node] = fee
        self.sold[t, node] = sold

    def close_step(self, t: int) -> None:
        r, g = self.shape
        self.flows[t] = np.array(self._step, dtype=np.int64).reshape(r, g, len(FLOWS))
        self.arrived_female[t] = np.array(self._female, dtype=np.int64).reshape(r, g)
        self.in_transit[t] = np.array(self._stock, dtype=np.int64).reshape(r, g)
        self.abroad[t] = self._abroad
        self._step = [0] * len(self._step)
        self._female = [0] * len(self._female)
        self._abroad = 0
        if self.persons is not None:
            self.persons.close_step(t)

    @property
    def edges(self) -> np.ndarray:
        """(E, 5) crossing counts in EDGE_COUNTS order."""
        return np.array(self._edges, dtype=np.int64).reshape(-1, len(EDGE_COUNTS))

    @property
    def repatriated_at(self) -> np.ndarray:
        return np.array(self._repatriated, dtype=np.int64)


def _mean_fee(fees: np.ndarray) -> float | None:
    """The mean price asked over a year's steps, rounded to cents; None (JSON null) when the price of some step was
    infinite (a scarcity price past the floating-point range, which no one could pay). Prices near the largest
    float are averaged without overflowing their sum."""
    with np.errstate(over="ignore"):
        mean = fees.mean()
    if not np.isfinite(mean) and np.isfinite(fees).all():
        mean = (fees / fees.size).sum()
    return round(float(mean), 2) if np.isfinite(mean) else None


def _same(a: object, b: object) -> bool:
    """a == b for a RunResult's fields: numpy arrays compared whole (same dtype, shape and elements), dicts and
    lists item by item, NaN equal to NaN throughout."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


@dataclass(repr=False, eq=False)
class RunResult:
    """Everything a run produced: counts plus the labels needed to read them. Picklable and compact. Two results
    are equal (`==`) when every field is: arrays element by element (NaN equal to NaN, dtype and shape too)."""

    scenario_name: str
    seed: int
    resolved: Scenario  # the scenario run, with the run's seed
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
    extra: dict = field(default_factory=dict)
    persons: dict[str, np.ndarray] | None = None  # PersonCounts.series, with repeat attempts or an initial stock
    # brokers (docs/model.md §14): the broker nodes' indices, and per step x node the price asked (NaN elsewhere),
    # passages sold and people queued at the end of the step; None/empty in a run without brokers
    broker_nodes: list[int] = field(default_factory=list)
    fees: np.ndarray | None = None
    sold: np.ndarray | None = None
    queued: np.ndarray | None = None
    # per step, the steps since leaving home summed over the step's arrivals, and the length of a step in years
    abroad: np.ndarray | None = None
    step_years: float = 1.0 / 12.0
    code_sha256: str = ""  # the code that made it (sim.provenance)

    def __repr__(self) -> str:
        """One line: scenario, seed, dates, whether whole, totals (the dataclass's repr printed every array and the
        whole scenario, about 25,000 characters for the toy)."""
        span = f"{self.dates[0]}..{self.dates[-1]}" if self.dates else "no steps"
        part = "" if self.whole else ", first steps only"
        steps = f"{len(self.dates)} step{'' if len(self.dates) == 1 else 's'}"
        return (f"<RunResult scenario {self.scenario_name!r} seed {self.seed}: {steps} {span}"
                f"{part}; {', '.join(f'{k} {v:,}' for k, v in self.totals().items())}>")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunResult):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self))

    @functools.cached_property
    def resolved_yaml(self) -> str:
        """The text of scenario.resolved.yaml (`dump_scenario` of the resolved scenario), made on first use: a
        sweep keeps outcomes only and never needs it (for Korea it takes about 0.1 s)."""
        return dump_scenario(self.resolved)

    @property
    def scenario_sha256(self) -> str:
        """sha256 of `resolved_yaml` (`sim.scenario.overrides.scenario_sha256`)."""
        return hashlib.sha256(self.resolved_yaml.encode()).hexdigest()

    # ------------------------------------------------------------------ summaries
    def _totals(self, axis_keep: int | None) -> dict | np.ndarray:
        """Sum of flows over time (and the other label axis), with final in_transit, as an (X, 7) array."""
        flows = self.flows.sum(axis=0)  # (R, G, F)
        stock = self.in_transit[-1]  # (R, G)
        if self.persons is not None:  # initial_stock after in_transit
            flows = np.concatenate([flows, stock[..., None]], axis=-1)
            stock = self.persons["initial_stock"].sum(axis=0)
        if axis_keep is None:
            return np.concatenate([flows.sum(axis=(0, 1)), [stock.sum()]])[None, :]
        other = 1 - axis_keep
        return np.concatenate([flows.sum(axis=other), stock.sum(axis=other)[:, None]], axis=1)

    def _total_keys(self) -> tuple[str, ...]:
        return TOTAL_KEYS + (("initial_stock",) if self.persons is not None else ())

    def totals(self) -> dict[str, int]:
        row = self._totals(None)[0]
        return {k: int(v) for k, v in zip(self._total_keys(), row)}

    def by_route(self) -> dict[str, dict[str, int]]:
        arr = self._totals(0)
        return {r: {k: int(v) for k, v in zip(self._total_keys(), arr[i])} for i, r in enumerate(self.routes)}

    def by_group(self) -> dict[str, dict[str, int]]:
        arr = self._totals(1)
        return {g: {k: int(v) for k, v in zip(self._total_keys(), arr[i])} for i, g in enumerate(self.groups)}

    def person_totals(self) -> dict[str, int] | None:
        """Persons, not attempts (None without repeat attempts or an initial stock): first_set_out,
        initial_stock, arrived, killed, retired (failed for good), released (back home, counted each time),
        in_transit, detained and home_again at the end; attempts (= totals.set_out)."""
        if self.persons is None:
            return None
        ps = self.persons
        out = {"first_set_out": int(ps["first_set_out"].sum()), "initial_stock": int(ps["initial_stock"].sum()),
               "arrived": int(self.flows[..., ARRIVED].sum()), "killed": int(self.flows[..., KILLED].sum()),
               "retired": int(ps["retired"].sum()), "released": int(ps["released"].sum()),
               "in_transit": int(self.in_transit[-1].sum()), "detained": int(ps["detained"][-1].sum()),
               "home_again": int(ps["home_again"][-1].sum()), "attempts": int(self.flows[..., SET_OUT].sum())}
        return out

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
            out[str(y)] = round(float(female[years == y].sum() / a), SHARE_DECIMALS) if a else None
        return out

    def repatriated_by_year(self) -> dict[str, int]:
        """Repatriations (arrested at a transit node and sent back) by year."""
        years = self.years()
        rep = self.flows[..., REPATRIATED].sum(axis=(1, 2))
        return {str(y): int(rep[years == y].sum()) for y in sorted(set(years.tolist()))}

    def arrivals_by_route_year(self) -> dict[str, dict[str, int]]:
        """Arrivals per route, by year."""
        years = self.years()
        arrived = self.flows[..., ARRIVED].sum(axis=2)  # (T, R)
        ys = sorted(set(years.tolist()))
        return {r: {str(y): int(arrived[years == y, i].sum()) for y in ys} for i, r in enumerate(self.routes)}

    def years_abroad_by_year(self) -> dict[str, float | None]:
        """Mean time abroad of the year's arrivals, in years: sum over arrivals of (arrival step - the step the
        person left home) x step length / arrivals; None in a year without arrivals. For a person of the initial
        stock, leaving home is `waited` before the start (docs/model.md §7)."""
        years = self.years()
        arrived = self.flows[..., ARRIVED].sum(axis=(1, 2))
        abroad = self.abroad if self.abroad is not None else np.zeros(len(self.dates), dtype=np.int64)
        out = {}
        for y in sorted(set(years.tolist())):
            a = arrived[years == y].sum()
            out[str(y)] = round(float(abroad[years == y].sum() * self.step_years / a), 6) if a else None
        return out

    def by_edge(self) -> dict[str, dict[str, int]]:
        return {e: {k: int(v) for k, v in zip(EDGE_COUNTS, self.edges[i])} for i, e in enumerate(self.edge_ids)}

    def brokers(self) -> dict[str, dict[str, dict[str, float | int | None]]]:
        """Per broker node, by year: `fee` (mean price asked over the year's steps, USD), `sold` (passages),
        `queued` (people queued at the end of the year's last step)."""
        if not self.broker_nodes or self.fees is None or self.sold is None or self.queued is None:
            return {}
        years = self.years()
        out = {}
        for n in self.broker_nodes:
            by_year: dict[str, dict[str, float | int | None]] = {}
            for y in sorted(set(years.tolist())):
                steps = np.flatnonzero(years == y)
                by_year[str(y)] = {"fee": _mean_fee(self.fees[steps, n]),
                                   "sold": int(self.sold[steps, n].sum()),
                                   "queued": int(self.queued[steps[-1], n])}
            out[self.node_ids[n]] = by_year
        return out

    @property
    def whole(self) -> bool:
        """The result covers its scenario's whole horizon (not a model stopped part way)."""
        return len(self.dates) == len(step_dates(self.resolved.time))

    def summary(self) -> dict:
        out = self._summary()
        persons = self.person_totals()
        if persons is not None:  # only with the mechanisms on: a run without them writes the same file as before
            out = {k: v for k, v in out.items() if k != "provenance"} | {"persons": persons,
                                                                         "provenance": out["provenance"]}
        if self.broker_nodes:  # likewise (docs/model.md §14)
            out = {k: v for k, v in out.items() if k != "provenance"} | {"brokers": self.brokers(),
                                                                         "provenance": out["provenance"]}
        return out

    def _summary(self) -> dict:
        return {
            "totals": self.totals(),
            "by_route": self.by_route(),
            "by_group": self.by_group(),
            "arrivals_by_year": self.arrivals_by_year(),
            "female_share_by_year": self.female_share_by_year(),
            "repatriated_by_year": self.repatriated_by_year(),
            "years_abroad_by_year": self.years_abroad_by_year(),
            "arrivals_by_route_year": self.arrivals_by_route_year(),
            "by_edge": self.by_edge(),
            "repatriated_at": {n: int(v) for n, v in zip(self.node_ids, self.repatriated_at) if v},
            "provenance": {
                "scenario": self.scenario_name,
                "seed": self.seed,
                "scenario_sha256": self.scenario_sha256,
                "version": self.version,
                "code_sha256": self.code_sha256,
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
        if self.persons is not None:
            for name in PERSON_KEYS:
                data[name] = self.persons[name].ravel()
        return pd.DataFrame(data)

    def conservation_holds(self) -> bool:
        """Check the identity at every step and for every route x group."""
        cum = self.flows.cumsum(axis=0)
        lhs = cum[..., SET_OUT]
        rhs = cum[..., 1:].sum(axis=-1) + self.in_transit
        if self.persons is None:
            return bool(np.array_equal(lhs, rhs))
        ps = {k: v.cumsum(axis=0) if k in PERSON_FLOWS else v for k, v in self.persons.items()}
        attempts = np.array_equal(lhs + ps["initial_stock"], rhs)
        failed = cum[..., CAUGHT] + cum[..., REPATRIATED] + cum[..., RETURNED]
        detention = np.array_equal(failed, ps["retired"] + ps["released"] + ps["detained"])
        persons = np.array_equal((ps["first_set_out"] + ps["initial_stock"]).sum(axis=1),  # per group
                                 (cum[..., ARRIVED] + cum[..., KILLED] + ps["retired"] + self.in_transit
                                  + ps["detained"] + ps["home_again"]).sum(axis=1))
        return bool(attempts and detention and persons)


def result_so_far(result: RunResult, steps: int) -> RunResult:
    """The result of a model stopped after its first `steps` steps (1 <= steps <= len(result.dates)), from a
    `result` whose per-step arrays span the whole horizon (zero after step `steps`) and whose cumulative counts
    (`edges`, `repatriated_at`) were taken when step `steps` ended: the per-step arrays, the persons' series and
    the dates cut to `steps`, the cumulative counts kept. Not a way to cut a finished run: its cumulative counts
    hold every step."""
    assert 1 <= steps <= len(result.dates), steps
    cut = {name: getattr(result, name)[:steps]
           for name in ("flows", "arrived_female", "in_transit", "fees", "sold", "queued", "abroad")
           if getattr(result, name) is not None}
    persons = None if result.persons is None else {k: v[:steps] for k, v in result.persons.items()}
    return dataclasses.replace(result, dates=result.dates[:steps], persons=persons, **cut)


def write_run(result: RunResult, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write summary.json, timeseries.parquet and scenario.resolved.yaml atomically: into a temporary sibling
    directory first, renamed into place only when complete. An existing directory is replaced only with force,
    and only if it is a run directory bordersim made (`sim.outputs.claim_dir`)."""
    if not isinstance(result, RunResult):
        raise UsageError(f"result: give the RunResult of sim.run, not {type(result).__name__}")
    if not result.whole:  # its files would claim a run of the scenario that was not made
        raise UsageError(f"result: the run stopped after {len(result.dates)} of the "
                         f"{len(step_dates(result.resolved.time))} steps of its horizon; write_run writes whole runs "
                         "(step the model to its end, or use sim.run)")
    out = path_argument(out_dir, "out_dir")
    bool_argument(force, "force")
    with new_dir(out, "run", RUN_FILES, force=force) as tmp:
        (tmp / "summary.json").write_text(json.dumps(result.summary(), indent=2) + "\n")
        result.timeseries().to_parquet(tmp / "timeseries.parquet", index=False)
        (tmp / "scenario.resolved.yaml").write_text(result.resolved_yaml)
    return out
