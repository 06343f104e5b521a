"""Task functions for executor tests; a module of its own so worker processes can import them by name."""

import os
import warnings
from pathlib import Path
from types import SimpleNamespace


def crash_once(marker: str, value: int) -> int:
    """Kill the worker process the first time (no marker file yet), succeed on the retry."""
    path = Path(marker)
    if not path.exists():
        path.write_text("crashed")
        os._exit(13)
    return value * 2


def crash_always(value: int) -> int:
    os._exit(13)


def double(value: int) -> int:
    return value * 2


def call_main(capsys, *args) -> SimpleNamespace:
    """`bordersim ARGS` in this process: the same parser and exit-code mapping as the command (argparse's exits for
    --help and usage errors included), stdout and stderr captured; a warning the command would print on stderr is
    added to stderr (pytest would otherwise swallow it), so a test of silent output still sees it."""
    from sim.cli import main

    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            rc = main([str(a) for a in args])
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    out = capsys.readouterr()
    err = out.err + "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught)
    return SimpleNamespace(returncode=rc, stdout=out.out, stderr=err)


def as_from_a_terminal() -> None:
    """preexec_fn of a child that a test interrupts as Ctrl-C would: SIGINT at its default, whatever the test run
    inherited (a suite started with `nohup` or `&` in a script runs with SIGINT ignored, and so would the child)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _made_in(pid: int) -> "Unpicklable":
    """Unpickling an Unpicklable: fine in the process that made it, AttributeError in any other."""
    if os.getpid() != pid:
        raise AttributeError("module 'sim.experiments.task' has no attribute 'renamed'")
    return Unpicklable(pid)


class Unpicklable:
    """A task argument a worker process cannot unpickle, as when a function or class it names was renamed in the
    files the worker imported."""

    def __init__(self, pid: int | None = None):
        self.pid = os.getpid() if pid is None else pid

    def __reduce__(self):
        return (_made_in, (self.pid,))
