"""What every command shares: exit codes and the argument types argparse checks (a bad value exits 2 with usage)."""

from __future__ import annotations

import argparse

from sim.api_checks import MAX_SEED, keep_leading_dot

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143  # 128 + SIGINT, SIGTERM


def at_least_one(text: str) -> int:
    """An integer >= 1 (--workers, --replicates)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, found {value}")
    return value


def seed_text(text: str) -> int:
    """A seed: an integer from 0 to 2^63 - 1 (--seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed is 0 to {MAX_SEED:,} (2^63 - 1), found {value}")
    return value


def tcp_port(text: str) -> int:
    """A TCP port to serve on, 1..65535 (--port)."""
    value = at_least_one(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 1..65535, found {value}")
    return value


def path_text(text: str) -> str:
    """A path given on the command line (--out, --write-scenario): not empty or blank (an empty `--out ""`, a shell
    variable that was not set, meant the default place to some commands and an error to others), and not starting
    with '~' ('~', '~/x', '~user/x' quoted: the shell did not expand them, and a directory named '~' was made here).
    A name that starts with '~' is given as ./~name, returned as an absolute path (a Path drops the ./)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give a path, not an empty or blank string (leave the option out for its "
                                         "default)")
    if text.startswith("~"):
        raise argparse.ArgumentTypeError(f"{text!r} starts with '~', which the shell did not expand (quoted, as "
                                         "'~/x' or \"~/x\"): give it unquoted or written out (a name starting with "
                                         "'~' is given as ./~name)")
    return keep_leading_dot(text)
