"""Errors meant for people. Every kind of bad input (a scenario, a spec, an argument, an output directory) raises
an `InputError`, which the CLI prints as one line and maps to exit code 2; anything else is our own fault (exit 1).
"""

from __future__ import annotations

from typing import NoReturn


class InputError(Exception):
    """Bad input: carries the file, key path and line so the CLI can print one clear message."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.key = key
        self.line = line
        super().__init__(self.format())

    def format(self) -> str:
        """'FILE:LINE, key 'KEY': MESSAGE', leaving out the parts that are not known."""
        where = []
        if self.path:
            where.append(str(self.path) + (f":{self.line}" if self.line else ""))
        if self.key:
            where.append(f"key '{self.key}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


def shown(value: object, n: int = 40) -> str:
    """A value as a message shows it: its repr, cut after `n` characters with its length said (a 2 MB name was
    echoed whole)."""
    if isinstance(value, str):
        return repr(value) if len(value) <= n else repr(value[:n]) + f"... ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= n else text[:n] + f"... ({len(text):,} characters)"


def with_article(noun: str) -> str:
    """The noun of a message with its indefinite article: 'a sweep spec', 'an effects directory'."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


class ScenarioError(InputError):
    """Bad input in a scenario or spec file (schema, YAML, graph or policy checks)."""


class UsageError(InputError):
    """Bad command-line use that argparse cannot see: an argument, an option combination, an output directory."""


MAX_PROBLEMS = 10  # problems listed in one error message; the rest are counted


def raise_problems(problems: list[tuple[str | None, int | None, str]], *, path: str | None) -> NoReturn:
    """Raise one ScenarioError for a list of (key, line, message). The first problem gives the error its key and
    line and the first line of its text; each further one follows on its own line as '  FILE:LINE, key 'KEY':
    MESSAGE', at most MAX_PROBLEMS in all, then '  and N more problems'."""
    key, line, text = problems[0]
    shown = problems[:MAX_PROBLEMS]
    for k, ln, msg in shown[1:]:
        text += "\n  " + ScenarioError(msg, path=path, key=k, line=ln).format()
    rest = len(problems) - len(shown)
    if rest:
        text += f"\n  and {rest} more problem{'s' if rest > 1 else ''}"
    raise ScenarioError(text, path=path, key=key, line=line)


def by_line(problems: list[tuple[str | None, int | None, str]]) -> list[tuple[str | None, int | None, str]]:
    """Problems in file order (those without a line last, in their own order)."""
    return sorted(problems, key=lambda p: (p[1] is None, p[1] or 0))


class Unreadable(UsageError):
    """The system will not let us read `path` (permissions): nothing is known about its content, so it is never
    taken for a damaged file, which a command may replace. 'PATH: cannot read NOUN: permission denied (REMEDY)'."""

    def __init__(self, path: object, noun: str = "it", remedy: str = "give your user read access to it"):
        super().__init__(f"cannot read {noun}: permission denied ({remedy})", path=str(path))


class ResultWarning(UserWarning):
    """Something about a result its reader must know; the command line prints it as `warning: ...` on standard
    error."""


class ScenarioWarning(ResultWarning):
    """A valid scenario that probably does not do what was meant (`sim.rules.checks.scenario_warnings`: a group
    with no usable path at the first step, a repeat propensity without repeat attempts, an initial stock likely
    to draw a time waited past the limit); `sim.load_scenario` warns, the command line prints `warning: ...`."""


class MixedCodeWarning(ResultWarning):
    """Finished runs of the sweep directory `directory` (`total` of them) made by other bordersim code than
    `ours` (the code_sha256 of this process): `earlier` recorded before this command (`unrecorded` of them by a
    bordersim from before runs recorded their code), `workers` made during it by workers running another install
    (a Dask cluster's)."""

    def __init__(self, directory: str, total: int, earlier: int, unrecorded: int, workers: int, ours: str):
        self.directory, self.total, self.earlier, self.unrecorded = directory, total, earlier, unrecorded
        self.workers, self.ours = workers, ours
        super().__init__(f"{directory}: {self.counts()}, not by this command's (code_sha256 {ours[:12]}...)"
                         f"{self.consequence()}: {self.remedy()}")

    def counts(self) -> str:
        """What was made by other code, in words."""
        parts = []
        if self.earlier:
            old = f", {self.unrecorded:,} of them before runs recorded their code" if self.unrecorded else ""
            parts.append(f"{self.earlier:,} of its {self.total:,} finished runs were made earlier by other bordersim "
                         f"code{old}")
        if self.workers:
            parts.append(f"{self.workers:,} run(s) made now by workers running other bordersim code")
        return "; ".join(parts)

    def consequence(self) -> str:
        return "; its table mixes results of different code" if self.earlier + self.workers < self.total else ""

    def remedy(self) -> str:
        ways = []
        if self.workers:
            ways.append("install this bordersim on the workers (every one must run the same code)")
        if self.earlier:
            ways.append("to make every run with this code, run the command again with a new --out")
        return "; ".join(ways)


class WriteFailed(Exception):
    """The system refused a write bordersim was making (a full disk, a file system gone read-only): what was there
    before is kept, nothing half-written is left. Not bad input: the command line exits with 1 (README), as for
    any refusal of the system; an --out refused before any work starts is a UsageError (exit 2). `errno`: the
    system's reason, where known, which `remedy` turns into what to do."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno

    def remedy(self) -> str:
        """What to do about the refusal: free space for a full disk or quota, write access for a refusal, another
        file system for a read-only one; with no reason known, space or access."""
        import errno as codes

        if self.errno in (codes.ENOSPC, codes.EDQUOT):
            return "free some space"
        if self.errno in (codes.EACCES, codes.EPERM):
            return "give your user write access there"
        if self.errno == codes.EROFS:
            return "write to another file system (this one is read-only)"
        return "free some space or give your user write access there"


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch scheduler's time limit, `kill`), turned into an interruption by the command line
    (`sim.entry`): it stops a command as Ctrl-C does, keeping what was finished, and the exit code is 143."""
