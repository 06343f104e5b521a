"""The `bordersim` console script and `python -m sim`: `main` imports the command line inside a handler, so that a
Ctrl-C while its modules load (about half a second) is one line and exit 130, like every other interruption. It
also turns SIGTERM (a batch scheduler's time limit, `kill PID`) into an interruption (`sim.errors.Terminated`), so
that it ends a command as Ctrl-C does, keeping what was finished, with exit code 143 (unless SIGTERM was ignored
when the process started). Once the command has ended, a signal no longer changes its exit code
(`sim.interrupts.end_with`)."""

from __future__ import annotations

import signal
import sys

from sim.errors import Terminated
from sim.interrupts import end_with, ignore_signals_at_exit

EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # sim.cli.arguments' codes, which is not imported yet here


def _terminated(signum, frame) -> None:
    raise Terminated


def main() -> int:
    ignore_signals_at_exit()  # the first exit function registered: the last to run
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
    end_with(code)
    return code
