"""Shared by the benchmark scripts (a helper module, not a script): where they write their JSON, a new file or
one a bordersim benchmark wrote before, and how they end on Ctrl-C.

A report carries `"generator": GENERATOR`; an existing file without it (a user's file, anything else) is never
overwritten: the script stops with exit code 2 before it measures anything. Writes are atomic
(`sim.outputs.atomic_write_text`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from sim.outputs import atomic_write_text, real_target

GENERATOR = "bordersim benchmark"


def check_json_target(path: str | Path | None) -> None:
    """Exit 2 with a message unless `path` is None, absent, or a JSON report a bordersim benchmark wrote; the path
    checked is the one the write reaches (`sim.outputs.real_target`: 'new/../x' is ./x, which the text would miss),
    and a symbolic link is refused, live or dangling (the write would replace the link itself)."""
    if path is None:
        return
    p = real_target(path)
    if p.is_symlink() or Path(path).is_symlink():
        print(f"error: --json {path}: is a symbolic link; bordersim replaces no link (give the file it points to, or "
              "a new file name)", file=sys.stderr)
        sys.exit(2)
    if not p.exists():
        return
    try:
        ours = p.is_file() and json.loads(p.read_text()).get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        print(f"error: --json {p}: exists and is not a report a bordersim benchmark wrote; not overwritten "
              "(give a new file name)", file=sys.stderr)
        sys.exit(2)


def write_json(path: str | Path, report: dict) -> None:
    """Write `report` (with its generator mark) to `path` atomically; check_json_target first."""
    check_json_target(path)
    atomic_write_text(path, json.dumps({"generator": GENERATOR, **report}, indent=2) + "\n")


def run_script(main: Callable[[], int]) -> int:
    """main()'s exit code; a Ctrl-C (or an interrupted sweep) is one line 'interrupted' and exit 130, as every
    bordersim command ends on it, not a traceback: nothing is written before the measurements end."""
    try:
        return main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def positive(kind: Callable):
    """An argparse type: a number of `kind` above 0, else argparse's usage error (exit 2) naming the option."""
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise ValueError(text)
        return value
    parse.__name__ = f"positive {kind.__name__}"  # argparse names it: "invalid positive int value: '-1'"
    return parse
