"""Mesa agents: the Migrant, a person on the move along the route network.

A migrant is a `CellAgent` on the model's `mesa.discrete_space.Network`, sitting in the cell of the node it
last reached (while crossing an edge, the cell of the edge's start). It follows the path it chose when setting
out, and is stepped only when something happens to it (the model keeps a due-list per step), so that a person
waiting three years in a transit country costs nothing in the steps in between. The rules:

- Entering an edge: if the edge is closed, the person turns back (`returned`). Otherwise the crossing takes the
  edge's `duration` steps and is resolved when it ends, by one uniform draw against the edge's outcome table
  (`sim.hazards.edge_outcome_table`): returned, killed (undetected or shot), caught, or passed.
- Reaching a node: a destination means `arrived`; a border node, or a transit node with no wait, is passed
  through in the same step; at a transit node the person waits. With arrest hazard h per step, the step of
  arrest is drawn as Geometric(h); with a fixed dwell w the person leaves after round(w) steps unless arrested
  first (at step <= w); with a geometric dwell of mean D the step of leaving is Geometric(1/D), and an arrest in
  the same step comes first. Arrest means `repatriated`. Geometric times are memoryless, so when a policy
  changes a node's hazard the remaining times of everyone waiting there are redrawn from that step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa.discrete_space import CellAgent

from sim.hazards import geometric_time_log
from sim.ledger import ARRIVED, CAUGHT, KILLED, REPATRIATED, RETURNED

if TYPE_CHECKING:
    from sim.model import BorderModel
    from sim.network import CandidatePath

_CROSS, _LEAVE, _ARREST = 0, 1, 2
_EDGE_ENTERED, _EDGE_PASSED, _EDGE_RETURNED, _EDGE_CAUGHT, _EDGE_KILLED = range(5)  # EDGE_COUNTS order


class Migrant(CellAgent):
    """A person who set out: crosses the edges of its path, waits in transit nodes, ends in one outcome."""

    def __init__(self, model: BorderModel, person: int, group: int, female: bool, path: CandidatePath):
        super().__init__(model)
        self.person = person
        self.group = group
        self.female = female
        self.route = path.route
        self.path_edges = path.edges
        self.path_nodes = path.nodes
        self.leg = 0  # index of the edge being crossed or next to cross
        self.waiting_at = -1  # node index while waiting in transit, else -1
        self.leave_at = 0.0
        self.action = _CROSS
        self.token = 0  # bumps when a scheduled event is replaced; stale events are skipped
        self.cell = model.node_cells[path.origin]

    # --------------------------------------------------------------------------------------------- events
    def step(self) -> None:
        """Carry out the event that is due now."""
        t = self.model.t
        if self.action == _CROSS:
            self._resolve_crossing(t)
        elif self.action == _LEAVE:
            self.waiting_at = -1
            self.enter_edge(t)
        else:
            self._finish(t, REPATRIATED)

    def enter_edge(self, t: int) -> None:
        """Start crossing edge `leg` at step t, or turn back if it is closed."""
        model = self.model
        e = self.path_edges[self.leg]
        if not model.edge_open[e]:
            model.ledger.edge(e, _EDGE_RETURNED)
            self._finish(t, RETURNED)
            return
        model.ledger.edge(e, _EDGE_ENTERED)
        self.action = _CROSS
        model.schedule(self, t + model.edge_duration[e])

    def _resolve_crossing(self, t: int) -> None:
        model = self.model
        e = self.path_edges[self.leg]
        u = model.uniform()
        c_ret, c_kill, c_shot, c_caught = model.edge_cdf[e]
        if u < c_ret:
            model.ledger.edge(e, _EDGE_RETURNED)
            self._finish(t, RETURNED)
        elif u < c_shot:
            model.ledger.edge(e, _EDGE_KILLED)
            self._finish(t, KILLED)
        elif u < c_caught:
            model.ledger.edge(e, _EDGE_CAUGHT)
            self._finish(t, CAUGHT)
        else:
            model.ledger.edge(e, _EDGE_PASSED)
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
            self.plan_wait(t, draw_leave=True)
        else:
            self.enter_edge(t)

    def plan_wait(self, since: int, draw_leave: bool) -> None:
        """Schedule whichever comes first after step `since`: arrest at since + Geometric(h), or leaving at
        since + round(w) (fixed dwell) / since + Geometric(1/D) (geometric dwell; an arrest in the same step wins).
        A fixed leaving step, once drawn, is kept when the plan is redrawn after a policy change."""
        model = self.model
        node = self.waiting_at
        if model.node_geometric[node]:
            self.leave_at = since + geometric_time_log(model.uniform(), model.node_log_stay[node])
        elif draw_leave:
            self.leave_at = since + round(model.node_dwell[node])
        arrest_at = since + geometric_time_log(model.uniform(), model.node_log_free[node])
        self.token += 1
        if arrest_at <= self.leave_at:
            self.action = _ARREST
            model.schedule(self, int(arrest_at))
        else:
            self.action = _LEAVE
            model.schedule(self, int(self.leave_at))

    def _finish(self, t: int, outcome: int) -> None:
        ledger = self.model.ledger
        if outcome == REPATRIATED:
            ledger.repatriated(self.waiting_at)
        ledger.finish(self.route, self.group, outcome, self.female)
        self.cell = None
        self.remove()
