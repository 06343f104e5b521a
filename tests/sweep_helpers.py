"""Task functions for executor tests; a module of its own so worker processes can import them by name."""

import os
from pathlib import Path


def crash_once(marker: str, value: int) -> int:
    """Kill the worker process the first time (no marker file yet), succeed on the retry."""
    path = Path(marker)
    if not path.exists():
        path.write_text("crashed")
        os._exit(13)
    return value * 2


def crash_always(value: int) -> int:
    os._exit(13)


def double(value: int) -> int:
    return value * 2
