"""Lines a command adds about its output directory, on standard error."""

from __future__ import annotations

import sys
from pathlib import Path


def tell_report_removed(out: Path, removed: bool) -> None:
    """An analysis run again removed OUT/report.html (it described the earlier analysis): say how to write it."""
    if removed:
        print(f"note: removed {out / 'report.html'}, which described the earlier analysis; `bordersim report {out}` "
              "writes it again", file=sys.stderr)
