"""Where runs execute, behind the concurrent.futures.Executor interface.

- local processes (`ProcessPoolExecutor`, forkserver start method, `workers` processes);
- Dask: an existing cluster (`scheduler` = its address) or a `LocalCluster` (`scheduler` = "local"), through
  `distributed.Client.get_executor()`; needs the optional extra `bordersim[cluster]`.

`drive` feeds tasks to an executor, keeps at most `capacity` in flight, and hands each result to a callback in
completion order. A local worker process that dies (segfault, out of memory, os._exit) breaks the pool: the pool is
rebuilt and every run that was in flight is retried alone in a fresh one-process pool, so the blame falls on the
right run; a run whose process dies `max_attempts` times is recorded as failed. (Dask retries tasks of a dead worker
itself, up to its `allowed-failures`, and then reports `KilledWorker`, recorded as failed.)
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass

from sim.scenario import ScenarioError

MAX_ATTEMPTS = 3


@dataclass
class Backend:
    """A way to make executors: `make()` returns a fresh executor; `isolated()` a one-worker one (or None)."""

    name: str
    workers: int
    make: Callable[[], Executor]
    isolated: Callable[[], Executor] | None = None
    close: Callable[[], None] = lambda: None


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _process_pool(workers: int) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.experiments.task", "sim.model"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


@contextmanager
def backend(workers: int | None = None, scheduler: str | None = None):
    """Yield a Backend for local processes (default) or Dask (`scheduler` address or "local")."""
    workers = workers or default_workers()
    if workers < 1:
        raise ScenarioError(f"--workers must be at least 1, found {workers}")
    if scheduler is None:
        yield Backend("processes", workers, lambda: _process_pool(workers), lambda: _process_pool(1))
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ScenarioError("--scheduler needs Dask: install the extra with `pip install 'bordersim[cluster]'`") \
            from None
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ScenarioError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
    try:
        yield Backend("dask", workers, lambda: client.get_executor(pure=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def drive(tasks: Iterable, submit: Callable[[Executor, object], Future], be: Backend,
          on_result: Callable[[object, object], None], on_lost: Callable[[object, str], None]) -> None:
    """Run every task; call on_result(task, output) as each finishes, on_lost(task, message) for runs whose worker
    died MAX_ATTEMPTS times. KeyboardInterrupt cancels what is pending and propagates."""
    pending = deque(tasks)
    capacity = be.workers
    executor = be.make()
    inflight: dict[Future, object] = {}
    try:
        while pending or inflight:
            while pending and len(inflight) < capacity:
                task = pending.popleft()
                inflight[submit(executor, task)] = task
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            lost = []
            for fut in done:
                task = inflight.pop(fut)
                try:
                    out = fut.result()
                except BrokenProcessPool:
                    lost.append(task)
                except Exception as exc:  # noqa: BLE001 - e.g. Dask's KilledWorker: record, go on
                    on_lost(task, f"{type(exc).__name__}: {exc}")
                else:
                    on_result(task, out)
            if lost:
                lost += list(inflight.values())
                inflight.clear()
                executor.shutdown(wait=False, cancel_futures=True)
                for task in lost:
                    _retry_alone(task, submit, be, on_result, on_lost)
                executor = be.make()
    except BaseException:
        for fut in inflight:
            fut.cancel()
        _terminate(executor)
        raise
    else:
        executor.shutdown(wait=True)


def _retry_alone(task, submit, be: Backend, on_result, on_lost) -> None:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        executor = be.isolated() if be.isolated else be.make()
        try:
            out = submit(executor, task).result()
        except BrokenProcessPool:
            if attempt == MAX_ATTEMPTS:
                on_lost(task, f"worker process died {MAX_ATTEMPTS} times running this run "
                              "(crash, out of memory or os._exit)")
            continue
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
        on_result(task, out)
        return


def _terminate(executor: Executor) -> None:
    """Stop an executor now: kill local worker processes rather than wait for their runs."""
    procs = getattr(executor, "_processes", None) or {}
    for proc in list(procs.values()):
        try:
            proc.terminate()
        except (OSError, AttributeError):
            pass
    executor.shutdown(wait=False, cancel_futures=True)
