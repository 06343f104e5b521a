"""Reference engine: the decision and crossing rules of `BorderModel`, written the plain Mesa way.

This module exists only as the yardstick for the equivalence tests (`tests/test_equivalence.py`) and the
benchmarks (`experiments/bench.py`); runs, sweeps and the CLI never use it. Every person, at home or on the
move, is one `Person` agent, and every step the model calls `self.agents.shuffle_do("step")` on all of them:
the cost of a step is proportional to the number of people, whatever they are doing. The rules are those
documented in `sim.engine.mesa.agents`, `sim.rules.choice` and `sim.engine.mesa.model`, applied one step at a time
instead of by events and thinning:

- at home: one uniform draw per step against the person's own p_i = 1 - exp(-lambda_g(t) * exp(U*_i)); the
  utilities U_ij (`sim.rules.choice`) depend only on the network state, so a person recomputes them only when the
  set of active policies changes (what a careful Mesa user would do); whoever sets out picks a path by the
  same logit rule with a second uniform;
- entering an edge: closed -> `returned`; otherwise a countdown of the edge's duration, and in the step it
  reaches zero one draw against the edge outcome table in force (`sim.rules.hazards.edge_outcome_table`);
- reaching a node: destination -> `arrived`; a transit node where people wait -> each following step one
  arrest draw with the node's hazard h (-> `repatriated`), then, if not arrested, a leave draw with
  probability 1/D (geometric dwell) or a countdown of round(w) steps (fixed dwell); any other node is passed
  in the step.

Repeat attempts and initial stocks (docs/model.md sections 9 and 10) are not implemented here, nor brokers,
waiting at a transit node for a closed edge to reopen and sex differences in transit (section 14): the
equivalence test runs with them off.

Population attributes are drawn by `sim.rules.population.Population` from the run's keyed streams
(`sim.rules.streams`), so both engines give the same people for the same seed; everything after that uses the Mesa
generator here, and the engines agree in law, not draw for draw.

It does not implement the mechanisms of issue 12 part C (perceived risk, the death weight, chain migration,
nested choice: `route_choice.perception`, `.death_weight`, `.nest`, `population.chain`); the equivalence tests
run with them off, and a scenario that sets them runs here as if they were off.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from sim.rules.choice import path_metrics
from sim.rules.hazards import edge_outcome_table
from sim.outcomes import (ARRIVED, CAUGHT, EDGE_CAUGHT, EDGE_ENTERED, EDGE_KILLED, EDGE_PASSED, EDGE_RETURNED, KILLED,
                          REPATRIATED, RETURNED)
from sim.engine.ledger import Ledger, RunResult
from sim.engine.core import run_result
from sim.rules.network import RouteGraph, modes_mask
from sim.rules.policies import active_set, group_rates, network_state
from sim.rules.population import Population
from sim.scenario.schema import Scenario
from sim.scenario.dates import step_dates
from sim.rules.streams import run_key

HOME, CROSSING, WAITING = 0, 1, 2


class Person(mesa.Agent):
    """One person, stepped every step: at home decides whether to set out, on the way crosses and waits."""

    def __init__(self, model: NaiveBorderModel, group: int, female: bool, origin: int, risk_tolerance: float,
                 means: float):
        super().__init__(model)
        self.group = group
        self.female = female
        self.origin = origin
        self.risk_tolerance = risk_tolerance
        self.means = means
        self.state = HOME
        self.epoch = -1  # network epoch the cached utilities belong to
        self.paths: list[int] = []
        self.utils: list[float] = []
        self.best = -math.inf
        self.route = -1
        self.path_edges: tuple[int, ...] = ()
        self.path_nodes: tuple[int, ...] = ()
        self.leg = 0
        self.left_home = 0  # step the person set out (set when they do)
        self.countdown = 0
        self.node = -1

    def step(self) -> None:
        if self.state == HOME:
            self.consider_leaving()
        elif self.state == CROSSING:
            self.countdown -= 1
            if self.countdown == 0:
                self.resolve_crossing()
        else:
            self.wait()

    # ------------------------------------------------------------------------------------------------ home
    def refresh_utilities(self) -> None:
        """U_ij = -a_risk (1 - r)(1 - s_j) - a_cost c_j / max(m, 1) - a_time d_j, over the usable paths
        the person can afford (c_j <= m)."""
        model = self.model
        rc = model.spec.route_choice
        m = model.metrics
        self.paths, self.utils = [], []
        for j in model.stratum_paths(self.origin, self.group):
            c = m.cost[j]
            if c <= self.means:
                self.paths.append(j)
                self.utils.append(-rc.risk_weight * (1.0 - self.risk_tolerance) * (1.0 - m.success[j])
                                  - rc.cost_weight * c / max(self.means, 1.0)
                                  - rc.time_weight * m.duration[j])
        self.best = max(self.utils, default=-math.inf)
        self.epoch = model.epoch

    def consider_leaving(self) -> None:
        """Set out with p_i = 1 - exp(-lambda_g(t) exp(U*_i)); pick path j with probability
        exp(U_ij) / sum_k exp(U_ik)."""
        model = self.model
        if self.epoch != model.epoch:
            self.refresh_utilities()
        if not self.paths:
            return
        p = -math.expm1(-model.rate_now[self.group] * math.exp(self.best))
        if model.rng.random() >= p:
            return
        weights = [math.exp(u - self.best) for u in self.utils]
        target = model.rng.random() * sum(weights)
        acc, pick = 0.0, len(weights) - 1
        for k, w in enumerate(weights):
            acc += w
            if acc >= target:
                pick = k
                break
        path = model.graph.paths[self.paths[pick]]
        self.route, self.path_edges, self.path_nodes = path.route, path.edges, path.nodes
        self.leg = 0
        self.left_home = model.t
        model.ledger.set_out(self.route, self.group)
        self.enter_edge()

    # ------------------------------------------------------------------------------------------- on the way
    def enter_edge(self) -> None:
        model = self.model
        e = self.path_edges[self.leg]
        if not model.edge_open[e]:
            model.ledger.edge(e, EDGE_RETURNED)
            self.finish(RETURNED)
            return
        model.ledger.edge(e, EDGE_ENTERED)
        self.state = CROSSING
        self.countdown = model.edge_duration[e]

    def resolve_crossing(self) -> None:
        """One uniform against the cumulative outcome table: returned, killed, shot, caught, else passed."""
        model = self.model
        e = self.path_edges[self.leg]
        u = model.rng.random()
        c_ret, _, c_shot, c_caught = model.edge_cdf[e]  # killed = undetected or shot
        if u < c_ret:
            model.ledger.edge(e, EDGE_RETURNED)
            self.finish(RETURNED)
        elif u < c_shot:
            model.ledger.edge(e, EDGE_KILLED)
            self.finish(KILLED)
        elif u < c_caught:
            model.ledger.edge(e, EDGE_CAUGHT)
            self.finish(CAUGHT)
        else:
            model.ledger.edge(e, EDGE_PASSED)
            node = self.path_nodes[self.leg]
            self.leg += 1
            if model.is_destination[node]:
                self.finish(ARRIVED)
            elif model.waits_at[node]:
                self.node = node
                self.state = WAITING
                self.countdown = round(model.node_dwell[node])
            else:
                self.enter_edge()

    def wait(self) -> None:
        """Arrest w.p. h first; then leave w.p. 1/D (geometric dwell; 1 if D < 1) or when the countdown
        ends (fixed)."""
        model = self.model
        n = self.node
        if model.rng.random() < model.node_hazard[n]:
            self.finish(REPATRIATED)
            return
        if model.node_geometric[n]:
            d = model.node_dwell[n]  # a geometric dwell set below 1 mid-wait: leave at the next step
            leave = model.rng.random() < (1.0 / d if d >= 1 else 1.0)
        else:
            self.countdown -= 1
            leave = self.countdown <= 0
        if leave:
            self.node = -1
            self.enter_edge()

    def finish(self, outcome: int) -> None:
        model = self.model
        if outcome == REPATRIATED:
            model.ledger.repatriated(self.node)
        model.ledger.finish(self.route, self.group, outcome, self.female, model.t - self.left_home)
        self.remove()


class NaiveBorderModel(mesa.Model):
    """Every person a `Person` agent, all stepped each step with `shuffle_do` (see module doc)."""

    def __init__(self, scenario: Scenario, rng: int | None = None):
        seed = scenario.seed if rng is None else rng
        super().__init__(rng=seed)
        self.spec = scenario
        self.seed = seed
        self.graph = RouteGraph(scenario)
        self.dates = step_dates(scenario.time)
        self.is_destination = [k == "destination" for k in self.graph.node_kind]
        self.group_modes = [modes_mask(g.modes) for g in scenario.population.groups]
        self.rates = group_rates(scenario, self.dates)
        self.ledger = Ledger(len(self.dates), len(self.graph.routes), len(scenario.population.groups),
                             len(self.graph.edge_ids), len(self.graph.node_ids))
        pop = Population(scenario, self.graph.node_index, run_key(seed))  # same people as BorderModel
        for g, f, o, r, m in zip(pop.group.tolist(), pop.female.tolist(), pop.origin.tolist(),
                                 pop.risk_tolerance.astype(float).tolist(), pop.means.astype(float).tolist()):
            Person(self, g, f, o, r, m)
        self._active: tuple[int, ...] | None = None
        self.epoch = -1
        self.t = 0

    def apply_policies(self, t: int) -> None:
        """Rebuild the network state, outcome table and path metrics when the active policies change."""
        active = active_set(self.spec, self.dates[t])
        if active == self._active:
            return
        self._active = active
        self.epoch += 1
        st = network_state(self.spec, self.graph, active)
        table = edge_outcome_table(st.controls, st.shoot_on_sight, self.spec.hazards)
        self.edge_cdf = [tuple(row) for row in np.cumsum(table[:, :4], axis=1).tolist()]
        self.edge_open = st.open.tolist()
        self.edge_duration = st.duration.tolist()
        self.node_hazard = st.arrest_hazard.tolist()
        self.node_dwell = st.dwell.tolist()
        self.node_geometric = st.geometric_dwell.tolist()
        self.waits_at = [k == "transit" and (d >= 1 if g else round(d) >= 1)
                         for k, d, g in zip(self.graph.node_kind, self.node_dwell, self.node_geometric)]
        m = path_metrics(self.graph, st, self.spec)
        self.metrics = m
        self._strata: dict[tuple[int, int], list[int]] = {}

    def stratum_paths(self, origin: int, group: int) -> list[int]:
        """Candidate paths from `origin` using only the group's modes, with every edge open now."""
        key = (origin, group)
        paths = self._strata.get(key)
        if paths is None:
            allowed = self.graph.allowed_paths(origin, self.group_modes[group])
            paths = allowed[self.metrics.usable[allowed]].tolist()
            self._strata[key] = paths
        return paths

    def step(self) -> None:
        t = self.steps - 1
        self.t = t
        self.apply_policies(t)
        self.rate_now = self.rates[t].tolist()
        self.agents.shuffle_do("step")
        self.ledger.close_step(t)

    def run(self) -> RunResult:
        while self.steps < len(self.dates):
            self.step()
        return self.result()

    def result(self) -> RunResult:
        return run_result(self, extra={"engine": "naive_mesa"})
