"""Errors meant for people. Every kind of bad input (a scenario, a spec, an argument, an output directory) raises
an `InputError`, which the CLI prints as one line and maps to exit code 2; anything else is our own fault (exit 1).
"""

from __future__ import annotations


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
