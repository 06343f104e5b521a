"""The broker queue of one transit node (docs/model.md §14): numpy arrays in order of joining, so that a step's sale
is one vectorised scan (`sim.rules.brokers`), however long the queue. Shared by every engine: an entry's `item` is
the engine's handle of the migrant (a Mesa agent, or a row of the array engine).

Each entry holds the item, base_i = m_i(t_i) - s_i * t_i (so that its means at step t are base_i + s_i * t),
its savings per step s_i, c_i the cost of the legs the passage takes it along, its next edge, and whether it is
still waiting (arrested people and buyers are marked gone; the arrays are compacted when more than half the
entries are gone, and `on_compact(items)` tells the engine the new positions 0, 1, ...). The node's price
follows `sim.rules.brokers.scarcity_price` from the previous step's demand (queued and eligible) and supply
(the capacity per month then).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.rules.brokers import buyers, means_now, passages_on_offer, scarcity_price


class BrokerQueue:
    """The queue at one broker node, its passage credit and its price."""

    def __init__(self, node: int, elasticity: float, fee_max: float | None, step_months: float = 1.0):
        self.node = node
        self.step_months = step_months  # Δ: the capacity given to `sell` is per step, K·Δ
        self.elasticity = elasticity
        self.fee_max = fee_max
        self.items: list[object | None] = []
        self.base = np.zeros(16)
        self.savings = np.zeros(16)
        self.need = np.zeros(16)
        self.next_edge = np.zeros(16, dtype=np.int64)
        self.alive = np.zeros(16, dtype=bool)
        self.n = 0  # entries used
        self.waiting = 0  # entries alive
        self.credit = 0.0  # fraction of a passage accrued
        self.wanted = 0  # Q: queued and eligible at the last sale
        self.supply = 0.0  # K: the capacity per month in force at the last sale
        self.on_compact: Callable[[list], None] | None = None  # the engine's: items now stand at 0, 1, ...

    def join(self, items: list, base: np.ndarray, savings: np.ndarray, need: np.ndarray,
             next_edge: np.ndarray) -> np.ndarray:
        """Append `items` in the order given (base_i = means - savings * arrival step, savings per step, c_i, next
        edge); their positions."""
        k = len(items)
        if self.n + k > self.alive.size:
            size = self.alive.size
            while size < self.n + k:
                size *= 2
            for name in ("base", "savings", "need", "next_edge", "alive"):
                old = getattr(self, name)
                new = np.zeros(size, dtype=old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        i = self.n
        self.items.extend(items)
        self.base[i:i + k] = base
        self.savings[i:i + k] = savings
        self.need[i:i + k] = need
        self.next_edge[i:i + k] = next_edge
        self.alive[i:i + k] = True
        self.n += k
        self.waiting += k
        return np.arange(i, i + k, dtype=np.int64)

    def leave(self, pos: int) -> None:
        """The entry at `pos` no longer waits (arrested)."""
        self.alive[pos] = False
        self.items[pos] = None
        self.waiting -= 1

    def leave_many(self, pos: np.ndarray) -> None:
        """The entries at `pos` (distinct) no longer wait (arrested)."""
        self.alive[pos] = False
        for p in pos.tolist():
            self.items[p] = None
        self.waiting -= int(pos.size)

    def price(self, base_fee: float) -> float:
        """F(t) from the base fee in force and the last sale's demand and supply per month."""
        return scarcity_price(base_fee, self.wanted, self.supply, self.elasticity, self.fee_max)

    def sell(self, t: int, capacity: float, fee: float, edge_open: np.ndarray) -> tuple[list, np.ndarray]:
        """Offer floor(credit + capacity) passages at price `fee`: the first buyers in queue order among those
        waiting, whose next edge is open and who can pay fee + c_i. Returns the buyers' items, in queue order, and
        the means each has left; records demand (queued and eligible) and supply (the capacity per month,
        `capacity` / Δ) for the next price."""
        slots, self.credit = passages_on_offer(self.credit, capacity)
        n = self.n
        eligible = self.alive[:n] & edge_open[self.next_edge[:n]]
        self.wanted = int(np.count_nonzero(eligible))
        self.supply = capacity / self.step_months
        if slots == 0 or self.wanted == 0:
            return [], np.empty(0)
        means = means_now(self.base[:n], self.savings[:n], t)
        pos = buyers(means, fee + self.need[:n], eligible, slots)
        left = means[pos] - fee
        out = []
        for p in pos.tolist():
            out.append(self.items[p])
            self.items[p] = None
        self.alive[pos] = False
        self.waiting -= len(out)
        if self.n > 64 and 2 * self.waiting < self.n:
            self._compact()
        return out, left

    def _compact(self) -> None:
        keep = np.flatnonzero(self.alive[: self.n])
        for name in ("base", "savings", "need", "next_edge", "alive"):
            arr = getattr(self, name)
            arr[: keep.size] = arr[keep]
            arr[keep.size:] = 0
        self.items = [self.items[i] for i in keep.tolist()]
        self.n = keep.size
        if self.on_compact is not None:
            self.on_compact(self.items)
