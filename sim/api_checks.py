"""Checks of the arguments the Python API (`import sim`) is called with, so that a wrong type or value is a
`UsageError` (an `InputError`, exit 2 from the command line) naming the argument and what it accepts, raised before
anything is written, rather than an AttributeError or TypeError from deep inside. The command line's own
arguments are checked by argparse (`sim.cli.arguments`)."""

from __future__ import annotations

import inspect
import numbers
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.errors import UsageError

NAME_MAX = 255  # bytes in one name of a path (Linux file systems)
PATH_MAX = 4096  # bytes in a whole path, with its closing NUL (Linux)

MAX_SEED = 2**63 - 1  # numpy's SeedSequence takes any non-negative int; a run's seed is stored as int64


def _shown(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def keep_leading_dot(text: str) -> str:
    """`text`, or its absolute form when its first part starts with '~': './~name' names a file '~name' here, but a
    Path drops the './', and '~name' alone would be taken for a home directory (refused where paths are read)."""
    parts = Path(text).parts
    return os.path.abspath(text) if parts[:1] and parts[0].startswith("~") else text


def tilde_name_hint(text: str) -> str:
    """For a refused path starting with '~': how to give a name that starts with '~' ("'./~name'"), unless its
    first part is '~' itself: './~/x' would make the directory named '~' that the refusal is there to prevent."""
    return "" if Path(text).parts[0] == "~" else f" (a name that starts with '~': './{text}')"


def path_argument(value: Any, name: str) -> Path:
    """`value` as a Path: a str or an os.PathLike of one, not empty, and not starting with '~' (Python does not
    expand '~' or '~user' as a shell does: `write_run(r, "~/x")` made a directory named '~' in the current one; a
    name that starts with '~' is given as './~name', as on the command line)."""
    text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if isinstance(text, str) and text:
        if text.startswith("~"):
            raise UsageError(f"{name}: {text!r} starts with '~', which Python does not expand: give "
                             f"os.path.expanduser({text!r}) or the path written out{tilde_name_hint(text)}")
        if "\0" in text:  # os calls raise ValueError('embedded null byte') deep inside
            raise UsageError(f"{name}: {text!r} holds a NUL character, which no path may hold")
        why = path_too_long(text)
        if why:  # os calls raise OSError(ENAMETOOLONG) wherever the path is first looked at
            raise UsageError(f"{name}: {text[:60]}...: {why}; give a shorter path")
        return Path(keep_leading_dot(text))
    raise UsageError(f"{name}: give a file or directory path (str or pathlib.Path), not {_shown(value)}")


def path_too_long(text: str) -> str | None:
    """Why no file system here can hold `text` as a path (a name of it over NAME_MAX bytes, or the whole of it
    over PATH_MAX), or None when it can."""
    for part in Path(text).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            return f"the name '{part[:40]}...' is longer than the file system allows ({NAME_MAX} bytes)"
    if len(os.fsencode(text)) >= PATH_MAX:
        return f"the path is longer than the file system allows ({PATH_MAX:,} bytes)"
    return None


def optional_path_argument(value: Any, name: str) -> Path | None:
    return None if value is None else path_argument(value, name)


def integer_argument(value: Any, name: str, *, minimum: int, maximum: int | None = None) -> int:
    """An integer (Python or numpy; not a bool or a float) in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UsageError(f"{name}: give an integer, not {_shown(value)}")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        most = f" and at most {maximum:,}" if maximum is not None else ""
        raise UsageError(f"{name}: must be at least {minimum}{most}, not {number}")
    return number


def seed_argument(value: Any, name: str = "seed") -> int | None:
    """None (the scenario's seed) or an integer from 0 to 2^63 - 1."""
    return None if value is None else integer_argument(value, name, minimum=0, maximum=MAX_SEED)


def count_argument(value: Any, name: str) -> int | None:
    """None (the default) or an integer >= 1 (workers, replicates)."""
    return None if value is None else integer_argument(value, name, minimum=1)


def callback_argument(value: Any, name: str = "progress", called_with: tuple[str, ...] = ("done", "total")
                      ) -> Callable | None:
    """None or a callable that takes the arguments `called_with` (a progress callback(done, total)): checked
    before any work, not at its first call (a callback of another shape failed after files were written)."""
    wanted = f"give a function called with ({', '.join(called_with)}), or None"
    if value is None:
        return value
    if not callable(value):
        raise UsageError(f"{name}: {wanted}, not {_shown(value)}")
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):  # a builtin without a signature: taken as it is
        return value
    try:
        signature.bind(*called_with)
    except TypeError as exc:
        raise UsageError(f"{name}: {wanted}; {_shown(value)} cannot take them ({exc})") from None
    return value


def strings_argument(value: Any, name: str, what: str, example: str) -> list[str]:
    """A list (or tuple) of strings; None for none. A single string is refused rather than read character by
    character."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    raise UsageError(f"{name}: give a list of {what}, e.g. {example}, not {_shown(value)}")


def overrides_argument(value: Any, name: str = "overrides") -> list[str]:
    """A list (or tuple) of 'dotted.path=value' strings (`strings_argument`)."""
    return strings_argument(value, name, "'dotted.path=value' strings", "['population.size=1000']")


def optional_string_argument(value: Any, name: str) -> str | None:
    """A string or None."""
    if value is None or isinstance(value, str):
        return value
    raise UsageError(f"{name}: give a string (or None), not {_shown(value)}")


def choice_argument(value: Any, name: str, choices: tuple[str, ...], what: str = "") -> str:
    """One of `choices`, exactly as written there (`what` says what they are, in the message)."""
    if isinstance(value, str) and value in choices:
        return value
    listed = " or ".join(repr(c) for c in choices)
    raise UsageError(f"{name}: give {f'{what} ({listed})' if what else listed}, not {_shown(value)}")


def bool_argument(value: Any, name: str) -> bool:
    """True or False (not a string such as "no", which Python would take as true)."""
    if isinstance(value, bool):
        return value
    raise UsageError(f"{name}: give True or False, not {_shown(value)}")


def run_options(*, workers: Any = None, progress: Any = None, replicates: Any = None, force: Any = False,
                progress_with: tuple[str, ...] = ("done", "total")) -> tuple[int | None, int | None]:
    """The options shared by the sweeps and analyses: workers and replicates None or >= 1 (returned as Python
    ints), progress None or a callable taking `progress_with`, force True or False."""
    callback_argument(progress, called_with=progress_with)
    bool_argument(force, "force")
    return count_argument(workers, "workers"), count_argument(replicates, "replicates")
