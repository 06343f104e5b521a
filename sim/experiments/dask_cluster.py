"""Dask as a sweep backend: an existing cluster (`--scheduler` its address) or a LocalCluster (`--scheduler
local`), through `distributed.Client.get_executor()`; needs the optional extra `bordersim[cluster]`. The address is
checked; the scheduler must answer, and have a worker, within T seconds (Dask's `distributed.comm.timeouts.connect`,
30 s by default), else UsageError; a scheduler lost during the sweep, or left without workers, for T seconds makes
`Backend.check` say so (`drive` then raises BackendLost)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sim.errors import UsageError
from sim.experiments.backends import Backend

POLL = 1.0  # seconds between checks of a Dask backend while waiting


def _ctrl_c_ignored():
    """A Dask worker plugin that makes a worker ignore SIGINT, for the workers of a LocalCluster: they share the
    terminal's process group, so a Ctrl-C reached each of them and each printed a traceback, while the sweep
    process stops the cluster itself. (Blocking the signal while the cluster starts is not enough: Dask spawns its
    workers, and the spawned interpreter starts with no signal blocked.) Set up on every worker, a restarted one
    too; the plugin runs on the worker's event loop, its main thread, where a signal handler may be set."""
    from distributed import WorkerPlugin

    class CtrlCIgnored(WorkerPlugin):
        name = "bordersim-ctrl-c-ignored"

        def setup(self, worker) -> None:
            import signal

            signal.signal(signal.SIGINT, signal.SIG_IGN)

    return CtrlCIgnored()


def check_scheduler(scheduler: str) -> None:
    """UsageError when Dask is not installed or `scheduler` is not a scheduler address (`check_scheduler_address`);
    connects to nothing, so a sweep checks it even when it has no run to make."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError("--scheduler needs Dask: install the extra with `pip install 'bordersim[cluster]'`") \
            from None
    check_scheduler_address(scheduler)


@contextmanager
def dask_backend(workers: int, scheduler: str) -> Iterator[Backend]:
    """A Backend on the Dask scheduler at `scheduler` ("local": a LocalCluster of `workers` processes)."""
    check_scheduler(scheduler)
    from distributed import Client, LocalCluster

    cluster = None
    timeout = dask_timeout()
    if scheduler == "local":
        # the scheduler's HTTP server starts even with dashboard_address=None, on 8787, and Dask warns on stderr
        # (with its own file and line) when another cluster holds that port: a free port chosen by the system
        # its workers' warnings (a worker removed with results, a task cancelled) are what a Ctrl-C does: not shown
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        client = Client(cluster)
        client.register_plugin(_ctrl_c_ignored())
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
            close_client(client)
            raise UsageError(f"--scheduler {scheduler}: the Dask scheduler has no worker (none joined within "
                             f"{timeout:.0f} s); start workers with `dask worker {scheduler}`") from None
    try:
        check_workers_import(client, scheduler)
    except UsageError:
        close_client(client)
        if cluster is not None:
            cluster.close()
        raise
    try:
        with quiet_client_logs() if cluster is None else nullcontext():
            try:
                yield Backend("dask", workers, lambda: client.get_executor(pure=False),
                              check=dask_check(client, timeout, timeout), poll=POLL)
            finally:
                close_client(client)
    finally:
        if cluster is not None:
            cluster.close()


WORKER_IMPORT = "import sim.experiments.task"  # what a worker needs to run a task of a sweep


def check_workers_import(client, scheduler: str) -> None:
    """UsageError naming the workers that cannot import bordersim: a task sent to one failed to unpickle there,
    killed the worker, and the sweep ended with "the scheduler has had no worker". Checked with `exec` of the
    import (a builtin: it reaches a worker without bordersim) on every worker now connected."""
    results = client.run(exec, WORKER_IMPORT, on_error="return")
    bad = {address: r for address, r in results.items() if isinstance(r, BaseException)}
    if bad:
        address, exc = next(iter(bad.items()))
        raise UsageError(f"--scheduler {scheduler}: {len(bad)} of {len(results)} worker(s) cannot import bordersim "
                         f"({address}: {type(exc).__name__}: {exc}); install bordersim, the version of this "
                         "command, where the workers run, then start them again")


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


def dask_check(client, lost_after: float, idle_after: float):
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
def quiet_client_logs():
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


def close_client(client) -> None:
    try:
        client.close(timeout=5)
    except Exception:  # noqa: BLE001 - closing a client whose scheduler is gone: nothing left to do
        pass
