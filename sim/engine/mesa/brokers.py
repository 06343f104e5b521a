"""The broker queue of one transit node (docs/model.md §14): numpy arrays in order of joining, so that a step's sale
is one vectorised scan (`sim.rules.brokers`), however long the queue.

Each entry holds the migrant, base_i = m_i(t_i) - s_i * t_i (so that its means at step t are base_i + s_i * t),
its savings per step s_i, c_i the cost of the legs the passage takes it along, its next edge, and whether it is
still waiting (arrested people and buyers are marked gone; the arrays are compacted when more than half the
entries are gone). The node's price follows `sim.rules.brokers.scarcity_price` from the previous step's demand
(queued and eligible) and supply (passages on offer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.rules.brokers import buyers, means_now, passages_on_offer, scarcity_price

if TYPE_CHECKING:
    from sim.engine.mesa.agents import Migrant


class BrokerQueue:
    """The queue at one broker node, its passage credit and its price."""

    def __init__(self, node: int, elasticity: float, fee_max: float | None):
        self.node = node
        self.elasticity = elasticity
        self.fee_max = fee_max
        self.agents: list[Migrant | None] = []
        self.base = np.zeros(16)
        self.savings = np.zeros(16)
        self.need = np.zeros(16)
        self.next_edge = np.zeros(16, dtype=np.int64)
        self.alive = np.zeros(16, dtype=bool)
        self.n = 0  # entries used
        self.waiting = 0  # entries alive
        self.credit = 0.0  # fraction of a passage accrued
        self.wanted = 0  # Q: queued and eligible at the last sale
        self.offered = 0  # S: passages on offer at the last sale

    def join(self, agent: Migrant, t: int, need: float) -> int:
        """Append `agent` (means counted from its arrival step, savings per step) at step t; its position."""
        if self.n == self.alive.size:
            size = 2 * self.alive.size
            for name in ("base", "savings", "need", "next_edge", "alive"):
                old = getattr(self, name)
                new = np.zeros(size, dtype=old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        i = self.n
        self.agents.append(agent)
        self.base[i] = agent.means - agent.savings * agent.arrived_at
        self.savings[i] = agent.savings
        self.need[i] = need
        self.next_edge[i] = agent.path_edges[agent.leg]
        self.alive[i] = True
        self.n += 1
        self.waiting += 1
        return i

    def leave(self, pos: int) -> None:
        """The entry at `pos` no longer waits (arrested)."""
        self.alive[pos] = False
        self.agents[pos] = None
        self.waiting -= 1

    def price(self, base_fee: float) -> float:
        """F(t) from the base fee in force and the last sale's demand and supply."""
        return scarcity_price(base_fee, self.wanted, self.offered, self.elasticity, self.fee_max)

    def sell(self, t: int, capacity: float, fee: float, edge_open: np.ndarray) -> list[tuple[Migrant, float]]:
        """Offer floor(credit + capacity) passages at price `fee`: the first buyers in queue order among those
        waiting, whose next edge is open and who can pay fee + c_i. Returns (migrant, means left) per buyer, in
        queue order; records demand and supply for the next price."""
        slots, self.credit = passages_on_offer(self.credit, capacity)
        n = self.n
        eligible = self.alive[:n] & edge_open[self.next_edge[:n]]
        self.wanted = int(np.count_nonzero(eligible))
        self.offered = slots
        if slots == 0 or self.wanted == 0:
            return []
        means = means_now(self.base[:n], self.savings[:n], t)
        pos = buyers(means, fee + self.need[:n], eligible, slots)
        out: list[tuple[Migrant, float]] = []
        for p, m in zip(pos.tolist(), (means[pos] - fee).tolist()):
            agent = self.agents[p]
            assert agent is not None
            out.append((agent, m))
            self.alive[p] = False
            self.agents[p] = None
        self.waiting -= len(out)
        if self.n > 64 and 2 * self.waiting < self.n:
            self._compact()
        return out

    def _compact(self) -> None:
        keep = np.flatnonzero(self.alive[: self.n])
        for name in ("base", "savings", "need", "next_edge", "alive"):
            arr = getattr(self, name)
            arr[: keep.size] = arr[keep]
            arr[keep.size:] = 0
        agents = [self.agents[i] for i in keep.tolist()]
        for new_pos, agent in enumerate(agents):
            assert agent is not None
            agent.queue_pos = new_pos
        self.agents = list(agents)
        self.n = keep.size
