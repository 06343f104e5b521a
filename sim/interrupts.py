"""Ctrl-C and SIGTERM held for a moment: while a sweep drives its runs (raised where the driver looks), while a
directory is swapped in by two renames (raised after them), while a sweep's last table is written (dropped); and
once a command has ended, no longer able to change its exit code (`end_with`, `ignore_signals_at_exit`)."""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from typing import Any

from sim.errors import Terminated


class SignalsDeferred:
    """Ctrl-C (SIGINT) held as a flag while runs are driven, raised as KeyboardInterrupt only where the holder looks
    (`check()`) and when the block ends. Raised wherever the signal lands it could fall inside a weakref callback,
    where Python prints "Exception ignored" and drops it (the sweep then ran to its end and exited 0), inside the
    executor's bookkeeping, or inside a pool starting a worker, which then loses track of it. A process started
    with SIGINT ignored (nohup, `&` in a script) keeps ignoring it; off the main thread nothing is installed.
    SIGTERM is held the same way, and raised as `Terminated`, when the process has a handler of its own for it
    (the command line's, sim.entry); otherwise it keeps its disposition (by default it ends the process)."""

    def __init__(self, raise_at_exit: bool = True) -> None:
        self.raise_at_exit = raise_at_exit
        self.received: int | None = None  # the signal held
        self._old: dict[int, Any] = {}

    @property
    def active(self) -> bool:
        """A handler of this block is installed (a held signal is then seen at the next look)."""
        return bool(self._old)

    def __enter__(self) -> SignalsDeferred:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if handler is signal.SIG_IGN or (signum == signal.SIGTERM and not callable(handler)):
                continue
            if isinstance(getattr(handler, "__self__", None), SignalsDeferred):  # inside another block: that one
                continue  # holds the signal until its own end (a step nested in a swap is not cut short)
            try:
                self._old[signum] = signal.signal(signum, self._record)
            except ValueError:  # not the main interpreter
                break
        return self

    def _record(self, signum, frame) -> None:
        if self.received != signal.SIGTERM:  # a SIGTERM is not downgraded by a later Ctrl-C
            self.received = signum

    def _raise(self) -> None:
        if self.received == signal.SIGTERM:
            raise Terminated
        raise KeyboardInterrupt

    def check(self) -> None:
        """KeyboardInterrupt (Terminated for SIGTERM) if a signal came since the block began."""
        if self.received is not None:
            self._raise()

    def __exit__(self, exc_type, exc, tb) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)
        if self.received is not None and exc_type is None and self.raise_at_exit:
            self._raise()


def signals_deferred() -> SignalsDeferred:
    """A block during which Ctrl-C and SIGTERM are held, then raised (KeyboardInterrupt, Terminated) when it ends:
    for a step that must not be cut in two (a directory swapped in by two renames)."""
    return SignalsDeferred()


def signals_held() -> SignalsDeferred:
    """A block during which Ctrl-C and SIGTERM are held and dropped (not raised): for a sweep's last writes after
    an interruption (runs.parquet), so that a second Ctrl-C a moment after the first does not lose them."""
    return SignalsDeferred(raise_at_exit=False)


def ignore_signals_at_exit() -> None:
    """Ignore Ctrl-C and SIGTERM once every exit function has run (call this before any other is registered: the
    first registered runs last). Python then resets each handler written in Python to the default, so that a
    signal killed the process, silently (a thread of a pool, its queue's feeder, may still be there to take it):
    a command that had finished read as interrupted."""
    def ignore() -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)

    atexit.register(ignore)


def end_with(code: int) -> None:
    """The command has ended with `code` and said so: from now on a Ctrl-C or SIGTERM (one that is not ignored)
    ends the process at once with that code, its output flushed, instead of a KeyboardInterrupt where nothing
    handles it while Python shuts down (threads joined, exit functions), which printed "Exception ignored" or
    killed the process by SIGINT. Such an end skips the exit functions still to run; the commands close their
    pools and Dask clusters themselves, and a worker ends when the process that started it has gone."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with it closed
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a broken pipe: nothing more can be said there
            pass

    def end(signum, frame) -> None:
        os._exit(code)

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, end)
