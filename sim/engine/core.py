"""What every engine of one run shares, whatever it makes of people on the way: `EngineCore`.

An engine (the Mesa engine, `sim.engine.mesa.model.BorderModel`; the array engine, `sim.engine.arrays`) is an
`EngineCore` plus its representation of migrants. The core holds the run's state that is not a migrant and applies
the rules of docs/model.md to it, so that both engines follow them by running the same code:

- set-up: the route graph, the step dates, the group rates, the ledger, the run key, the population at home, the
  initial stock (§10) and the broker queues (§14);
- policies (§6): `apply_policies` rebuilds the network state, the edge outcome table, the per-node rates and the
  path metrics, and tells the engine which nodes changed hazard or dwell (`_replan_waits`) and which edges reopened
  (`_release_blocked`);
- what people know (§11, §12): `_update_knowledge`;
- departures (§3): `block_bounds` and `decide_departures`, which returns who sets out on which path;
- the initial stock's paths (§10): `stock_paths`;
- brokers (§14): prices, path fees, the sale of each step (`sell`, the engine moves the buyers on) and the queue
  joins of a step, appended in increasing person index (`join_queue` collects them, `flush_joins` appends them);
- repeat attempts (§9): `attempts_ended` (per step, in a batch), `release`;
- the RunResult (`run_result`).

The engine supplies the journey itself and these hooks: `_replan_waits(t, nodes, old_hazard, old_dwell)` (those
waiting at nodes whose hazard or dwell changed), `_release_blocked(t, was_open)` (those held for edges that
reopened), `_joined(items, positions)` (where the step's queue joiners stand), `_move_on_bought(items, means, t)`
(the buyers of a sale move on) and, optionally, `_policies_changed(t)` (the network state was rebuilt).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.api_checks import MAX_SEED, bool_argument, integer_argument
from sim.engine.ledger import Ledger, RunResult
from sim.engine.queues import BrokerQueue
from sim.errors import UsageError
from sim.loading import checked_scenario
from sim.outcomes import ARRIVED, KILLED
from sim.rules.chain import chain_multiplier, scaled_rates
from sim.rules.choice import departure_probability, logit_choice, path_metrics, risk_free_bound, utilities
from sim.rules.hazards import edge_outcome_table, leave_probability, log_survival
from sim.rules.nested import nested_choice
from sim.rules.network import RouteGraph, modes_mask
from sim.rules.perception import (KINDS, lag_steps, outcome_counts, perceived_failures, route_truth, smoothing_weight,
                                  true_failures, update_perceived)
from sim.rules.policies import active_sets, group_rates, network_state
from sim.provenance import code_sha256, package_version
from sim.rules.population import ATTEMPTS_COUNTED, Population
from sim.rules.repeat import multiplier_bound, rate_multiplier, repeat_steps
from sim.rules.stocks import StockDraw, draw_stock, paths_through
from sim.rules.streams import CHOICE, STOCK_CHOICE, run_key, uniforms
from sim.scenario.dates import step_dates
from sim.scenario.schema import Scenario
from sim.scenario.units import step_months


def model_arguments(scenario: object, rng: object, population: object) -> tuple[Scenario, int, bool]:
    """What a model is built from, checked: (the scenario validated again from its values (`checked_scenario`:
    a Scenario changed with pydantic's `model_copy(update=...)` was never validated), the seed: `rng` if given (an
    integer in [0, MAX_SEED]) else the scenario's, whether to draw the home population: True or False). Anything
    else is a UsageError naming the argument; values the schema refuses are a ScenarioError naming the key."""
    if not isinstance(scenario, Scenario):
        raise UsageError(f"scenario: give a Scenario, e.g. sim.run(sim.load_scenario(PATH)), not "
                         f"{type(scenario).__name__}")
    scenario = checked_scenario(scenario)
    seed = scenario.seed if rng is None else integer_argument(rng, "rng", minimum=0, maximum=MAX_SEED)
    return scenario, seed, bool_argument(population, "population")


class EngineCore:
    """The state of a run that is not a migrant, and the rules that act on it (see the module doc)."""

    def setup_core(self, scenario: Scenario, seed: int, population: bool = True) -> None:
        self.spec = scenario
        self.seed = seed
        self.graph = RouteGraph(scenario)
        self.dates = step_dates(scenario.time)
        self.is_destination = [k == "destination" for k in self.graph.node_kind]
        self.group_modes = [modes_mask(g.modes) for g in scenario.population.groups]
        self.rates = group_rates(scenario, self.dates)
        self._active_sets = active_sets(scenario, self.dates)  # the policies in force at each step
        self.repeat_steps = (repeat_steps(scenario.repeat, step_months(scenario.time.step))
                             if scenario.repeat.enabled() else None)  # None: nobody tries again (the default)
        self.ledger = Ledger(len(self.dates), len(self.graph.routes), len(scenario.population.groups),
                             len(self.graph.edge_ids), len(self.graph.node_ids),
                             persons=self.repeat_steps is not None or bool(scenario.initial_stock))
        # Every draw is keyed by what it is for (sim.rules.streams): who lives at home, who sets out when, which path,
        # what happens on each leg. A change leaves every draw it does not touch as it was.
        self.key = run_key(seed)
        self.population = self._new_population(scenario) if population else None
        self._stock: StockDraw | None = None
        self._stock_persons = np.empty(0, dtype=np.int64)  # their indices in the population
        self._releases: dict[int, list[tuple[int, int, int]]] = {}  # step -> (person, route, group) back home
        self._max_attempts = 0
        if self.population is not None:
            self._setup_persons()
            self.population.freeze()  # who lives where, with what, is fixed from here on (shared by forks)
        self._active: tuple[int, ...] | None = None
        self.t = 0
        # Brokers and closures on the way (docs/model.md §14): a queue per broker node, and the paths' broker nodes
        # (for the fees in c_j).
        nodes = scenario.network.nodes
        self.queues = [BrokerQueue(i, n.brokers.fee_elasticity, n.brokers.fee_max, step_months(scenario.time.step))
                       if n.brokers else None for i, n in enumerate(nodes)]
        self.brokers = [(i, q) for i, q in enumerate(self.queues) if q is not None]  # (node, its queue)
        self.broker_nodes = [i for i, _q in self.brokers]
        self._joining: tuple[list, ...] = tuple([] for _ in range(7))  # columns of join_queue's arguments
        self.edge_open: list[bool] = []
        self.is_transit = [k == "transit" for k in self.graph.node_kind]
        self.may_hold = [q is not None or k for q, k in zip(self.queues, self.is_transit)]  # see holds_at
        self.fee_now = np.zeros(len(nodes))
        self.path_brokers = np.zeros((len(self.graph.paths), len(self.broker_nodes)))
        self.path_first_broker = np.full(len(self.graph.paths), -1, dtype=np.int64)  # leg reaching it, or -1
        for j, p in enumerate(self.graph.paths):
            for leg, n in enumerate(p.nodes):
                if self.queues[n] is not None:
                    self.path_brokers[j, self.broker_nodes.index(n)] = 1.0
                    if self.path_first_broker[j] < 0:
                        self.path_first_broker[j] = leg
        delta = step_months(scenario.time.step)
        self.group_transit = []  # per group: (dwell scale, savings per step, arrest scale) for men and for women
        for g in scenario.population.groups:
            tr = g.transit
            self.group_transit.append(((1.0, 0.0, 1.0), (1.0, 0.0, 1.0)) if tr is None else
                                      ((tr.dwell_scale.male, tr.savings.male * delta, tr.arrest_scale.male),
                                       (tr.dwell_scale.female, tr.savings.female * delta, tr.arrest_scale.female)))
        self._init_knowledge()

    def _new_population(self, scenario: Scenario) -> Population:
        """The run's home population (an engine may take it from a cache of identical ones)."""
        return Population(scenario, self.graph.node_index, self.key)

    # ------------------------------------------------------------------------------- what people know
    def _init_knowledge(self) -> None:
        """Switches and state of perception, the death weight, chain migration and nesting (all off by default)."""
        rc = self.spec.route_choice
        self.knows = rc.perception is not None or rc.death_weight is not None  # metrics carry per-kind risks
        self.path_route = np.array([p.route for p in self.graph.paths], dtype=np.int64)
        self.perceived_history: list[np.ndarray] = []  # p_r(s) for s = 0..t, (R, 3) each
        self._truth_of: object = None  # the network state _failures and _route_truth were computed for
        self._failures = self._route_truth = np.empty((0, len(KINDS)))
        if rc.perception is not None:
            delta = step_months(self.spec.time.step)
            self.perception_w = smoothing_weight(rc.perception.memory, delta)
            self.perception_lag = lag_steps(rc.perception.lag, delta)
        self.arrived_from = [0] * len(self.graph.node_ids)  # arrivals per origin node (both engines' finish)
        self.chain_mult: np.ndarray | None = None
        self.path_family: np.ndarray | None = None  # family of each path, when the nest scale is below 1
        self.nest_scale = 1.0 if rc.nest is None else rc.nest.scale
        if rc.nest is not None and rc.nest.scale < 1.0:
            fam_of = {r: ("family", f) for f, routes in rc.nest.families.items() for r in routes}
            names = [fam_of.get(label, ("route", label)) for label in self.graph.routes]  # a route not listed: its own
            index = {n: i for i, n in enumerate(dict.fromkeys(names))}
            self.path_family = np.array([index[names[p.route]] for p in self.graph.paths], dtype=np.int64)

    def _update_knowledge(self, t: int) -> None:
        """Once per step, after the policies: fold the outcomes of step t - 1 into the perceived risk per route,
        set the path metrics people weigh (perceived, with per-kind risks), and the chain multipliers from the
        arrivals before t. Does nothing when every such mechanism is off."""
        rc = self.spec.route_choice
        if self.knows:
            if self._truth_of is not self.state:  # the true risks change only with the network state
                self._truth_of = self.state
                self._failures = true_failures(self.graph, self.state, self.spec.hazards)
                self._route_truth = route_truth(self._failures, self.path_route, self.true_metrics.usable,
                                                len(self.graph.routes))
            failures, truth = self._failures, self._route_truth
            if rc.perception is not None:
                hist = self.perceived_history
                if not hist:
                    hist.append(truth)
                while len(hist) <= t:  # outcomes of step len - 1 are known at the end of that step
                    s = len(hist) - 1
                    hist.append(update_perceived(hist[-1], outcome_counts(self.ledger.flows[s]), self.perception_w))
                failures = perceived_failures(hist[max(0, t - self.perception_lag)], truth, failures, self.path_route)
                success = 1.0 - failures.sum(axis=1)
            else:
                success = self.true_metrics.success
            self.metrics = dataclasses.replace(self.true_metrics, success=success, killed=failures[:, 0],
                                               other=failures[:, 1] + failures[:, 2])
        chain = self.spec.population.chain
        if chain is not None:
            self.chain_mult = chain_multiplier(np.array(self.arrived_from), chain.weight, chain.scale, chain.form)

    # ------------------------------------------------------------------------------------------- policies
    def _apply_policies(self, t: int) -> None:
        """If the set of policies in force changed at step t: rebuild the network state and everything derived
        from it, then let the engine reschedule those waiting at nodes whose hazard or dwell changed
        (`_replan_waits`) and move on those held for edges that reopened (`_release_blocked`)."""
        active = self._active_sets[t]
        if active == self._active:
            return
        first = self._active is None
        self._active = active
        old_hazard: tuple[list[float], list[float]] | None = None if first else (self.node_hazard, self.node_dwell)
        st = network_state(self.spec, self.graph, active)
        self.state = st
        table = edge_outcome_table(st.controls, st.shoot_on_sight, self.spec.hazards)
        self.edge_cdf_arr = np.cumsum(table[:, :4], axis=1)
        self.edge_cdf = [tuple(row) for row in self.edge_cdf_arr.tolist()]
        was_open = None if first else self.edge_open
        self.edge_open = st.open.tolist()
        self.edge_open_arr = st.open.copy()
        self.edge_cost = st.cost.tolist()
        self.edge_duration = st.duration.tolist()
        self.node_hazard: list[float] = st.arrest_hazard.tolist()
        self.node_dwell: list[float] = st.dwell.tolist()
        self.node_geometric = st.geometric_dwell.tolist()
        self.node_log_free = [log_survival(h) for h in self.node_hazard]  # log(1 - h): arrest draws
        self.node_log_stay = [log_survival(leave_probability(d)) for d in self.node_dwell]  # leaving
        self.waits_at = [k == "transit" and (d >= 1 if g else round(d) >= 1)
                         for k, d, g in zip(self.graph.node_kind, self.node_dwell, self.node_geometric)]
        self.metrics = self.true_metrics = path_metrics(self.graph, st, self.spec)
        if self.broker_nodes:
            self._broker_metrics(st)
        self._strata: dict[tuple[int, int], np.ndarray] = {}
        self._policies_changed(t)
        if old_hazard is not None:  # not the first call: reschedule those waiting where hazard or dwell changed
            changed = [n for n in range(len(self.node_hazard))
                       if (old_hazard[0][n], old_hazard[1][n]) != (self.node_hazard[n], self.node_dwell[n])]
            if changed:
                self._replan_waits(t, changed, old_hazard[0], old_hazard[1])
            self._release_blocked(t, was_open)

    def _policies_changed(self, t: int) -> None:
        """Hook: the network state was rebuilt at step t (before any wait is replanned)."""

    def _replan_waits(self, t: int, nodes: list[int], old_hazard: list[float], old_dwell: list[float]) -> None:
        raise NotImplementedError

    def _release_blocked(self, t: int, was_open: list[bool] | None) -> None:
        raise NotImplementedError

    def holds_at(self, node: int, edge: int) -> bool:
        """Whether a person reaching `node` (which has no wait) must stop there before taking `edge`: the node has
        brokers, or it is a transit node and the edge is closed (closures on the way, docs/model.md §14)."""
        return self.queues[node] is not None or (self.is_transit[node] and not self.edge_open[edge])

    def onward_cost(self, nodes: tuple[int, ...], edges: tuple[int, ...], leg: int) -> float:
        """c_i of a passage bought before edge `leg`: the costs (now) of the edges from it to the next broker node
        or the destination, added in path order."""
        cost = 0.0
        for k in range(leg, len(edges)):
            cost += self.edge_cost[edges[k]]
            if self.queues[nodes[k]] is not None:
                break
        return cost

    # ------------------------------------------------------------------------------------------- brokers
    def _broker_metrics(self, st) -> None:
        """Base fees f(t), per-step capacities, the price F(t) of this step's sale, and the
        paths' money terms: c_j = edge costs + the current price at every broker node on the path; the amount
        needed at home is the cost of the legs up to the first broker node (all of c_j on a path without one)."""
        self.broker_fee = st.broker_fee.tolist()
        self.broker_capacity = st.broker_capacity.tolist()
        for n, queue in self.brokers:  # the price the step's sale will ask (from the last sale's demand and supply)
            self.fee_now[n] = queue.price(self.broker_fee[n])
        self.edge_costs_of_paths = self.true_metrics.cost.copy()
        upfront = self.true_metrics.cost.copy()
        for j in np.flatnonzero(self.path_first_broker >= 0).tolist():
            legs = self.graph.paths[j].edges[: self.path_first_broker[j] + 1]
            upfront[j] = float(st.cost[list(legs)].sum())
        self.true_metrics.upfront = self.metrics.upfront = upfront
        self._set_path_fees()

    def _set_path_fees(self) -> None:
        """c_j with the current prices, in the true metrics and in those people weigh (perception: same costs).
        An infinite price (sim.rules.brokers.scarcity_price) counts only on the paths through its node: in the
        product, 0 * inf would make every other path's cost NaN."""
        fees = self.fee_now[self.broker_nodes]
        if np.isfinite(fees).all():
            cost = self.edge_costs_of_paths + self.path_brokers @ fees
        else:
            cost = self.edge_costs_of_paths + np.where(self.path_brokers > 0, fees, 0.0).sum(axis=1)
        self.true_metrics.cost = self.metrics.cost = cost

    def join_queue(self, node: int, person: int, item: object, base: float, savings: float, need: float,
                   next_edge: int) -> None:
        """A person's wait at broker node `node` is over in this step: they join its queue before the step's
        sale (`flush_joins`). `item` is the engine's handle of the migrant; base = means - savings * arrival step;
        need = c_i (`onward_cost`)."""
        j = self._joining
        j[0].append(node)
        j[1].append(person)
        j[2].append(item)
        j[3].append(base)
        j[4].append(savings)
        j[5].append(need)
        j[6].append(next_edge)

    def join_queue_many(self, nodes: np.ndarray, persons: np.ndarray, items: np.ndarray, base: np.ndarray,
                        savings: np.ndarray, need: np.ndarray, next_edge: np.ndarray) -> None:
        """`join_queue` for many at once (arrays of equal length)."""
        for col, values in zip(self._joining, (nodes, persons, items, base, savings, need, next_edge)):
            col.extend(values.tolist())

    def flush_joins(self) -> None:
        """Append the step's joiners to their nodes' queues in increasing person index: the documented order of
        joining within a step (docs/model.md §14), whatever the order the engine met them in. The engine is told
        where they stand (`_joined(items, positions)`)."""
        j = self._joining
        if not j[0]:
            return
        self._joining = tuple([] for _ in range(7))
        nodes = np.array(j[0], dtype=np.int64)
        order = np.lexsort((np.array(j[1], dtype=np.int64), nodes))
        nodes = nodes[order]
        cols = [np.array(c)[order] for c in j[3:]]
        items = [j[2][i] for i in order.tolist()]
        bounds = np.flatnonzero(np.diff(nodes)) + 1
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), nodes.size]):
            queue = self.queues[int(nodes[lo])]
            assert queue is not None
            pos = queue.join(items[lo:hi], cols[0][lo:hi], cols[1][lo:hi], cols[2][lo:hi],
                             cols[3][lo:hi].astype(np.int64))
            self._joined(items[lo:hi], pos)

    def _joined(self, items: list, positions: np.ndarray) -> None:
        """Hook: `items` now stand at `positions` of their queue."""
        raise NotImplementedError

    def _move_on_bought(self, items: list, means: np.ndarray, t: int) -> None:
        raise NotImplementedError

    def _sell(self, t: int) -> None:
        """Each broker node, in node order, sells its passages of step t at the price F(t) (docs/model.md §14); the
        engine moves the buyers on (`_move_on_bought`)."""
        self.flush_joins()
        changed = False
        for n, queue in self.brokers:
            fee = queue.price(self.broker_fee[n])
            if fee != self.fee_now[n]:
                self.fee_now[n] = fee
                changed = True
            items, means = queue.sell(t, self.broker_capacity[n], fee, self.edge_open_arr)
            self.ledger.brokers(t, n, fee, len(items))
            if items:
                self._move_on_bought(items, means, t)
        if changed:
            self._set_path_fees()

    # ------------------------------------------------------------------------------------------ departures
    def stratum_paths(self, origin: int, group: int) -> np.ndarray:
        """Usable candidate paths for (origin, group) under the current state (cached until it changes)."""
        key = (origin, group)
        paths = self._strata.get(key)
        if paths is None:
            allowed = self.graph.allowed_paths(origin, self.group_modes[group])
            paths = allowed[self.metrics.usable[allowed]]
            self._strata[key] = paths
        return paths

    def block_bounds(self, t: int) -> np.ndarray:
        """The thinning bound of each block of the home population (`sim.rules.population`): for block b of group
        g at origin o with largest risk tolerance r_b, p_bar_b = 1 - exp(-lambda_g(t) * m_o(t) * M * exp(Ub_b)),
        Ub_b = max over the stratum's usable paths of the utility at r_b without the cost term
        (`sim.rules.choice.risk_free_bound`: the utilities people weigh, perceived, with the death weight), m_o the
        chain multiplier (1 without chain migration), M the largest repeat multiplier; r_b is the largest risk
        tolerance as stored (float32, sim.rules.population), and p_bar_b is raised by a relative 1e-12 so that the
        rounding of exp and expm1 never puts a p_i above it, and by 1e-300 (subnormal products, where the rounding
        is not relative). 0 for a block without usable paths. The Ub_b are
        recomputed only when the metrics people weigh change."""
        pop = self.population
        assert pop is not None
        if getattr(self, "_ub_of", None) is not self.metrics:
            self._ub_of = self.metrics
            if getattr(self, "_block_paths_of", None) is not self._strata:  # the usable paths changed
                self._block_paths_of = self._strata
                stratum = pop.block_origin * 256 + pop.block_group
                strata, row = np.unique(stratum, return_inverse=True)
                own = [self.stratum_paths(k // 256, k % 256) for k in strata.tolist()]
                cols = np.unique(np.concatenate([np.empty(0, dtype=np.int64), *own]))
                member = np.zeros((strata.size, cols.size), dtype=bool)
                for i, paths in enumerate(own):
                    member[i, np.searchsorted(cols, paths)] = True
                self._block_cols, self._block_member = cols, member[row]
            cols = self._block_cols
            ub = np.full(pop.block_key.size, -np.inf)
            if cols.size:
                u = risk_free_bound(pop.block_r_max[:, None], self.metrics, cols, self.spec.route_choice)
                ub = np.where(self._block_member, u, -np.inf).max(axis=1)
            self._exp_ub = np.exp(ub)
        rate = scaled_rates(self.rates[t][pop.block_group], self._multiplier_bound())
        if self.chain_mult is not None:
            rate = scaled_rates(rate, self.chain_mult[pop.block_origin])
        with np.errstate(over="ignore", invalid="ignore"):  # an infinite rate (repeat, chain) gives p = 1
            p = np.minimum(1.0, -np.expm1(-rate * self._exp_ub) * (1.0 + 1e-12) + 1e-300)
        return np.where(self._exp_ub > 0.0, p, 0.0)

    def _choice_set(self, strata: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the strata (origin * 256 + group, increasing) of a step's candidates: the union of their usable
        paths (in path order) and which of them each stratum may use, (strata, paths) booleans. Cached per set of
        strata until the usable paths change (most steps' candidates come from the same strata)."""
        if getattr(self, "_choice_sets_of", None) is not self._strata:
            self._choice_sets_of = self._strata
            self._choice_sets: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        k = strata.tobytes()
        got = self._choice_sets.get(k)
        if got is None:
            own = [self.stratum_paths(s // 256, s % 256) for s in strata.tolist()]
            cols = np.unique(np.concatenate(own))
            member = np.zeros((strata.size, cols.size), dtype=bool)
            for i, paths in enumerate(own):
                member[i, np.searchsorted(cols, paths)] = True
            got = self._choice_sets[k] = (cols, member)
        return got

    def decide_departures(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Who sets out at step t and on which path (docs/model.md §3, §9, §11, §13): (persons in increasing
        index, their paths). They are marked away and counted as persons (repeat attempts, initial stock)."""
        pop = self.population
        assert pop is not None, "decide_departures needs a model with a population"
        empty = np.empty(0, dtype=np.int64)
        cand, u_depart = pop.candidates(self.key, t, self.block_bounds(t))
        if cand.size == 0:
            return empty, empty
        # All strata at once: each candidate's row covers the union of the candidates' strata's paths (in path
        # order), -inf where the path is not one of its stratum's (the same as leaving the path out: exp(-inf) = 0
        # in the logit and the nest; the max and the cumulative sums are unchanged by it).
        group = pop.group[cand].astype(np.int64)
        origin = pop.origin[cand].astype(np.int64)
        strata, row = np.unique(origin * 256 + group, return_inverse=True)
        cols, member = self._choice_set(strata)
        if cols.size == 0:
            return empty, empty
        rate = self.rates[t][group]
        if self.chain_mult is not None:
            rate = scaled_rates(rate, self.chain_mult[origin])
        if pop.attempts is not None:  # repeat attempts: rho^attempts
            rate = scaled_rates(rate, rate_multiplier(self.spec.repeat.propensity, pop.attempts[cand]))
        leavers, chosen = [], []
        step = max(1, (1 << 20) // cols.size)  # rows per chunk: bounds the temporary (rows, paths) arrays
        for lo in range(0, cand.size, step):
            sl = slice(lo, lo + step)
            u = utilities(pop.risk_tolerance[cand[sl]].astype(float), pop.means[cand[sl]].astype(float),
                          self.metrics, cols, self.spec.route_choice)
            u[~member[row[sl]]] = -np.inf
            p = departure_probability(rate[sl], u.max(axis=1))
            go = u_depart[sl] < p
            if not go.any():
                continue
            goers = cand[sl][go]
            u_choice = uniforms(self.key, CHOICE, goers, t)  # keyed by person: drawn for those who set out only
            if self.path_family is None:
                pick = logit_choice(u[go], u_choice)
            else:
                pick = nested_choice(u[go], self.path_family[cols], self.nest_scale, u_choice)
            leavers.append(goers)
            chosen.append(cols[pick])
        if not leavers:
            return empty, empty
        persons = np.concatenate(leavers)
        path_idx = np.concatenate(chosen)
        order = np.argsort(persons, kind="stable")
        persons, path_idx = persons[order], path_idx[order]
        pop.away[persons] = True
        if self.ledger.persons is not None:
            self._count_set_out(persons, path_idx)
        return persons, path_idx

    # ------------------------------------------------------------------ persons: repeat attempts, initial stock
    def _setup_persons(self) -> None:
        """Draw the initial stock (appended to the population, away) and count attempts if people may repeat."""
        pop = self.population
        assert pop is not None
        if self.spec.initial_stock:
            sd = draw_stock(self.spec, self.graph, self.key)
            self._stock = sd
            self._stock_persons = pop.add_away(sd.group, sd.female, sd.origin, sd.risk_tolerance, sd.means)
        if self.repeat_steps is not None:
            pop.track_attempts()
            assert pop.attempts is not None
            if self._stock is not None:
                pop.attempts[self._stock_persons] = 1  # the attempt they are on
                self._max_attempts = 1

    def _multiplier_bound(self) -> float:
        """The largest departure-rate multiplier anyone at home can have (sim.rules.repeat.multiplier_bound)."""
        if self.repeat_steps is None:
            return 1.0
        return multiplier_bound(self.spec.repeat.propensity, self._max_attempts)

    def stock_paths(self) -> np.ndarray:
        """Step 0: the path each person of the initial stock continues on (`sim.rules.stocks`: logit on the utility
        without the cost term among the paths through its node, uniform U(k, STOCK_CHOICE, person))."""
        sd, persons = self._stock, self._stock_persons
        assert sd is not None
        u_choice = uniforms(self.key, STOCK_CHOICE, persons)
        key = (sd.origin.astype(np.int64) * 65536 + sd.node) * 256 + sd.group
        chosen = np.empty(persons.size, dtype=np.int64)
        for k in np.unique(key):
            sel = np.flatnonzero(key == k)
            o, n, g = int(k // 256 // 65536), int(k // 256 % 65536), int(k % 256)
            allowed = paths_through(self.graph, o, n, self.group_modes[g])
            usable = allowed[self.metrics.usable[allowed]]
            paths = usable if usable.size else allowed
            u = utilities(sd.risk_tolerance[sel].astype(float), None, self.metrics, paths,
                          self.spec.route_choice)
            chosen[sel] = paths[logit_choice(u, u_choice[sel])]
        return chosen

    def _count_set_out(self, persons: np.ndarray, path_idx: np.ndarray) -> None:
        """Persons setting out: first_set_out for first attempts; those setting out again leave home_again (by
        the route of their failed attempt); attempts are counted."""
        pop, counts = self.population, self.ledger.persons
        assert pop is not None and counts is not None
        routes = self.path_route[path_idx]
        groups = pop.group[persons]
        if pop.attempts is None:
            counts.add("first_set_out", routes, groups)
            return
        assert pop.last_route is not None
        first = pop.attempts[persons] == 0
        counts.add("first_set_out", routes[first], groups[first])
        again = persons[~first]
        if again.size:
            counts.add("home_again", pop.last_route[again], pop.group[again], -1)
        pop.attempts[persons] = np.minimum(pop.attempts[persons], ATTEMPTS_COUNTED - 1) + 1  # counted up to the cap
        self._max_attempts = max(self._max_attempts, int(pop.attempts[persons].max()))

    def attempts_ended(self, persons: np.ndarray, routes: np.ndarray, groups: np.ndarray, outcomes: np.ndarray,
                       t: int) -> None:
        """Attempts that ended at step t (with repeat attempts or an initial stock): a failed person is detained
        for K_o steps (`sim.rules.repeat.repeat_steps`) and then released home, or retires when outcome o is
        final; arrivals and deaths end nothing more."""
        counts = self.ledger.persons
        assert counts is not None
        for o in np.unique(outcomes).tolist():
            if o == ARRIVED or o == KILLED:
                continue
            sel = outcomes == o
            k = None if self.repeat_steps is None else self.repeat_steps[o]
            if k is None:
                counts.add("retired", routes[sel], groups[sel])
                continue
            counts.add("detained", routes[sel], groups[sel])
            self._releases.setdefault(t + k, []).extend(zip(persons[sel].tolist(), routes[sel].tolist(),
                                                            groups[sel].tolist()))

    def _release(self, t: int) -> None:
        """The detained due at step t are back home (before the departures of step t)."""
        due = self._releases.pop(t, None)
        if not due:
            return
        persons, routes, groups = (np.array(x, dtype=np.int64) for x in zip(*due))
        pop, counts = self.population, self.ledger.persons
        assert pop is not None and pop.last_route is not None and counts is not None
        pop.away[persons] = False
        pop.last_route[persons] = routes
        counts.add("detained", routes, groups, -1)
        counts.add("released", routes, groups)
        counts.add("home_again", routes, groups)

    # ---------------------------------------------------------------------------------------------- result
    def close_step(self, t: int) -> None:
        """The end of step t: people queued at each broker node, then the ledger's step."""
        if self.broker_nodes:
            for n, queue in self.brokers:
                self.ledger.queued[t, n] = queue.waiting
        self.ledger.close_step(t)

    def knowledge_summary(self) -> dict:
        """summary.json keys of the mechanisms switched on: `perceived_risk` (route -> kind -> the perceived
        probability weighed at the last step) and `arrivals_by_origin` (origin -> arrivals, with chain migration)."""
        out: dict = {}
        if self.perceived_history:
            last = self.perceived_history[max(0, len(self.perceived_history) - 1 - self.perception_lag)]
            out["perceived_risk"] = {r: {k: round(float(v), 9) for k, v in zip(KINDS, last[i])}
                                     for i, r in enumerate(self.graph.routes)}
        if self.spec.population.chain is not None:
            out["arrivals_by_origin"] = {self.graph.node_ids[n]: int(a) for n, a in enumerate(self.arrived_from)
                                         if self.graph.node_kind[n] == "origin"}
        return out

    def result(self) -> RunResult:
        return run_result(self, extra={"summary": self.knowledge_summary()})


def run_result(model, extra: dict | None = None) -> RunResult:
    """The RunResult of a model that has `spec`, `seed`, `graph`, `dates` and `ledger` (any engine)."""
    sc = model.spec
    led = model.ledger
    return RunResult(
        scenario_name=sc.name, seed=model.seed, resolved=sc.model_copy(update={"seed": model.seed}),
        version=package_version(), code_sha256=code_sha256(), dates=model.dates, routes=list(model.graph.routes),
        groups=[g.name for g in sc.population.groups], edge_ids=list(model.graph.edge_ids),
        node_ids=list(model.graph.node_ids), flows=led.flows, arrived_female=led.arrived_female,
        in_transit=led.in_transit, edges=led.edges, repatriated_at=led.repatriated_at,
        extra=extra or {},
        persons=None if getattr(led, "persons", None) is None else led.persons.series,
        broker_nodes=list(getattr(model, "broker_nodes", [])), fees=getattr(led, "fees", None),
        sold=getattr(led, "sold", None), queued=getattr(led, "queued", None), abroad=led.abroad,
        step_years=step_months(sc.time.step) / 12.0,
    )
