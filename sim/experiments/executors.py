"""Where runs execute, behind the concurrent.futures.Executor interface.

- local processes (`ProcessPoolExecutor`, forkserver start method, `workers` processes);
- Dask: an existing cluster (`scheduler` = its address) or a `LocalCluster` (`scheduler` = "local"), made in
  sim/experiments/dask_cluster.py (the checks of the address, and of a scheduler lost during the sweep, are there).

`drive` feeds tasks to an executor, keeps at most `capacity` in flight, and hands each result to a callback in
completion order. A local worker process that dies (segfault, out of memory, os._exit) breaks the pool: the pool is
rebuilt and every run that was in flight is retried alone in a fresh one-process pool, so the blame falls on the
right run; a run whose process dies `max_attempts` times is recorded as failed. A pool that cannot start its
processes (the forkserver killed, say) is rebuilt without blaming any run, after a short wait (a killed
forkserver is restarted once it is gone), up to START_ATTEMPTS times in a row.
(Dask retries tasks of a dead worker itself, up to its `allowed-failures`, and then reports `KilledWorker`,
recorded as failed.)

Local worker processes never outlive the sweep: each exits as soon as the sweep process dies (a thread waits on
the parent's sentinel; on Linux PR_SET_PDEATHSIG also ends it when the forkserver dies), which closes the
forkserver's and resource tracker's last pipes, so they exit too. The forkserver and the workers are started with
SIGINT blocked: Ctrl-C reaches only the sweep process, which holds it until `drive` looks (within WAKE seconds)
and then stops the workers itself.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from sim.engine.engines import ENSEMBLE_DEFAULT, engine_module
from sim.errors import UsageError
from sim.experiments.backends import Backend, BackendLost
from sim.interrupts import SignalsDeferred

MAX_ATTEMPTS = 3
START_ATTEMPTS = 5  # pools in a row that fail to start their processes before the sweep gives up
WAKE = 0.1  # seconds between looks for a held Ctrl-C while runs are in flight
TERMINATE_WAIT = 5.0  # seconds a terminated local worker has to exit (SIGTERM ends it at once)
STUCK_WAIT = 1.0  # seconds every local worker may be dead with runs in flight before the pool is taken as stuck


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


# ---------------------------------------------------------------------------------------- local processes


def _start_forkserver(engine: str) -> None:
    """Start the forkserver (if it is not running) with SIGINT blocked, so that it and every worker it forks
    inherit the blocked signal: a Ctrl-C on the terminal then interrupts only the sweep process. The forkserver
    imports the task and `engine`'s module once, before it forks any worker, so that a worker starts without
    importing them (about 1 s a pool otherwise: a calibration starts a pool per round). The preload must be set
    before the forkserver starts: a running forkserver keeps the modules it started with."""
    from multiprocessing import forkserver, resource_tracker

    multiprocessing.get_context("forkserver").set_forkserver_preload(["sim.experiments.task", engine_module(engine)])

    resource_tracker.ensure_running()  # it blocks and then *unblocks* SIGINT itself: start it first
    if not hasattr(signal, "pthread_sigmask"):
        forkserver.ensure_running()
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _start_forkserver_or_say_why(engine: str) -> None:
    """`_start_forkserver`, with the one failure the user can mend named: the forkserver listens on a Unix socket
    in a directory under TMPDIR (`<tmp>/pymp-XXXXXXXX/listener-XXXXXXXX`), and a socket's path is at most 107
    bytes, so a TMPDIR longer than about 75 bytes (a batch system's per-job directory) stopped every sweep with
    "OSError: AF_UNIX path too long". UsageError then."""
    try:
        _start_forkserver(engine)
    except OSError as exc:
        if "AF_UNIX path too long" not in str(exc):
            raise
        tmp = tempfile.gettempdir()
        raise UsageError(f"the temporary directory {tmp} ({len(os.fsencode(tmp))} bytes; TMPDIR) is too long for the "
                         "worker processes' socket, whose path may have at most 107 bytes: set TMPDIR to a directory "
                         "with a shorter path (at most 75 bytes), e.g. TMPDIR=/tmp") from None


def _worker_init() -> None:
    """In each worker: ignore SIGINT, and exit when the sweep process (or, on Linux, the forkserver) dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            pr_set_pdeathsig = 1
            ppid = os.getppid()
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != ppid:  # the parent died before prctl took effect
                os._exit(1)
        except (OSError, AttributeError):
            pass
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        def watch(sentinel=parent.sentinel):
            from multiprocessing.connection import wait as wait_ready

            wait_ready([sentinel])  # readable only when the sweep process has died
            os._exit(1)

        threading.Thread(target=watch, name="bordersim-parent-watch", daemon=True).start()


def _process_pool(workers: int, engine: str = ENSEMBLE_DEFAULT) -> ProcessPoolExecutor:
    _start_forkserver(engine)  # a killed forkserver is started again
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                               initializer=_worker_init)


