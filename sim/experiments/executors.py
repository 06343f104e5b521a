"""Where runs execute, behind the concurrent.futures.Executor interface.

- local processes (`ProcessPoolExecutor`, forkserver start method, `workers` processes);
- Dask: an existing cluster (`scheduler` = its address) or a `LocalCluster` (`scheduler` = "local"), through
  `distributed.Client.get_executor()`; needs the optional extra `bordersim[cluster]`.

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

Dask: the address is checked; the scheduler must answer, and have a worker, within T seconds (Dask's
`distributed.comm.timeouts.connect`, 30 s by default), else UsageError; a scheduler lost during the sweep, or left
without workers, for T seconds raises `BackendLost`. A message each time, never a hang.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sim.engine.engines import ENSEMBLE_DEFAULT, engine_module
from sim.errors import UsageError

MAX_ATTEMPTS = 3
START_ATTEMPTS = 5  # pools in a row that fail to start their processes before the sweep gives up
POLL = 1.0  # seconds between checks of a Dask backend while waiting
WAKE = 0.1  # seconds between looks for a held Ctrl-C while runs are in flight
TERMINATE_WAIT = 5.0  # seconds a terminated local worker has to exit (SIGTERM ends it at once)


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
    close: Callable[[], None] = lambda: None
    check: Callable[[], str | None] = lambda: None
    poll: float | None = None
    start_errors: tuple[type[BaseException], ...] = ()


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


# ---------------------------------------------------------------------------------------- local processes


def _start_forkserver() -> None:
    """Start the forkserver (if it is not running) with SIGINT blocked, so that it and every worker it forks
    inherit the blocked signal: a Ctrl-C on the terminal then interrupts only the sweep process."""
    from multiprocessing import forkserver, resource_tracker

    resource_tracker.ensure_running()  # it blocks and then *unblocks* SIGINT itself: start it first
    if not hasattr(signal, "pthread_sigmask"):
        forkserver.ensure_running()
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


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


class _sigint_deferred:
    """Ctrl-C (SIGINT) held as a flag while runs are driven, raised as KeyboardInterrupt only where the holder looks
    (`check()`) and when the block ends. Raised wherever the signal lands it could fall inside a weakref callback,
    where Python prints "Exception ignored" and drops it (the sweep then ran to its end and exited 0), inside the
    executor's bookkeeping, or inside a pool starting a worker, which then loses track of it. A process started
    with SIGINT ignored (nohup, `&` in a script) keeps ignoring it; off the main thread nothing is installed."""

    def __init__(self) -> None:
        self.received = False
        self.active = False
        self._old: Any = None

    def __enter__(self) -> _sigint_deferred:
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            try:
                self._old = signal.signal(signal.SIGINT, self._record)
                self.active = True
            except ValueError:  # not the main interpreter
                pass
        return self

    def _record(self, signum, frame) -> None:
        self.received = True

    def check(self) -> None:
        """KeyboardInterrupt if a Ctrl-C came since the block began."""
        if self.received:
            raise KeyboardInterrupt

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.active:
            signal.signal(signal.SIGINT, self._old)
        if self.received and exc_type is None:
            raise KeyboardInterrupt


def _process_pool(workers: int, engine: str = ENSEMBLE_DEFAULT) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.experiments.task", engine_module(engine)])  # workers fork with it imported
    _start_forkserver()
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)


# ------------------------------------------------------------------------------------------------- Dask


def check_scheduler_address(address: str) -> None:
    """UsageError unless `address` is 'local' or PROTOCOL://HOST:PORT (PROTOCOL:// may be left out: tcp)."""
    if address == "local":
        return
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    hint = "give tcp://HOST:PORT of a Dask scheduler, or 'local' for a local cluster"
    try:
        scheme, location = parse_address(address)
        if scheme not in backends:
            raise ValueError(f"unknown protocol '{scheme}://'")
        if scheme == "inproc":
            raise ValueError("an in-process address cannot be reached from this command")
        host, port = parse_host_port(location)
        if not host or not 0 < int(port) < 65536:
            raise ValueError("needs a host and a port from 1 to 65535")
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--scheduler '{address}' is not a scheduler address ({exc}); {hint}") from None


