"""Where the benchmark scripts write their JSON: a new file, or one a bordersim benchmark wrote before.

A report carries `"generator": GENERATOR`; an existing file without it (a user's file, anything else) is never
overwritten: the script stops with exit code 2 before it measures anything. Writes are atomic
(`sim.outputs.atomic_write_text`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sim.outputs import atomic_write_text

GENERATOR = "bordersim benchmark"


def check_json_target(path: str | Path | None) -> None:
    """Exit 2 with a message unless `path` is None, absent, or a JSON report a bordersim benchmark wrote."""
    if path is None:
        return
    p = Path(path)
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
