"""The dashboard's server process: `python -m sim.dashboard.serve ARGS` runs `solara ARGS` (`bordersim dashboard`
replaces itself with it) and ends as every bordersim command does. Solara's command line (click) turned a Ctrl-C
into "Aborted." and exit 1, the code of a failure; here it is "interrupted" and exit 130, and SIGTERM (which
uvicorn also shuts down on, then raises again) "terminated" and exit 143."""

from __future__ import annotations

import signal
import sys

EXIT_OK, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 130, 143  # sim.cli.arguments' codes (the CLI is not imported here)


def main(argv: list[str]) -> int:
    import click
    from solara.__main__ import cli

    received: list[int] = []
    def note(sig, frame) -> None:
        received.append(sig)
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):  # uvicorn installs its own while serving, then re-raises ours
        if signal.getsignal(signum) is not signal.SIG_IGN:  # one ignored from the start stays so
            signal.signal(signum, note)
    try:
        cli.main(args=argv, prog_name="solara", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        terminated = signal.SIGTERM in received
        sys.stderr.write("terminated\n" if terminated else "interrupted\n")
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
