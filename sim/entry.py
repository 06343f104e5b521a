"""The `bordersim` console script and `python -m sim`: `main` imports the command line inside a handler, so that a
Ctrl-C while its modules load (about half a second) is one line and exit 130, like every other interruption."""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # sim.cli.arguments.EXIT_INTERRUPTED, which is not imported yet here


def main() -> int:
    try:
        from sim.cli.main import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    return cli_main()
