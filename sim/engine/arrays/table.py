"""People on the way as rows of arrays (structure of arrays): one row per migrant, a column per attribute.

Columns (dtype, bytes a row):
    person int32 (4)        index in the population (journey draws are keyed by it)
    t0 int32 (4)            the step the journey started (the key of its draws, sim.rules.streams.JOURNEY)
    left_home int32 (4)     the step the person left home: t0, or before step 0 for the initial stock
    jkey uint64 (8)         h(key, JOURNEY, person, t0): the journey's draws without their slot
                            (sim.rules.streams.journey_keys), so that each draw costs one mix, not three
    path int32 (4)          candidate path; route, origin, edges and nodes come from the path tables
    leg int16 (2)           index of the edge being crossed or next to cross
    group uint8 (1), female bool (1)
    action uint8 (1)        the event due: CROSS, LEAVE or ARREST
    stuck uint8 (1)         FREE, QUEUED (for a passage) or BLOCKED (by a closed edge)
    due int32 (4)           step of the event due (NEVER: none)
    waiting_at int32 (4)    node while stopped at a transit node, else -1
    wait_since, arrived_at int32 (4 + 4)
    queue_pos int32 (4)     position in the node's broker queue while QUEUED
    means, e_arrest, e_leave, leave_at, arrest_at float64 (5 x 8)
    alive bool (1)
91 bytes a row. Rows of finished migrants are reused (a stack of free rows); the arrays grow by doubling.
"""

from __future__ import annotations

import numpy as np

NEVER = np.iinfo(np.int32).max  # `due` of a row with no event
CROSS, LEAVE, ARREST = 0, 1, 2
FREE, QUEUED, BLOCKED = 0, 1, 2

COLUMNS = {
    "person": np.int32, "t0": np.int32, "left_home": np.int32, "jkey": np.uint64, "path": np.int32, "leg": np.int16,
    "group": np.uint8, "female": np.bool_,
    "action": np.uint8, "stuck": np.uint8, "due": np.int32, "waiting_at": np.int32, "wait_since": np.int32,
    "arrived_at": np.int32, "queue_pos": np.int32, "means": np.float64, "e_arrest": np.float64,
    "e_leave": np.float64, "leave_at": np.float64, "arrest_at": np.float64, "alive": np.bool_,
}


class MigrantTable:
    """The columns of `COLUMNS`, `n` rows in use (alive or free), `free` the stack of reusable rows."""

    person: np.ndarray
    t0: np.ndarray
    left_home: np.ndarray
    jkey: np.ndarray
    path: np.ndarray
    leg: np.ndarray
    group: np.ndarray
    female: np.ndarray
    action: np.ndarray
    stuck: np.ndarray
    due: np.ndarray
    waiting_at: np.ndarray
    wait_since: np.ndarray
    arrived_at: np.ndarray
    queue_pos: np.ndarray
    means: np.ndarray
    e_arrest: np.ndarray
    e_leave: np.ndarray
    leave_at: np.ndarray
    arrest_at: np.ndarray
    alive: np.ndarray

    def __init__(self, capacity: int = 1024):
        self.capacity = capacity
        for name, dtype in COLUMNS.items():
            setattr(self, name, np.zeros(capacity, dtype=dtype))
        self.due[:] = NEVER
        self.n = 0
        self.free = np.empty(0, dtype=np.int64)
        self.peak = 0  # most rows alive at once

    def alloc(self, k: int) -> np.ndarray:
        """k rows for new migrants: free rows first, then new ones (growing the arrays by doubling)."""
        take = min(k, self.free.size)
        rows = self.free[self.free.size - take:]
        self.free = self.free[: self.free.size - take]
        extra = k - take
        if extra:
            if self.n + extra > self.capacity:
                size = self.capacity
                while size < self.n + extra:
                    size *= 2
                for name, dtype in COLUMNS.items():
                    old = getattr(self, name)
                    new: np.ndarray = np.zeros(size, dtype=dtype)
                    new[: self.n] = old[: self.n]
                    setattr(self, name, new)
                self.due[self.n:] = NEVER
                self.capacity = size
            rows = np.concatenate([rows, np.arange(self.n, self.n + extra, dtype=np.int64)])
            self.n += extra
        self.alive[rows] = True
        self.peak = max(self.peak, self.n - self.free.size)
        return rows

    def release(self, rows: np.ndarray) -> None:
        """The migrants of `rows` are done: their rows are free for reuse."""
        self.alive[rows] = False
        self.due[rows] = NEVER
        self.free = np.concatenate([self.free, rows])

    def bytes_per_row(self) -> int:
        return sum(np.dtype(d).itemsize for d in COLUMNS.values())
