"""The `bordersim` console script and `python -m sim`: `main` imports the command line inside a handler, so that a
Ctrl-C while its modules load (about half a second) is one line and exit 130, like every other interruption. It
also turns SIGTERM (a batch scheduler's time limit, `kill PID`) into an interruption (`sim.errors.Terminated`), so
that it ends a command as Ctrl-C does, keeping what was finished, with exit code 143 (unless SIGTERM was ignored
when the process started). Once the command has ended, a signal no longer changes its exit code (`_end_with`)."""

from __future__ import annotations

import atexit
import os
import signal
import sys

from sim.errors import Terminated

EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # sim.cli.arguments' codes, which is not imported yet here


def _terminated(signum, frame) -> None:
    raise Terminated


def main() -> int:
    atexit.register(_ignore_signals)  # the first exit function registered: the last to run
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)
    try:
        from sim.cli.main import main as cli_main
    except Terminated:
        sys.stderr.write("terminated\n")
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    code = cli_main()
    _end_with(code)
    return code


def _end_with(code: int) -> None:
    """The command has ended with `code` and said so: a Ctrl-C or SIGTERM from now on, while Python shuts down
    (pools and threads joined, modules released), ends the process at once with that code, its output flushed.
    Left to Python, one raised KeyboardInterrupt where nothing handles it, or landed after Python had restored
    the default handlers: the process then died by SIGINT, silently, a finished command reading as interrupted
    (about one try in seven when the signal was sent in the second the command took to end)."""
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


def _ignore_signals() -> None:
    """Ignore Ctrl-C and SIGTERM for the rest of the shutdown (this runs after every other exit function): Python
    then resets each handler written in Python to the default, and a signal killed the process, silently (a
    thread of a pool, its queue's feeder, may still be there to take it)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