@contextmanager
def backend(workers: int | None = None, scheduler: str | None = None, engine: str = ENSEMBLE_DEFAULT):
    """Yield a Backend for local processes (default) or Dask (`scheduler` address or "local",
    sim/experiments/dask_cluster.py); local workers start with `engine`'s module imported."""
    workers = workers or default_workers()
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, found {workers}")
    if scheduler is None:
        _start_forkserver_or_say_why(engine)  # before the caller writes anything
        yield Backend("processes", workers, lambda: _process_pool(workers, engine), lambda: _process_pool(1, engine),
                      poll=WAKE, start_errors=(BrokenProcessPool, EOFError, OSError))  # poll: waits end, see drive
        return
    from sim.experiments.dask_cluster import dask_backend

    with dask_backend(workers, scheduler) as be:
        yield be


# ------------------------------------------------------------------------------------------------ driving


def drive[T](tasks: Iterable[T], submit: Callable[[Executor, T], Future], be: Backend,
             on_result: Callable[[T, Any], None], on_lost: Callable[[T, str], None]) -> None:
    """Run every task; call on_result(task, output) as each finishes, on_lost(task, message) for runs whose worker
    died MAX_ATTEMPTS times. Raises BackendLost when `be.check()` reports the backend gone (checked every
    `be.poll` seconds of waiting). A Ctrl-C is held (`SignalsDeferred`) and raised at the loop's next look, within
    WAKE seconds and after the results in hand are recorded; it cancels what is pending, kills the workers
    (`_terminate`) and propagates as KeyboardInterrupt."""
    pending = deque(tasks)
    capacity = be.workers
    executor = be.make()
    inflight: dict[Future, T] = {}
    restarts = 0  # pools in a row that could not start their processes
    checked = time.monotonic()  # when be.check() last ran
    dead_since: float | None = None  # since when every local worker has been dead with runs in flight
    with SignalsDeferred() as ctrl_c:  # Ctrl-C is raised only at the ctrl_c.check() calls
        try:
            while pending or inflight:
                ctrl_c.check()  # after the last results were recorded: a Ctrl-C loses no finished run
                error = None
                broken = False
                while pending and len(inflight) < capacity:
                    task = pending.popleft()
                    try:
                        inflight[submit(executor, task)] = task
                    except be.start_errors as exc:
                        pending.appendleft(task)
                        error = exc
                        break
                    except BrokenProcessPool:  # a worker died since the last wait: its runs fail below, a new pool
                        pending.appendleft(task)
                        broken = True
                        break
                    except Exception:
                        problem = be.check()
                        if problem:
                            raise BackendLost(problem) from None
                        raise
                if broken and not inflight:
                    _shutdown(executor)
                    executor = be.make()
                    continue
                if error is not None and not inflight:  # nothing runs: the pool cannot start its processes
                    restarts += 1
                    if restarts >= START_ATTEMPTS:
                        raise RuntimeError(f"cannot start worker processes ({type(error).__name__}: {error})")
                    _terminate(executor)
                    time.sleep(0.1 * 2 ** restarts)
                    executor = be.make()
                    continue
                # (a pool broken with runs in flight fails them with BrokenProcessPool: handled below as a dead worker)
                timeout = WAKE if ctrl_c.active else be.poll  # a held Ctrl-C is seen within WAKE seconds
                done, _ = wait(list(inflight), timeout=timeout, return_when=FIRST_COMPLETED)
                if not done:
                    if be.poll is not None and time.monotonic() - checked >= be.poll:
                        checked = time.monotonic()
                        problem = be.check()
                        if problem:
                            raise BackendLost(problem)
                    dead_since = _release_stuck_pool(executor, dead_since)
                    continue
                dead_since = None
                lost = []
                for fut in done:
                    task = inflight.pop(fut)
                    try:
                        out = fut.result()
                    except BrokenProcessPool:
                        lost.append(task)
                    except CancelledError:  # not by us: a Dask client that lost its scheduler cancels everything
                        problem = be.check()
                        if problem:
                            raise BackendLost(problem) from None
                        pending.appendleft(task)
                    except Exception as exc:  # noqa: BLE001 - e.g. Dask's KilledWorker: record, go on
                        on_lost(task, f"{type(exc).__name__}: {exc}")
                    else:
                        restarts = 0
                        on_result(task, out)
                if lost:
                    lost += list(inflight.values())
                    inflight.clear()
                    _shutdown(executor)
                    for task in lost:
                        _retry_alone(task, submit, be, on_result, on_lost, ctrl_c)
                    executor = be.make()
        except BaseException:
            for fut in inflight:
                fut.cancel()
            _terminate(executor)
            raise
        else:
            executor.shutdown(wait=True)


