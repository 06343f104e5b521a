"""Mesa agents: the Migrant, a person on the move along the route network.

A migrant is a `CellAgent` on the model's `mesa.discrete_space.Network`, sitting in the cell of the node it
last reached (while crossing an edge, the cell of the edge's start). It follows the path it chose when setting
out, and is stepped only when something happens to it (the model keeps a due-list per step), so that a person
waiting three years in a transit country costs nothing in the steps in between. The rules:

- Entering an edge: if the edge is closed, the person turns back (`returned`). Otherwise the crossing takes the
  edge's `duration` steps and is resolved when it ends, by the journey's keyed uniform for that leg against the
  edge's outcome table (`sim.rules.hazards.edge_outcome_table`): returned, killed (undetected or shot), caught, or
  passed.
- Reaching a node: a destination means `arrived`; a border node, or a transit node with no wait, is passed
  through in the same step; at a transit node the person waits. Each wait has two unit-exponential thresholds
  from the journey's keyed uniforms, E_a = -log(1 - u) for arrest and E_l for leaving (geometric dwell). With
  arrest hazard h per step, i.e. a cumulative hazard of lambda = -log(1 - h) per step, the person is arrested
  in the first step at which the hazard accumulated since arriving reaches E_a: since + floor(E_a / lambda) + 1,
  a Geometric(h) time. With a fixed dwell w the person leaves after round(w) steps unless arrested first (at a
  step <= w); with a geometric dwell of mean D, leaving uses E_l and lambda = -log(1 - 1/D), a Geometric(1/D)
  time, and an arrest in the same step comes first. Arrest means `repatriated`. When a policy changes a node's
  hazard or dwell, the hazard already accumulated is kept and only the rest of each threshold is spent at the
  new rate (the same law as redrawing a memoryless time, and common random numbers across scenarios).
- Money: the person carries its means; an edge's cost is paid when the edge is entered, and while stopped at a
  transit node the means grow by the group's savings per step (by sex, `transit.savings`) from arrival there.
- Brokers (docs/model.md §14): at a node with brokers, a person whose wait ends (or who arrives, if the node has no
  wait) joins the node's queue (`sim.engine.queues.BrokerQueue`) instead of leaving, still exposed to arrest (the
  step's joiners join in increasing person index, `sim.engine.core.EngineCore.flush_joins`); the model sells the
  passages each step and the buyers move on.
- Closures on the way (§14): a person due to leave a transit node by a closed edge does not turn back but waits
  there, still exposed to arrest, until the edge reopens (the model releases them when it does).
- Sex differences in transit: the dwell of every node where people wait is multiplied by the group's
  `transit.dwell_scale` for the person's sex.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mesa.discrete_space import CellAgent

from sim.rules.hazards import leave_probability, log_survival, scaled_log_survival, threshold_time
from sim.outcomes import (ARRIVED, CAUGHT, EDGE_CAUGHT, EDGE_ENTERED, EDGE_KILLED, EDGE_PASSED, EDGE_RETURNED, KILLED,
                          REPATRIATED, RETURNED)
from sim.rules.streams import ARREST, CROSS, LEAVE, SLOTS_PER_LEG

if TYPE_CHECKING:
    from sim.engine.mesa.model import BorderModel
    from sim.rules.network import CandidatePath

_CROSS, _LEAVE, _ARREST = 0, 1, 2
FREE, QUEUED, BLOCKED = 0, 1, 2  # what a person stopped at a transit node is waiting for beyond its dwell


class Migrant(CellAgent):
    """A person who set out: crosses the edges of its path, waits in transit nodes, ends in one outcome."""

    def __init__(self, model: BorderModel, person: int, group: int, female: bool, path: CandidatePath,
                 draws: list[float], means: float = 0.0, savings: float = 0.0, dwell_scale: float = 1.0,
                 arrest_scale: float = 1.0, left_home: int = 0):
        super().__init__(model)
        self.person = person
        self.group = group
        self.female = female
        self.route = path.route
        self.origin = path.origin
        self.path_edges = path.edges
        self.path_nodes = path.nodes
        self.leg = 0  # index of the edge being crossed or next to cross
        self.waiting_at = -1  # node index while waiting in transit, else -1
        self.draws = draws  # keyed uniforms of this journey, SLOTS_PER_LEG per leg (sim.rules.streams)
        self.leave_at = 0.0
        self.arrest_at = 0.0
        self.wait_since = 0  # step from which the thresholds below are spent at the node's current rates
        self.e_arrest = 0.0  # arrest threshold left at wait_since (unit-exponential at arrival)
        self.e_leave = 0.0  # leave threshold left at wait_since (geometric dwell)
        self.action = _CROSS
        self.token = 0  # bumps when a scheduled event is replaced; stale events are skipped
        self.means = means  # USD in hand: edge costs and passages are paid out of it
        self.savings = savings  # USD saved per step while stopped at a transit node
        self.dwell_scale = dwell_scale  # multiplier of the dwell at every node where the person waits
        self.arrest_scale = arrest_scale  # multiplier of the cumulative arrest hazard while waiting
        self.arrived_at = 0  # step of arrival at the transit node where the person is stopped
        self.stuck = FREE  # QUEUED for a passage, BLOCKED by a closed edge out of the node, else FREE
        self.queue_pos = -1  # position in the node's broker queue while QUEUED
        self.left_home = left_home  # step the person left home (before step 0 for the initial stock)
        self.cell = model.node_cells[path.origin]

    # --------------------------------------------------------------------------------------------- events
    def step(self) -> None:
        """Carry out the event that is due now."""
        t = self.model.t
        if self.action == _CROSS:
            self._resolve_crossing(t)
        elif self.action == _LEAVE:
            model = self.model
            if model.queues[self.waiting_at] is None and model.edge_open[self.path_edges[self.leg]]:
                if self.savings:  # the common case of wait_over, inline: move on
                    self.means += self.savings * (t - self.arrived_at)
                self.waiting_at = -1
                self.enter_edge(t)
            else:
                self.wait_over(t)
        else:
            self._finish(t, REPATRIATED)

    def enter_edge(self, t: int) -> None:
        """Start crossing edge `leg` at step t, or turn back if it is closed."""
        model = self.model
        e = self.path_edges[self.leg]
        if not model.edge_open[e]:
            model.ledger.edge(e, EDGE_RETURNED)
            self._finish(t, RETURNED)
            return
        model.ledger.edge(e, EDGE_ENTERED)
        self.means -= model.edge_cost[e]
        self.action = _CROSS
        model.schedule(self, t + model.edge_duration[e])

    def _resolve_crossing(self, t: int) -> None:
        model = self.model
        e = self.path_edges[self.leg]
        u = self.draws[SLOTS_PER_LEG * self.leg + CROSS]
        c_ret, c_kill, c_shot, c_caught = model.edge_cdf[e]
        if u < c_ret:
            model.ledger.edge(e, EDGE_RETURNED)
            self._finish(t, RETURNED)
        elif u < c_shot:
            model.ledger.edge(e, EDGE_KILLED)
            self._finish(t, KILLED)
        elif u < c_caught:
            model.ledger.edge(e, EDGE_CAUGHT)
            self._finish(t, CAUGHT)
        else:
            model.ledger.edge(e, EDGE_PASSED)
            node = self.path_nodes[self.leg]
            self.leg += 1
            self.cell = model.node_cells[node]
            self._reach(node, t)

    def _reach(self, node: int, t: int) -> None:
        model = self.model
        if model.is_destination[node]:
            self._finish(t, ARRIVED)
        elif model.waits_at[node]:
            self.waiting_at = node
            self.start_wait(t)
        elif model.may_hold[node] and model.holds_at(node, self.path_edges[self.leg]):
            self.waiting_at = node
            self.start_wait(t, hold=True)
        else:
            self.enter_edge(t)

    def start_wait(self, t: int, waited: int = 0, hold: bool = False) -> None:
        """Arrive at the waiting node at step t: thresholds E = -log(1 - u) from the journey's uniforms for the
        leg just crossed; a fixed dwell w sets the leaving step t + max(0, round(w * dwell_scale) - waited),
        `waited` the steps already spent there (the initial stock; 0 otherwise). With `hold` (a node with no wait
        where the person must stop: brokers, or a closed edge onward) the wait is over at once."""
        model = self.model
        slot = SLOTS_PER_LEG * (self.leg - 1)
        self.e_arrest = -math.log1p(-self.draws[slot + ARREST])
        self.e_leave = -math.log1p(-self.draws[slot + LEAVE])
        self.wait_since = t
        self.arrived_at = t
        if hold:
            self.wait_over(t)
            return
        if not model.node_geometric[self.waiting_at]:
            self.leave_at = t + max(0, round(model.node_dwell[self.waiting_at] * self.dwell_scale) - waited)
        self._schedule_wait()

    def wait_over(self, t: int) -> None:
        """The dwell at the node is over at step t: at a node with brokers, join its queue; if the edge onward is
        closed, wait for it to reopen; otherwise move on. Queued or blocked, the person stays exposed to arrest."""
        model = self.model
        node = self.waiting_at
        e = self.path_edges[self.leg]
        queue = model.queues[node]
        if queue is None and model.edge_open[e]:  # the common case: move on (no pending event to cancel)
            if self.savings:
                self.means += self.savings * (t - self.arrived_at)
            self.waiting_at = -1
            self.enter_edge(t)
            return
        if queue is not None:
            self.stuck = QUEUED  # joins the queue before the step's sale, in person order (EngineCore.flush_joins)
            model.join_queue(node, self.person, self, self.means - self.savings * self.arrived_at, self.savings,
                             model.onward_cost(self.path_nodes, self.path_edges, self.leg), e)
        else:
            self.stuck = BLOCKED
            model.blocked.setdefault(e, {})[self] = None
        self._schedule_wait()

    def move_on(self, t: int, means: float) -> None:
        """Leave the node at step t with `means` in hand (savings added, a passage paid) by the next edge."""
        self.means = means
        self.waiting_at = -1
        self.stuck = FREE
        self.queue_pos = -1
        self.token += 1  # a pending arrest no longer applies
        self.enter_edge(t)

    def replan_wait(self, since: int, old_hazard: float, old_dwell: float) -> None:
        """The node's hazard or dwell changed from step since + 1: spend the thresholds at the old rates up to
        `since`, the rest at the new ones. A fixed leaving step is kept."""
        steps = since - self.wait_since
        if steps > 0:
            self.e_arrest = max(0.0, self.e_arrest
                                + steps * scaled_log_survival(log_survival(old_hazard), self.arrest_scale))
            if self.model.node_geometric[self.waiting_at]:
                self.e_leave = max(0.0, self.e_leave
                                   + steps * log_survival(leave_probability(old_dwell * self.dwell_scale)))
        self.wait_since = since
        self._schedule_wait()

    def _schedule_wait(self) -> None:
        """Schedule whichever comes first: arrest at wait_since + floor(E_a / lambda_a) + 1, or leaving (fixed:
        leave_at; geometric: wait_since + floor(E_l / lambda_l) + 1); arrest wins a tie."""
        model = self.model
        node = self.waiting_at
        self.arrest_at = self.wait_since + threshold_time(
            self.e_arrest, -scaled_log_survival(model.node_log_free[node], self.arrest_scale))
        self.token += 1
        if self.stuck != FREE:  # queued or blocked: only an arrest can end the wait (inf: never)
            if self.arrest_at < math.inf:
                self.action = _ARREST
                model.schedule(self, int(self.arrest_at))
            return
        if model.node_geometric[node]:
            rate = (-model.node_log_stay[node] if self.dwell_scale == 1.0
                    else -log_survival(leave_probability(model.node_dwell[node] * self.dwell_scale)))
            self.leave_at = self.wait_since + threshold_time(self.e_leave, rate)
        if self.arrest_at <= self.leave_at:
            self.action = _ARREST
            if self.arrest_at < math.inf:  # else neither ever comes (a dwell scaled past the floating-point range)
                model.schedule(self, int(self.arrest_at))
        else:
            self.action = _LEAVE
            model.schedule(self, int(self.leave_at))

    def _finish(self, t: int, outcome: int) -> None:
        model = self.model
        ledger = model.ledger
        if self.stuck == QUEUED:
            assert self.queue_pos >= 0, "a migrant leaves its queue only after joining it (EngineCore.flush_joins)"
            model.queues[self.waiting_at].leave(self.queue_pos)
        elif self.stuck == BLOCKED:
            del model.blocked[self.path_edges[self.leg]][self]
        if outcome == REPATRIATED:
            ledger.repatriated(self.waiting_at)
        ledger.finish(self.route, self.group, outcome, self.female, t - self.left_home)
        if outcome == ARRIVED:
            self.model.arrived_from[self.origin] += 1  # chain migration (sim.rules.chain)
        if ledger.persons is not None:  # repeat attempts or an initial stock
            self.model.attempt_ended(self, outcome, t)
        self.cell = None
        self.remove()

