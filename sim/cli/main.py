"""The `bordersim` command: the parser, and the one place errors become exit codes (0 ok, 1 a failure, ours or
the system's, 2 bad input, 130 interrupted, 143 terminated). Each command family lives in its own module with a
`register(sub)`; this package is the only layer that prints, and it draws the figures of analyses (which return
data and write tables)."""

from __future__ import annotations

import argparse
import errno
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sim.cli import calibrate, compare, dashboard, discover, effects, plot, run, sensitivity, sweep
from sim.cli.arguments import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED
from sim.errors import (InputError, MixedCodeWarning, ResultWarning, ScenarioWarning, Terminated, UsageError,
                        WriteFailed)
from sim.api_checks import NAME_MAX, PATH_MAX
from sim.provenance import package_version


class _Parser(argparse.ArgumentParser):
    """argparse's parser, except that its help, version and usage text is written or the failure raised:
    argparse ignores an OSError there, so `bordersim --help > /dev/full` printed nothing and exited 0."""

    def _print_message(self, message: str, file=None) -> None:
        if message:
            (file or sys.stderr).write(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bordersim",
        description="Simulate departures from North Korea along a route network under border policies.",
        epilog="Exit codes: 0 success, 1 failure (the system refused, e.g. a full disk, or an internal error), "
               "2 bad input, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); an interrupted sweep or analysis "
               "resumes when run again. Docs: docs/model.md, docs/scenario.md.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"bordersim {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run.register(sub)
    sweep.register(sub)
    compare.register(sub)
    calibrate.register(sub)
    sensitivity.register(sub)
    effects.register(sub)
    discover.register(sub)
    run.register_schema(sub)
    plot.register(sub)
    dashboard.register(sub)
    for command in sub.choices.values():  # `bordersim run ... --debug` as well as `bordersim --debug run ...`
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks on errors")
    parser.set_defaults(commands=sub.choices)
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The arguments; an argument the command does not take is that command's usage error (argparse reported it
    with the usage of `bordersim` itself, which lists no command's options)."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        given = list(sys.argv[1:] if argv is None else argv)
        before = given[:given.index(args.command)] if args.command in given else []
        early = [x for x in extra if x in before]  # given to `bordersim` itself, before the command
        if early:
            parser.error(f"unrecognized arguments: {' '.join(early)}")
        args.commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _to_devnull(stream) -> None:
    """Point `stream`'s descriptor at /dev/null: what it still holds, and what is written to it later, goes nowhere
    instead of failing again (at exit, with its own message and code)."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, stream.fileno())
    finally:
        os.close(null)


class _Quiet:
    """A standard stream while a command runs: a write the system refuses because nobody reads it any more (a
    pipe closed early: `| head -0`, `2>&1 | head -0`) is dropped, and the stream goes to /dev/null from then on, so
    the command does all its work and its exit code still says what happened. The error ended commands with 0 or 1
    instead: on standard error the BrokenPipeError of a message (argparse's usage error, the last line of
    defence's) gave 0 or 1 for bad input; on standard output `validate a.yaml b.yaml | head -0` stopped at its first
    line and said 0 whatever b.yaml held. `refused` is what counts as nobody reading: any OSError on standard error
    (nothing is left to tell it to), only a closed pipe on standard output (a full disk is reported, exit 1)."""

    def __init__(self, stream, refused: type[OSError]) -> None:
        self._stream = stream
        self._refused = refused

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except self._refused:
            self._silence()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except self._refused:
            self._silence()

    def _silence(self) -> None:
        try:
            _to_devnull(self._stream)
        except (OSError, ValueError, AttributeError):  # a stream with no descriptor (captured by a test)
            pass

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _tell(text: str) -> None:
    """A line on standard error, written at once (through `_Quiet` while a command runs)."""
    print(text, file=sys.stderr, flush=True)


def _interrupted(exc: KeyboardInterrupt) -> int:
    """Ctrl-C: 'interrupted', exit 130; SIGTERM (`Terminated`, sim.entry): 'terminated', exit 143. A sweep's
    (SweepInterrupted) says how many runs it kept and how to resume."""
    sweep = sys.modules.get("sim.experiments.sweep")  # a sweep's own ends, for every command that runs one
    if sweep is not None and isinstance(exc, sweep.SweepInterrupted):
        _tell(f"{exc}; run the same command again to resume")
        return EXIT_TERMINATED if exc.terminated else EXIT_INTERRUPTED
    terminated = isinstance(exc, Terminated)
    _tell("terminated" if terminated else "interrupted")
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


@contextmanager
def _warnings_told() -> Iterator[None]:
    """While a command runs, a ResultWarning is one line `warning: ...` on standard error, every time it is
    raised, but a ScenarioWarning once per text (an analysis reads its spec's base scenario twice: for the plan it
    prints, then to run it); the MixedCodeWarnings of the command's sweeps (a calibration runs dozens) are told
    once, when it ends (`_mixed_code_line`). Other warnings keep Python's own format and filters."""
    mixed: list[MixedCodeWarning] = []
    told: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("always", ResultWarning)
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            if isinstance(message, MixedCodeWarning):
                mixed.append(message)
            elif issubclass(category, ScenarioWarning) and str(message) in told:
                return
            elif issubclass(category, ResultWarning):
                told.add(str(message))
                _tell(f"warning: {message}")
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        try:
            yield
        finally:
            if mixed:
                _tell(f"warning: {_mixed_code_line(mixed)}")


def _mixed_code_line(mixed: list[MixedCodeWarning]) -> str:
    """One warning's text, or for several sweep directories one line naming each (the first 5) with its counts."""
    if len(mixed) == 1:
        return str(mixed[0])

    def counts(w: MixedCodeWarning) -> str:
        return ", ".join(x for x in (f"{w.earlier:,} of {w.total:,} earlier" if w.earlier else "",
                                     f"{w.workers:,} made now by workers" if w.workers else "") if x)

    named = "; ".join(f"{w.directory} ({counts(w)})" for w in mixed[:5])
    more = f" and {len(mixed) - 5} more" if len(mixed) > 5 else ""
    remedies = dict.fromkeys(r for w in mixed for r in w.remedy().split("; "))
    return (f"{len(mixed)} sweep directories of this command hold runs made by other bordersim code than its own "
            f"(code_sha256 {mixed[0].ours[:12]}...): {named}{more}: {'; '.join(remedies)}")


MAX_EPOCH = 253402300800  # 10000-01-01 00:00 UTC: time.gmtime and datetime stop at the year 9999


def _check_environment() -> None:
    """SOURCE_DATE_EPOCH (reproducible builds: the report's 'Written' time, matplotlib's PDF/SVG dates) must be
    a whole number of seconds when set: numpy and matplotlib read it with int() at import or save time, so any other
    value ended a command as an internal failure."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    # ASCII digits only: str.isdigit() takes '²', which int() refuses (an internal failure again)
    if epoch is not None and not (re.fullmatch(r"\s*[0-9]+\s*", epoch) and int(epoch) < MAX_EPOCH):
        raise UsageError(f"the environment variable SOURCE_DATE_EPOCH is {epoch!r}: it must be a whole number of "
                         "seconds since 1970-01-01 00:00 UTC before the year 10000, or unset")


def _unwritten_output() -> str | None:
    """Flush standard output now, so that output the system refuses (a full disk) is reported here rather than
    lost at exit with code 0: the reason, or None when all of it was written (or nobody reads it any more: a
    closed pipe, e.g. `| head`)."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _to_devnull(sys.stdout)
    except OSError as exc:  # what is left in the buffer goes nowhere, not to another failure at exit
        _to_devnull(sys.stdout)
        return exc.strerror or str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    if sys.stdout is None:  # started with standard output closed (`>&-`): every print would vanish, exit 0
        if sys.stderr is not None:
            _tell("error: standard output is closed; redirect it (e.g. > /dev/null) instead")
        return EXIT_FAILURE
    stdout, stderr = sys.stdout, sys.stderr
    with open(os.devnull, "w") if stderr is None else nullcontext(stderr) as stream:  # None: started with `2>&-`
        sys.stdout, sys.stderr = _Quiet(stdout, BrokenPipeError), _Quiet(stream, OSError)
        try:
            return _main(argv)
        finally:
            sys.stdout, sys.stderr = stdout, stderr


def _main(argv: list[str] | None) -> int:
    try:
        parser = build_parser()  # imports the command modules' options: a Ctrl-C can land here too
        args = parse(parser, argv)
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except WriteFailed as exc:  # the system refused a write (a full disk): not bad input
        _tell(f"error: {exc}")
        return EXIT_FAILURE
    except BrokenPipeError:  # --help piped into `head`
        _to_devnull(sys.stdout)
        return EXIT_OK
    except OSError as exc:  # --help or --version that the system refused to write (`_Parser`)
        _tell(f"error: {exc.strerror or exc}")
        return EXIT_FAILURE
    except SystemExit:  # --help, --version or a usage error, printed by argparse: was all of it written?
        if (reason := _unwritten_output()) is not None:
            _tell(f"error: {reason}")
            raise SystemExit(EXIT_FAILURE) from None
        raise
    try:
        _check_environment()
        with _warnings_told():
            code = args.func(args)
        if (reason := _unwritten_output()) is not None:
            _tell(f"error: {reason}")
            return EXIT_FAILURE
        return code
    except InputError as exc:
        if args.debug:  # the traceback, and still the exit code of bad input
            import traceback

            traceback.print_exc()
        _tell(f"error: {exc.format()}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        _to_devnull(sys.stdout)
        return EXIT_OK
    except WriteFailed as exc:  # the system refused a write (a full disk): one line, exit 1, not "internal failure"
        if args.debug:
            raise
        _tell(f"error: {exc}")
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        sweep = sys.modules.get("sim.experiments.sweep")  # a sweep's own ends, for every command that runs one
        if sweep is not None and isinstance(exc, sweep.SweepAborted):
            _tell(f"error: {exc}; run the same command again to resume")
            return EXIT_FAILURE
        if args.debug:
            raise
        if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:  # a path given: bad input
            _tell(f"error: {exc.filename or 'a path'}: the path, or a name in it, is longer than the file system "
                  f"allows (a name {NAME_MAX} bytes, a path {PATH_MAX:,}); give a shorter path")
            return EXIT_BAD_INPUT
        if isinstance(exc, OSError) and exc.strerror:  # the system refused (a full disk, standard output closed)
            where = f"{exc.filename}: " if exc.filename else ""
            _tell(f"error: {where}{exc.strerror} (rerun with --debug for a traceback)")
            _unwritten_output()  # what is left of standard output goes nowhere, not to a failure at exit (120)
            return EXIT_FAILURE
        _tell(f"error: internal failure: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