def _retry_alone(task, submit, be: Backend, on_result, on_lost, ctrl_c: SignalsDeferred) -> None:
    attempt = starts = 0
    while attempt < MAX_ATTEMPTS:
        attempt += 1
        executor = be.isolated() if be.isolated else be.make()
        try:
            future = submit(executor, task)
            out = _result(future, ctrl_c, executor)
        except BrokenProcessPool:
            if attempt == MAX_ATTEMPTS:
                on_lost(task, f"worker process died {MAX_ATTEMPTS} times running this run "
                              "(crash, out of memory or os._exit; or bordersim's files changed while the sweep "
                              "ran)")
            continue
        except be.start_errors as exc:
            starts += 1
            if starts >= START_ATTEMPTS:
                raise RuntimeError(f"cannot start worker processes ({type(exc).__name__}: {exc})") from None
            attempt -= 1  # not this run's fault
            time.sleep(0.1 * 2 ** starts)
            continue
        finally:
            _shutdown(executor)
        on_result(task, out)
        return


def _result(future: Future, ctrl_c: SignalsDeferred, executor: Executor) -> Any:
    """The future's result, looking for a held Ctrl-C (and a stuck pool, `_release_stuck_pool`) every WAKE
    seconds while it runs."""
    dead_since: float | None = None
    while True:
        try:
            return future.result(timeout=WAKE)
        except TimeoutError:
            ctrl_c.check()
            dead_since = _release_stuck_pool(executor, dead_since)


def _release_stuck_pool(executor: Executor, dead_since: float | None) -> float | None:
    """A local pool whose workers are all dead while runs are in flight: a worker killed while it wrote a result
    (the forkserver killed, whose death ends its workers; out of memory) leaves part of a message in the result
    pipe, and the executor's thread waits for the rest for ever, so the runs never end and the sweep hung. After
    STUCK_WAIT seconds of dead workers (a pool that is merely broken fails its runs within milliseconds), the pipe's
    last write end, which this process holds, is closed: the thread reads end-of-file, takes the pool for broken and
    fails the runs with BrokenProcessPool, which `drive` retries. Returns the new `dead_since`."""
    if not isinstance(executor, ProcessPoolExecutor):
        return None
    try:
        procs = _workers(executor)
    except RuntimeError:  # the executor's thread changed the dict meanwhile: look again next time
        return dead_since
    if not procs or any(proc.is_alive() for proc in procs):
        return None
    now = time.monotonic()
    if dead_since is None:
        return now
    if now - dead_since < STUCK_WAIT:
        return dead_since
    _close(_result_writer(executor))
    return None


def _workers(executor: Executor) -> list:
    """The local worker processes of an executor (none for Dask's)."""
    return list((getattr(executor, "_processes", None) or {}).values())


def _result_writer(executor: Executor):
    """This process's write end of a local pool's result pipe (None for Dask's; shutdown() forgets it)."""
    return getattr(getattr(executor, "_result_queue", None), "_writer", None)


def _close(writer) -> None:
    """Close the result pipe's write end: with the workers gone it is the last one, so a thread waiting on the
    pipe reads end-of-file."""
    if writer is not None:
        try:
            writer.close()
        except OSError:
            pass


def _shutdown(executor: Executor) -> None:
    """Shut an executor down without waiting, cancelling what has not started (Dask's executor takes no
    cancel_futures and cancels its futures itself)."""
    try:
        if isinstance(executor, ProcessPoolExecutor):
            executor.shutdown(wait=False, cancel_futures=True)
        else:
            executor.shutdown(wait=False)
    except Exception:  # noqa: BLE001 - an executor whose cluster is gone: nothing left to shut down
        pass


def _terminate(executor: Executor) -> None:
    """Stop an executor now: kill local worker processes rather than wait for their runs.

    A worker killed while it wrote a result leaves part of a message in the result pipe; the executor's thread
    then waits for the rest for ever, and the interpreter joins that thread at exit: the sweep hung after Ctrl-C
    (about once in 100 interruptions on a loaded machine). Once the workers are gone this process holds the
    pipe's last write end (the forkserver closes its copies), so closing it turns that wait into end-of-file,
    which the thread takes for a broken pool, and it ends."""
    procs = _workers(executor)
    writer = _result_writer(executor)  # before shutdown(), which forgets the queue
    for proc in procs:
        try:
            proc.terminate()
        except (OSError, AttributeError):
            pass
    _shutdown(executor)
    for proc in procs:
        proc.join(TERMINATE_WAIT)
    if not any(proc.is_alive() for proc in procs):
        _close(writer)
