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


class ResultWarning(UserWarning):
    """Something about a result its reader must know (results made by different code); the command line prints it
    as `warning: ...` on standard error."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch scheduler's time limit, `kill`), turned into an interruption by the command line
    (`sim.entry`): it stops a command as Ctrl-C does, keeping what was finished, and the exit code is 143."""
