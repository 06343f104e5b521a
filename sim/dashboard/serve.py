"""The dashboard's server process: `python -m sim.dashboard.serve ARGS` runs `solara ARGS` (`bordersim dashboard`
replaces itself with it) and ends as every bordersim command does. Solara's command line (click) turned a Ctrl-C
into "Aborted." and exit 1, the code of a failure; here it is "interrupted" and exit 130, and SIGTERM
"terminated" and exit 143. While it serves, uvicorn handles both signals itself (a graceful shutdown) and raises
them again when it has shut down; the signal is noted in both places, so that the exit code does not depend on
whether that second delivery ends the command line with an exception."""

from __future__ import annotations

import signal
import sys

EXIT_OK, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 130, 143  # sim.cli.arguments' codes (the CLI is not imported here)


def main(argv: list[str]) -> int:
    import click
    import uvicorn.server
    from solara.__main__ import cli

    received: list[int] = []

    def note(sig, frame) -> None:
        received.append(sig)
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # one ignored from the start stays so
            signal.signal(signum, note)
    handle_exit = uvicorn.server.Server.handle_exit

    def noted_exit(server, sig, frame) -> None:  # uvicorn's handler while it serves
        received.append(sig)
        handle_exit(server, sig, frame)

    uvicorn.server.Server.handle_exit = noted_exit  # type: ignore[method-assign,assignment]
    try:
        cli.main(args=argv, prog_name="solara", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        received.append(received[-1] if received else signal.SIGINT)
    if not received:
        return EXIT_OK
    terminated = signal.SIGTERM in received
    sys.stderr.write("terminated\n" if terminated else "interrupted\n")
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
