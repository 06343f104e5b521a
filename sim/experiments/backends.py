"""What `drive` runs tasks on: a Backend (how to make executors, how to tell the backend is gone) and the error of
a backend lost during a sweep. Local processes are made in sim/experiments/executors.py, Dask in
sim/experiments/dask_cluster.py."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass


class BackendLost(Exception):
    """The executor's cluster went away during the sweep (finished runs are kept; the sweep can be resumed)."""


@dataclass
class Backend:
    """A way to make executors: `make()` returns a fresh executor; `isolated()` a one-worker one (or None).
    `check()` returns why the backend can no longer run anything (or None); `poll` is how often (seconds) `drive`
    calls it while waiting (None: never). `start_errors` are the errors of an executor that cannot start its
    processes (it is rebuilt, no run is blamed)."""

    name: str
    workers: int
    make: Callable[[], Executor]
    isolated: Callable[[], Executor] | None = None
    check: Callable[[], str | None] = lambda: None
    poll: float | None = None
    start_errors: tuple[type[BaseException], ...] = ()
