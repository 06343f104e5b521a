"""The dashboard's server process: `python -c START ARGS` runs `solara ARGS` (`bordersim dashboard` replaces
itself with it) and ends as every bordersim command does. Solara's command line (click) turned a Ctrl-C
into "Aborted." and exit 1, the code of a failure; here it is "interrupted" and exit 130, and SIGTERM
"terminated" and exit 143. While it serves, uvicorn handles both signals itself (a graceful shutdown) and raises
them again when it has shut down; the signal is noted in both places, so that the exit code does not depend on
whether that second delivery ends the command line with an exception. `bordersim dashboard` starts this process
with Ctrl-C and SIGTERM blocked (HELD_SIGNALS), and `main` unblocks them once its handlers are in place: one
received while Python and Solara start is carried out then, as "interrupted" or "terminated". Once `main` has
returned, a signal (uvicorn's second delivery, or the user's) no longer changes the exit code
(`sim.interrupts.end_with`)."""

from __future__ import annotations

import signal
import sys

EXIT_OK, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 130, 143  # sim.cli.arguments' codes (the CLI is not imported here)
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # blocked from the exec until `main` can handle them


def main(argv: list[str]) -> int:
    received: list[int] = []

    def note(sig, frame) -> None:
        received.append(sig)
        raise KeyboardInterrupt

    for signum in HELD_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # one ignored from the start stays so
            signal.signal(signum, note)
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)  # one received since the exec is handled here
        _serve(argv, received)
    except KeyboardInterrupt:
        received.append(received[-1] if received else signal.SIGINT)
    if not received:
        return EXIT_OK
    terminated = signal.SIGTERM in received
    sys.stderr.write("terminated\n" if terminated else "interrupted\n")
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def _serve(argv: list[str], received: list[int]) -> None:
    """Solara's command line with ARGV, uvicorn's signal handler noting each signal in `received`; Solara's
    "Aborted" (its Ctrl-C) raised as KeyboardInterrupt. A second Ctrl-C while uvicorn shuts down makes it stop
    at once (its "force exit"): the tasks it then cancels are not reported (uvicorn logged the cancelled ASGI
    lifespan task as an error with its traceback), as the user asked for exactly that. Solara's warning that
    a session cookie cannot be `SameSite=None` over http is not shown: it concerns a page embedded in another
    site's frame, and this server is opened directly (the cookie falls back to `SameSite=Lax`, as it should)."""
    import logging
    import warnings

    import click
    import uvicorn.server
    from solara.__main__ import cli

    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)
    handle_exit = uvicorn.server.Server.handle_exit

    def noted_exit(server, sig, frame) -> None:  # uvicorn's handler while it serves
        received.append(sig)
        if server.should_exit and sig == signal.SIGINT:  # the second Ctrl-C: uvicorn forces the exit
            logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        handle_exit(server, sig, frame)

    uvicorn.server.Server.handle_exit = noted_exit  # type: ignore[method-assign,assignment]
    try:
        cli.main(args=argv, prog_name="solara", standalone_mode=False)
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None


def start(argv: list[str]) -> int:
    """`main`, in the server process that `bordersim dashboard` starts with `python -c` (`START`): once `main` has
    returned, a signal no longer changes the exit code (`sim.interrupts.end_with`)."""
    from sim.interrupts import end_with, ignore_signals_at_exit

    ignore_signals_at_exit()  # the first exit function registered: the last to run
    code = main(argv)
    end_with(code)
    return code


# The server's program, run with `python -c`, not `-m`: CPython 3.12 marks a KeyboardInterrupt that ends code run
# from a string (`exec("...")`, as dataclasses and namedtuple do while Solara is imported) as unhandled even when
# it is caught, and a `-m` run then ends by SIGINT whatever its exit code (Py_RunMain's exit_sigint): a Ctrl-C or
# SIGTERM while the server started ended it with "terminated" and exit -2 now and then. `-c` ends with the code.
START = "import sys; from sim.dashboard.serve import start; sys.exit(start(sys.argv[1:]))"

if __name__ == "__main__":
    sys.exit(start(sys.argv[1:]))