def dask_timeout() -> float:
    """Seconds a Dask scheduler has to answer (Dask's `distributed.comm.timeouts.connect`)."""
    import dask
    from dask.utils import parse_timedelta

    return float(parse_timedelta(dask.config.get("distributed.comm.timeouts.connect", "30s"), default="seconds"))


def probe_scheduler(address: str, timeout: float) -> dict:
    """Ask `address` who it is, within `timeout` seconds in all; its identity when it is a Dask scheduler, else
    UsageError (nothing listening, something else listening, no answer)."""
    import asyncio

    from distributed.comm import connect

    async def ask() -> dict:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> dict:
        return await asyncio.wait_for(ask(), timeout)

    result: dict = {}

    def run() -> None:  # in a thread of its own: the caller may already be running an event loop (Jupyter)
        try:
            result["identity"] = asyncio.run(bounded())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            result["error"] = exc

    thread = threading.Thread(target=run, name="bordersim-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 5)
    try:
        if thread.is_alive():
            raise TimeoutError
        if "error" in result:
            raise result["error"]
        identity = result["identity"]
    except (TimeoutError, asyncio.TimeoutError):
        raise UsageError(f"--scheduler {address}: no Dask scheduler answered within {timeout:.0f} s (is it running, "
                         "and is the address right?)") from None
    except Exception as exc:  # noqa: BLE001 - whatever a non-scheduler does to the protocol: say so
        raise UsageError(f"--scheduler {address}: cannot talk to a Dask scheduler there ({type(exc).__name__}: "
                         f"{exc})") from None
    if not isinstance(identity, dict) or identity.get("type") != "Scheduler":
        raise UsageError(f"--scheduler {address}: what answers there is not a Dask scheduler")
    return identity


def _dask_check(client, lost_after: float, idle_after: float):
    """A Backend.check for a Dask client: why it is unusable (disconnected for `lost_after` seconds, closed, no
    worker for `idle_after` seconds), or None."""
    since: dict[str, float | None] = {"down": None, "idle": None}

    def check() -> str | None:
        now = time.monotonic()
        status = str(getattr(client.status, "value", client.status))
        if status in ("closed", "closing", "failed"):
            return f"the connection to the Dask scheduler was lost (client {status})"
        if status != "running":
            down = since["down"] = since["down"] or now
            if now - down > lost_after:
                return f"the Dask scheduler has not answered for {lost_after:.0f} s"
            return None
        since["down"] = None
        # the identity the client refreshes itself every 2 s (scheduler_info() would ask the scheduler, and could
        # block on one that hangs); when it is not there, do not judge
        info = getattr(client, "_scheduler_identity", None) or {}
        workers = info.get("n_workers", 1) if hasattr(info, "get") else 1
        if workers:
            since["idle"] = None
        else:
            idle = since["idle"] = since["idle"] or now
            if now - idle > idle_after:
                return f"the Dask scheduler has had no worker for {idle_after:.0f} s"
        return None

    return check


@contextmanager
def backend(workers: int | None = None, scheduler: str | None = None, engine: str = ENSEMBLE_DEFAULT):
    """Yield a Backend for local processes (default) or Dask (`scheduler` address or "local"); local workers start
    with `engine`'s module imported."""
    workers = workers or default_workers()
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, found {workers}")
    if scheduler is None:
        n = workers  # an int; a name the lambda can keep (`workers` is reassigned below)
        yield Backend("processes", n, lambda: _process_pool(n, engine), lambda: _process_pool(1, engine),
                      start_errors=(BrokenProcessPool, EOFError, OSError))
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--scheduler needs Dask: install the extra with `pip install 'bordersim[cluster]'`") \
            from None
    check_scheduler_address(scheduler)
    cluster = None
    timeout = dask_timeout()
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        identity = probe_scheduler(scheduler, timeout)
        try:
            client = Client(scheduler, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - lost between the probe and the connection
            raise UsageError(f"--scheduler {scheduler}: cannot connect ({type(exc).__name__}: {exc})") from None
        try:
            if not identity.get("workers"):
                client.wait_for_workers(1, timeout=timeout)
            workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
        except Exception:  # noqa: BLE001 - TimeoutError and whatever a dying scheduler raises
            _close_client(client)
            raise UsageError(f"--scheduler {scheduler}: the Dask scheduler has no worker (none joined within "
                             f"{timeout:.0f} s); start workers with `dask worker {scheduler}`") from None
    try:
        with _quiet_client_logs() if cluster is None else nullcontext():
            try:
                yield Backend("dask", workers, lambda: client.get_executor(pure=False),
                              check=_dask_check(client, timeout, timeout), poll=POLL)
            finally:
                _close_client(client)
    finally:
        if cluster is not None:
            cluster.close()


@contextmanager
def _quiet_client_logs():
    """Silence the Dask client's own connection logs (a lost scheduler logs tracebacks): `BackendLost` says it."""
    import logging

    loggers = [logging.getLogger(n) for n in ("distributed.client", "distributed.batched", "distributed.comm",
                                              "distributed.core", "distributed.utils")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _close_client(client) -> None:
    try:
        client.close(timeout=5)
    except Exception:  # noqa: BLE001 - closing a client whose scheduler is gone: nothing left to do
        pass


# ------------------------------------------------------------------------------------------------ driving


def drive[T](tasks: Iterable[T], submit: Callable[[Executor, T], Future], be: Backend,
             on_result: Callable[[T, Any], None], on_lost: Callable[[T, str], None]) -> None:
    """Run every task; call on_result(task, output) as each finishes, on_lost(task, message) for runs whose worker
    died MAX_ATTEMPTS times. Raises BackendLost when `be.check()` reports the backend gone (checked every
    `be.poll` seconds of waiting). A Ctrl-C is held (`_sigint_deferred`) and raised at the loop's next look, within
    WAKE seconds and after the results in hand are recorded; it cancels what is pending, kills the workers
    (`_terminate`) and propagates as KeyboardInterrupt."""
    pending = deque(tasks)
    capacity = be.workers
    executor = be.make()
    inflight: dict[Future, T] = {}
    restarts = 0  # pools in a row that could not start their processes
    checked = time.monotonic()  # when be.check() last ran
    with _sigint_deferred() as ctrl_c:  # Ctrl-C is raised only at the ctrl_c.check() calls
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
                    continue
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


def _retry_alone(task, submit, be: Backend, on_result, on_lost, ctrl_c: _sigint_deferred) -> None:
    attempt = starts = 0
    while attempt < MAX_ATTEMPTS:
        attempt += 1
        executor = be.isolated() if be.isolated else be.make()
        try:
            future = submit(executor, task)
            out = _result(future, ctrl_c)
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


def _result(future: Future, ctrl_c: _sigint_deferred) -> Any:
    """The future's result, looking for a held Ctrl-C every WAKE seconds while it runs."""
    while True:
        try:
            return future.result(timeout=WAKE)
        except TimeoutError:
            ctrl_c.check()


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
    procs = list((getattr(executor, "_processes", None) or {}).values())
    writer = getattr(getattr(executor, "_result_queue", None), "_writer", None)  # shutdown() forgets the queue
    for proc in procs:
        try:
            proc.terminate()
        except (OSError, AttributeError):
            pass
    _shutdown(executor)
    for proc in procs:
        proc.join(TERMINATE_WAIT)
    if writer is not None and not any(proc.is_alive() for proc in procs):
        writer.close()
