"""Optional dependencies (the extras of pyproject.toml): whether one is installed, found without importing it
(some take seconds to import), and the error that names the extra to install (exit 2 from the command line)."""

from __future__ import annotations

import importlib.util

from sim.errors import UsageError


def installed(module: str) -> bool:
    """`module` would import: it is found on the path (a parent package missing or a module entry of None, a
    blocked import, count as not installed)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extra(purpose: str, extra: str, why: str) -> UsageError:
    """The UsageError for `purpose` (e.g. 'scenario discovery') when the extra `extra` is not installed."""
    return UsageError(f"{purpose} needs the optional dependency of bordersim[{extra}] ({why}); install it with: "
                      f"pip install 'bordersim[{extra}]' (from a checkout: pip install -e '.[{extra}]')")
