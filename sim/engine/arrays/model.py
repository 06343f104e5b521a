"""ArrayModel: the model of the Mesa engine with the people on the way as rows of arrays (`MigrantTable`).

Everything that is not a migrant (policies, what people know, departures, brokers' sales, repeat attempts, the
initial stock's paths, the ledger) is `sim.engine.core.EngineCore`'s, the same code the Mesa engine runs. The
journey (docs/model.md §5, §14) is the Mesa agent's (`sim.engine.mesa.agents.Migrant`), on batches of rows: each
step, the rows with an event due are handled together by kind of event, in vectorised numpy,

    crossings ending (CROSS)  -> the leg's keyed uniform against the edge's outcome table; those who pass reach a node
    waits ending (LEAVE)      -> move on, join the broker queue, or wait for a closed edge to reopen
    arrests (ARREST)          -> repatriated

and everyone an event sends on in the same step (a crossing passed, a border node passed through, a wait over) is
handled in the same batch. Within a step the order of events matters to nothing but the order of joining a broker
queue, which is by person index in both engines (`EngineCore.flush_joins`), so the two engines give the same files
byte for byte (tests/test_docking.py). The step is that of `sim.engine.mesa.model.BorderModel.step`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from sim.api_checks import callback_argument
from sim.engine.arrays.homes import home_population
from sim.engine.arrays.table import ARREST, BLOCKED, CROSS, FREE, LEAVE, NEVER, QUEUED, MigrantTable
from sim.engine.arrays.waits import (due_step, python_max0, scaled_log_survival, threshold_time,
                                     unit_exponential)
from sim.engine.core import EngineCore, model_arguments
from sim.engine.ledger import RunResult
from sim.outcomes import (ARRIVED, CAUGHT, EDGE_CAUGHT, EDGE_COUNTS, EDGE_ENTERED, EDGE_KILLED, EDGE_PASSED,
                          EDGE_RETURNED, FLOWS, KILLED, REPATRIATED, RETURNED, SET_OUT)
from sim.rules.hazards import leave_probability, log_survival
from sim.rules.policies import active_sets, divergence_step, group_rates
from sim.rules.population import Population
from sim.rules.streams import ARREST as ARREST_SLOT
from sim.rules.streams import CROSS as CROSS_SLOT
from sim.rules.streams import LEAVE as LEAVE_SLOT
from sim.rules.streams import SLOTS_PER_LEG, journey_keys, journey_uniform_of
from sim.scenario.schema import Scenario
from sim.scenario.units import step_months


# _cross: outcome and edge count by the number of the crossing's thresholds u is not below (0 returned, 1 killed,
# 2 caught, 3 passed)
_OUTCOME_OF = np.array([RETURNED, KILLED, CAUGHT, -1], dtype=np.int64)
_EDGE_OF = np.array([EDGE_RETURNED, EDGE_KILLED, EDGE_CAUGHT, EDGE_PASSED], dtype=np.int64)


class ArrayModel(EngineCore):
    """One run of a scenario with migrants as rows of arrays (see the module doc)."""

    def _new_population(self, scenario: Scenario) -> Population:
        """The home population from the process's cache of identical ones (`sim.engine.arrays.homes`)."""
        return home_population(scenario, self.graph.node_index, self.key)

    def __init__(self, scenario: Scenario, rng: int | None = None, population: bool = True):
        scenario, seed, population = model_arguments(scenario, rng, population)
        self.setup_core(scenario, seed, population)
        g = self.graph
        self.tab = MigrantTable()
        n_paths, legs = len(g.paths), g.max_legs
        # path tables, padded by one column so that `leg` may point past the last edge (a destination reached)
        self.p_edges = np.zeros((max(n_paths, 1), legs + 1), dtype=np.int64)
        self.p_nodes = np.zeros((max(n_paths, 1), legs + 1), dtype=np.int64)
        for j, p in enumerate(g.paths):
            self.p_edges[j, : len(p.edges)] = p.edges
            self.p_nodes[j, : len(p.nodes)] = p.nodes
        self.p_origin = np.array([p.origin for p in g.paths], dtype=np.int64)
        self.is_dest = np.array(self.is_destination, dtype=bool)
        self.is_transit_arr = np.array(self.is_transit, dtype=bool)
        self.has_queue = np.array([q is not None for q in self.queues], dtype=bool)
        self.may_hold_arr = np.array(self.may_hold, dtype=bool)
        # per group x sex (0 men, 1 women): dwell scale, savings per step, arrest scale (`transit`)
        tr = np.array(self.group_transit, dtype=np.float64).reshape(len(self.group_transit), 2, 3)
        self.dwell_scale_gf, self.savings_gf, self.arrest_scale_gf = tr[..., 0], tr[..., 1], tr[..., 2]
        self.n_groups = len(scenario.population.groups)
        self.n_edges, self.n_nodes = len(g.edge_ids), len(g.node_ids)
        self._reset_counts()
        self.events = 0  # events handled (a crossing ending, a wait ending, an arrest, a migrant set out)
        # rows that took each branch of the journey's rules (what a scenario exercised; tests/test_docking.py)
        self.hits = dict.fromkeys(("queued", "bought", "blocked", "unblocked", "replanned", "same_step", "stock"), 0)
        for _n, queue in self.brokers:
            queue.on_compact = self._repositioned

    # ------------------------------------------------------------------------------------------- counts
    def _reset_counts(self) -> None:
        cells = len(self.graph.routes) * self.n_groups
        self._flows = np.zeros(cells * len(FLOWS), dtype=np.int64)
        self._female = np.zeros(cells, dtype=np.int64)
        self._stock_delta = np.zeros(cells, dtype=np.int64)
        self._edges = np.zeros(self.n_edges * len(EDGE_COUNTS), dtype=np.int64)
        self._repatriated = np.zeros(self.n_nodes, dtype=np.int64)
        self._abroad = 0  # steps since leaving home, summed over the step's arrivals

    def _count_edges(self, edges: np.ndarray, count: int) -> None:
        if edges.size:
            self._edges += np.bincount(edges * len(EDGE_COUNTS) + count, minlength=self._edges.size)

    def _cells(self, rows: np.ndarray) -> np.ndarray:
        return self.path_route[self.tab.path[rows]] * self.n_groups + self.tab.group[rows]

    # ------------------------------------------------------------------------------- hooks of EngineCore
    def _policies_changed(self, t: int) -> None:
        """Array copies of the network state's per-edge and per-node values, and the tables derived from them."""
        self.edge_cost_arr = np.array(self.edge_cost, dtype=np.float64)
        self.edge_duration_arr = np.array(self.edge_duration, dtype=np.int64)
        self.node_dwell_arr = np.array(self.node_dwell, dtype=np.float64)
        self.node_geometric_arr = np.array(self.node_geometric, dtype=bool)
        self.node_log_free_arr = np.array(self.node_log_free, dtype=np.float64)
        self.waits_at_arr = np.array(self.waits_at, dtype=bool)
        self.leave_rate = self._leave_rates(self.node_dwell, self.node_log_stay)
        # c_i of a passage bought before each leg of each path (EngineCore.onward_cost), for the broker queues
        self.onward = np.zeros(self.p_edges.shape)
        if self.broker_nodes:
            for j, p in enumerate(self.graph.paths):
                for leg in range(len(p.edges)):
                    self.onward[j, leg] = self.onward_cost(p.nodes, p.edges, leg)

    def _leave_rates(self, dwell: list[float], log_stay: list[float] | None) -> np.ndarray:
        """(N, G, 2) rate of the leave threshold of a geometric wait, -log(1 - 1 / (D x)), per node and the dwell
        scale x of each group and sex (as `Migrant._schedule_wait`; `log_stay` the unscaled ones, or None)."""
        out = np.zeros((len(dwell), self.n_groups, 2))
        for n, d in enumerate(dwell):
            for g in range(self.n_groups):
                for f in range(2):
                    x = float(self.dwell_scale_gf[g, f])
                    out[n, g, f] = (-log_stay[n] if log_stay is not None and x == 1.0
                                    else -log_survival(leave_probability(d * x)))
        return out

    def _replan_waits(self, t: int, nodes: list[int], old_hazard: list[float], old_dwell: list[float]) -> None:
        """`Migrant.replan_wait` for everyone stopped at `nodes`: the thresholds are spent at the old rates up to
        step t - 1, the rest at the new ones."""
        tab = self.tab
        n = tab.n
        rows = np.flatnonzero(tab.alive[:n] & np.isin(tab.waiting_at[:n], nodes))
        if rows.size == 0:
            return
        self.hits["replanned"] += rows.size
        since = t - 1
        steps = since - tab.wait_since[rows].astype(np.int64)
        upd = steps > 0
        if upd.any():
            with np.errstate(invalid="ignore"):  # inf - inf is NaN: python_max0 makes it 0, as max(0.0, x)
                self._spend_old_rates(rows, steps, upd, old_hazard, old_dwell)
        tab.wait_since[rows] = since
        self._schedule_wait(rows)

    def _spend_old_rates(self, rows: np.ndarray, steps: np.ndarray, upd: np.ndarray, old_hazard: list[float],
                         old_dwell: list[float]) -> None:
        """E_a += steps x log(1 - h_old) x arrest scale, and for geometric waits E_l += steps x log(1 - 1 / (D_old
        x)), each clipped as max(0.0, E) (`Migrant.replan_wait`), for the rows with `upd`."""
        tab = self.tab
        node = tab.waiting_at[rows]
        g, f = tab.group[rows], tab.female[rows].astype(np.int64)
        old_log_free = np.array([log_survival(h) for h in old_hazard])
        e_a = tab.e_arrest[rows] + steps * scaled_log_survival(old_log_free[node], self.arrest_scale_gf[g, f])
        tab.e_arrest[rows] = np.where(upd, python_max0(e_a), tab.e_arrest[rows])
        geo = upd & self.node_geometric_arr[node]
        if geo.any():
            old_rate = -self._leave_rates(old_dwell, None)  # log(1 - 1 / (D_old x))
            e_l = tab.e_leave[rows] + steps * old_rate[node, g, f]
            tab.e_leave[rows] = np.where(geo, python_max0(e_l), tab.e_leave[rows])

    def _release_blocked(self, t: int, was_open: list[bool] | None) -> None:
        """Those held for an edge that reopened at step t move on, unless an arrest is due at t."""
        tab = self.tab
        n = tab.n
        rows = np.flatnonzero(tab.alive[:n] & (tab.stuck[:n] == BLOCKED))
        if rows.size == 0:
            return
        e = self.p_edges[tab.path[rows], tab.leg[rows]]
        go = self.edge_open_arr[e] & ~(tab.arrest_at[rows] <= t)
        if was_open is not None:
            go &= ~np.array(was_open, dtype=bool)[e]
        rows = rows[go]
        self.hits["unblocked"] += rows.size
        if rows.size:
            s = self.savings_gf[tab.group[rows], tab.female[rows].astype(np.int64)]
            self._move_on(rows, tab.means[rows] + s * (t - tab.arrived_at[rows].astype(np.int64)), t)

    def _joined(self, items: list, positions: np.ndarray) -> None:
        self.tab.queue_pos[np.array(items, dtype=np.int64)] = positions

    def _repositioned(self, items: list) -> None:
        self.tab.queue_pos[np.array(items, dtype=np.int64)] = np.arange(len(items))

    def _move_on_bought(self, items: list, means: np.ndarray, t: int) -> None:
        self.hits["bought"] += len(items)
        self._move_on(np.array(items, dtype=np.int64), means, t)

    # ---------------------------------------------------------------------------------------- the journey
    def _move_on(self, rows: np.ndarray, means: np.ndarray, t: int) -> None:
        """`Migrant.move_on`: leave the node at step t with `means` by the next edge."""
        tab = self.tab
        tab.means[rows] = means
        tab.waiting_at[rows] = -1
        tab.stuck[rows] = FREE
        tab.queue_pos[rows] = -1
        self._enter_edge(rows, t)

    def _enter_edge(self, rows: np.ndarray, t: int) -> None:
        """Start crossing edge `leg` at step t (paying its cost), or turn back if it is closed."""
        if rows.size == 0:
            return
        tab = self.tab
        e = self.p_edges[tab.path[rows], tab.leg[rows]]
        open_ = self.edge_open_arr[e]
        if not open_.all():
            self._count_edges(e[~open_], EDGE_RETURNED)
            self._finish(rows[~open_], t, RETURNED)
            rows, e = rows[open_], e[open_]
        self._count_edges(e, EDGE_ENTERED)
        tab.means[rows] -= self.edge_cost_arr[e]
        tab.action[rows] = CROSS
        tab.due[rows] = t + self.edge_duration_arr[e]

    def _cross(self, rows: np.ndarray, t: int) -> None:
        """Crossings ending at step t: the uniform of slot 3 leg against the edge's outcome table."""
        tab = self.tab
        leg = tab.leg[rows].astype(np.int64)
        path = tab.path[rows]
        e = self.p_edges[path, leg]
        u = journey_uniform_of(tab.jkey[rows], SLOTS_PER_LEG * leg + CROSS_SLOT)
        cdf = self.edge_cdf_arr[e]
        # the first of returned (u < cdf0), killed (< cdf2), caught (< cdf3) that holds, else passed: a table
        # lookup on the number of thresholds u is not below (cdf1 is skipped as in the agent's rule)
        k = (u >= cdf[:, 0]).view(np.uint8) + (u >= cdf[:, 2]).view(np.uint8) + (u >= cdf[:, 3]).view(np.uint8)
        self._edges += np.bincount(e * len(EDGE_COUNTS) + _EDGE_OF[k], minlength=self._edges.size)
        passed = k == 3
        if not passed.all():
            done = ~passed
            self._finish(rows[done], t, _OUTCOME_OF[k[done]])
        if passed.any():
            rows = rows[passed]
            nodes = self.p_nodes[path[passed], leg[passed]]
            tab.leg[rows] += 1
            self._reach(rows, nodes, t)

    def _reach(self, rows: np.ndarray, nodes: np.ndarray, t: int) -> None:
        """Reaching `nodes` at step t: arrive, wait, stop (brokers, a closed edge onward), or pass through."""
        tab = self.tab
        dest = self.is_dest[nodes]
        if dest.any():
            self._finish(rows[dest], t, ARRIVED)
            rows, nodes = rows[~dest], nodes[~dest]
        if rows.size == 0:
            return
        wait = self.waits_at_arr[nodes]
        nxt = self.p_edges[tab.path[rows], tab.leg[rows]]
        hold = ~wait & self.may_hold_arr[nodes] & (self.has_queue[nodes]
                                                   | (self.is_transit_arr[nodes] & ~self.edge_open_arr[nxt]))
        go = ~wait & ~hold
        if wait.any():
            tab.waiting_at[rows[wait]] = nodes[wait]
            self._start_wait(rows[wait], t, 0)
        if hold.any():
            tab.waiting_at[rows[hold]] = nodes[hold]
            self._start_wait(rows[hold], t, 0, hold=True)
        if go.any():
            self._enter_edge(rows[go], t)

    def _start_wait(self, rows: np.ndarray, t: int, waited, hold: bool = False) -> None:
        """`Migrant.start_wait`: thresholds from the uniforms of the leg just crossed; a fixed dwell w sets the
        leaving step t + max(0, round(w x) - waited); with `hold` the wait is over at once."""
        tab = self.tab
        slot = SLOTS_PER_LEG * (tab.leg[rows].astype(np.int64) - 1)
        jkey = tab.jkey[rows]
        tab.e_arrest[rows] = unit_exponential(journey_uniform_of(jkey, slot + ARREST_SLOT))
        tab.e_leave[rows] = unit_exponential(journey_uniform_of(jkey, slot + LEAVE_SLOT))
        tab.wait_since[rows] = t
        tab.arrived_at[rows] = t
        if hold:
            self._wait_over(rows, t)
            return
        node = tab.waiting_at[rows]
        fixed = ~self.node_geometric_arr[node]
        if fixed.any():
            r = rows[fixed]
            x = self.dwell_scale_gf[tab.group[r], tab.female[r].astype(np.int64)]
            w = np.asarray(waited) if np.ndim(waited) == 0 else np.asarray(waited)[fixed]
            tab.leave_at[r] = t + np.maximum(0.0, np.round(self.node_dwell_arr[node[fixed]] * x) - w)
        self._schedule_wait(rows)

    def _wait_over(self, rows: np.ndarray, t: int) -> None:
        """`Migrant.wait_over`: at a broker node join its queue; before a closed edge wait for it to reopen;
        otherwise move on (with the savings of the wait)."""
        if rows.size == 0:
            return
        tab = self.tab
        node = tab.waiting_at[rows]
        e = self.p_edges[tab.path[rows], tab.leg[rows]]
        queued = self.has_queue[node]
        go = ~queued & self.edge_open_arr[e]
        if go.any():
            r = rows[go]
            s = self.savings_gf[tab.group[r], tab.female[r].astype(np.int64)]
            tab.means[r] = np.where(s != 0.0, tab.means[r] + s * (t - tab.arrived_at[r].astype(np.int64)),
                                    tab.means[r])
            tab.waiting_at[r] = -1
            self._enter_edge(r, t)
        stop = ~go
        if not stop.any():
            return
        if queued.any():
            r = rows[queued]
            s = self.savings_gf[tab.group[r], tab.female[r].astype(np.int64)]
            tab.stuck[r] = QUEUED
            self.hits["queued"] += r.size
            self.join_queue_many(node[queued], tab.person[r], r, tab.means[r] - s * tab.arrived_at[r], s,
                                 self.onward[tab.path[r], tab.leg[r]], e[queued])
        tab.stuck[rows[stop & ~queued]] = BLOCKED
        self.hits["blocked"] += int(np.count_nonzero(stop & ~queued))
        self._schedule_wait(rows[stop])

    def _schedule_wait(self, rows: np.ndarray) -> None:
        """`Migrant._schedule_wait`: arrest at wait_since + floor(E_a / lambda_a) + 1, or leaving (fixed:
        leave_at; geometric: wait_since + floor(E_l / lambda_l) + 1), whichever comes first (arrest wins a tie);
        queued or held, only an arrest."""
        tab = self.tab
        node = tab.waiting_at[rows]
        g, f = tab.group[rows], tab.female[rows].astype(np.int64)
        since = tab.wait_since[rows].astype(np.int64)
        rate = -scaled_log_survival(self.node_log_free_arr[node], self.arrest_scale_gf[g, f])
        arrest_at = since + threshold_time(tab.e_arrest[rows], rate)
        tab.arrest_at[rows] = arrest_at
        stuck = tab.stuck[rows] != FREE
        geo = ~stuck & self.node_geometric_arr[node]
        if geo.any():
            r = rows[geo]
            tab.leave_at[r] = since[geo] + threshold_time(tab.e_leave[r], self.leave_rate[node[geo], g[geo], f[geo]])
        leave_at = tab.leave_at[rows]
        arrest = stuck | (arrest_at <= leave_at)
        tab.action[rows] = np.where(arrest, ARREST, LEAVE)
        tab.due[rows] = due_step(np.where(arrest, arrest_at, leave_at))

    def _finish(self, rows: np.ndarray, t: int, outcome: int | np.ndarray) -> None:
        """`Migrant._finish`: leave the queue if queued, count the outcome (and the repatriation's node, an
        arrival's origin, the end of the attempt), free the rows. `outcome`: one for all rows, or one per row."""
        if rows.size == 0:
            return
        tab = self.tab
        queued = rows[tab.stuck[rows] == QUEUED]
        if queued.size:
            at = tab.waiting_at[queued]
            for n in np.unique(at).tolist():
                queue = self.queues[n]
                assert queue is not None
                queue.leave_many(tab.queue_pos[queued[at == n]].astype(np.int64))
        each = np.ndim(outcome) > 0
        if each or outcome == REPATRIATED:
            rep = rows if not each else rows[outcome == REPATRIATED]
            if rep.size:
                self._repatriated += np.bincount(tab.waiting_at[rep], minlength=self.n_nodes)
        path = tab.path[rows]
        cells = self.path_route[path] * self.n_groups + tab.group[rows]
        self._flows += np.bincount(cells * len(FLOWS) + outcome, minlength=self._flows.size)
        self._stock_delta -= np.bincount(cells, minlength=self._stock_delta.size)
        if each or outcome == ARRIVED:
            arrived = tab.female[rows] if not each else tab.female[rows] & (outcome == ARRIVED)
            if arrived.any():  # women who arrived
                self._female += np.bincount(cells[arrived], minlength=self._female.size)
            paths = path if not each else path[outcome == ARRIVED]
            came = rows if not each else rows[outcome == ARRIVED]
            self._abroad += int(t * came.size - tab.left_home[came].sum(dtype=np.int64))
            if paths.size:
                origins = np.bincount(self.p_origin[paths], minlength=self.n_nodes)
                for o in np.flatnonzero(origins).tolist():
                    self.arrived_from[o] += int(origins[o])
        if self.ledger.persons is not None:
            self.attempts_ended(tab.person[rows].astype(np.int64), self.path_route[path],
                                tab.group[rows].astype(np.int64),
                                np.asarray(outcome) if each else np.full(rows.size, outcome), t)
        tab.stuck[rows] = FREE
        tab.waiting_at[rows] = -1
        tab.release(rows)

    # ----------------------------------------------------------------------------------------------- step
    def _events(self, t: int) -> None:
        """Every event due at step t, in batches by kind; events they schedule for t are handled too."""
        tab = self.tab
        first = True
        while True:
            rows = np.flatnonzero(tab.due[: tab.n] == t)
            if rows.size == 0:
                return
            if not first:
                self.hits["same_step"] += rows.size
            first = False
            self.events += rows.size
            tab.due[rows] = NEVER
            action = tab.action[rows]
            cross = rows[action == CROSS]
            if cross.size:
                self._cross(cross, t)
            self._wait_over(rows[action == LEAVE], t)
            self._finish(rows[action == ARREST], t, REPATRIATED)

    def _launch(self, persons: np.ndarray, paths: np.ndarray, t: int) -> None:
        """Persons setting out at step t on `paths`: new rows, counted, entering their first edge."""
        pop = self.population
        assert pop is not None
        tab = self.tab
        rows = tab.alloc(persons.size)
        self.events += rows.size
        tab.person[rows] = persons
        tab.t0[rows] = t
        tab.left_home[rows] = t
        tab.jkey[rows] = journey_keys(self.key, persons, t)
        tab.path[rows] = paths
        tab.leg[rows] = 0
        tab.group[rows] = pop.group[persons]
        tab.female[rows] = pop.female[persons]
        tab.means[rows] = pop.means[persons].astype(np.float64)
        tab.waiting_at[rows] = -1
        tab.stuck[rows] = FREE
        tab.queue_pos[rows] = -1
        cells = self._cells(rows)
        self._flows += np.bincount(cells * len(FLOWS) + SET_OUT, minlength=self._flows.size)
        self._stock_delta += np.bincount(cells, minlength=self._stock_delta.size)
        self._enter_edge(rows, t)

    def _place_stock(self) -> None:
        """Step 0: the initial stock waits at its nodes on the paths `EngineCore.stock_paths` chose, having already
        waited round(a / step) steps (`BorderModel._place_stock`)."""
        sd, persons = self._stock, self._stock_persons
        assert sd is not None and self.ledger.persons is not None
        chosen = self.stock_paths()
        tab = self.tab
        rows = tab.alloc(persons.size)
        self.hits["stock"] += rows.size
        node = sd.node.astype(np.int64)
        tab.person[rows] = persons
        tab.t0[rows] = 0
        tab.left_home[rows] = -np.round(sd.waited / step_months(self.spec.time.step)).astype(np.int32)
        tab.jkey[rows] = journey_keys(self.key, persons, 0)
        tab.path[rows] = chosen
        tab.leg[rows] = np.argmax(self.p_nodes[chosen] == node[:, None], axis=1) + 1
        tab.group[rows] = sd.group
        tab.female[rows] = sd.female
        tab.means[rows] = sd.means.astype(np.float64)
        tab.waiting_at[rows] = -1
        tab.stuck[rows] = FREE
        tab.queue_pos[rows] = -1
        cells = self._cells(rows)
        self._stock_delta += np.bincount(cells, minlength=self._stock_delta.size)
        self.ledger.persons.add("initial_stock", self.path_route[chosen], sd.group.astype(np.int64))
        wait = self.waits_at_arr[node]
        nxt = self.p_edges[chosen, tab.leg[rows]]
        hold = ~wait & self.may_hold_arr[node] & (self.has_queue[node]
                                                  | (self.is_transit_arr[node] & ~self.edge_open_arr[nxt]))
        if wait.any():
            tab.waiting_at[rows[wait]] = node[wait]
            waited = np.round(sd.waited[wait] / step_months(self.spec.time.step))
            self._start_wait(rows[wait], 0, waited)
        if hold.any():
            tab.waiting_at[rows[hold]] = node[hold]
            self._start_wait(rows[hold], 0, 0, hold=True)
        go = ~wait & ~hold
        if go.any():
            self._enter_edge(rows[go], 0)

    def step(self, t: int) -> None:
        """Step t, in the order of `BorderModel.step`."""
        self.t = t
        self._apply_policies(t)
        self._update_knowledge(t)
        if t == 0 and self._stock is not None:
            self._place_stock()
        self._events(t)
        if self.broker_nodes:
            self._sell(t)
        if self._releases:
            self._release(t)
        if self.population is not None:
            persons, paths = self.decide_departures(t)
            if persons.size:
                self._launch(persons, paths, t)
        self.ledger.add_counts(self._flows, self._female, self._stock_delta, self._edges, self._repatriated,
                               self._abroad)
        self._reset_counts()
        self.close_step(t)

    def run(self, progress: Callable[[int, int], None] | None = None, start: int = 0) -> RunResult:
        """Take steps start, start + 1, ... to the end of the horizon (steps before `start` must have been taken:
        a fork); `progress(done, total)` is called after each step."""
        total = len(self.dates)
        for t in range(start, total):
            self.step(t)
            if progress is not None:
                progress(t + 1, total)
        return self.result()

    def fork(self, scenario: Scenario, t: int) -> ArrayModel:
        """A copy of this run after its steps 0..t-1 that takes the next steps under `scenario`: the state so far
        (people at home and on the way, queues, what people know, the ledger) is copied, the policies in force and
        the departure rates from step t on are `scenario`'s. Exact (the run `ArrayModel(scenario)` would have
        given, file for file) because `scenario` differs from this run's scenario only in policies that are in
        force from step t or later (`sim.rules.policies.divergence_step`); ValueError otherwise."""
        if divergence_step(self.spec, scenario) < t:
            raise ValueError(f"cannot fork at step {t}: the scenarios differ before it")
        clone = copy.deepcopy(self)
        clone.spec = scenario
        clone.rates = group_rates(scenario, clone.dates)
        clone._active_sets = active_sets(scenario, clone.dates)
        return clone

    def bytes_per_migrant(self) -> int:
        """Bytes of the migrant table per row (its columns; the free-row stack and queues are extra)."""
        return self.tab.bytes_per_row()


def run(scenario: Scenario, seed: int | None = None,
        progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Run a scenario once with the array engine: the same signature and RunResult as `sim.engine.mesa.model.run`."""
    return ArrayModel(scenario, rng=seed).run(progress=callback_argument(progress))


__all__ = ["ArrayModel", "run"]
