"""Which bordersim made a file: the package version and a fingerprint of its code.

The version alone does not tell two states of the code apart (it changes at releases, the code between them), so
every output that records a result also records `code_sha256`: the sha256 of the package's own files that can
change a result, its Python modules and the tables it ships (`sim/**/*.py`, `sim/data/**/*.csv`; not the data's
sources, `SOURCES.md`), taken in order of their paths relative to the package, each as its path, a NUL byte, its
length in bytes, a NUL byte and its bytes. The same files give the same fingerprint wherever the package is
installed (a wheel ships exactly these, pyproject.toml's package data); compiled caches (`__pycache__`), hidden
files (`.DS_Store`, an editor's `.x.py.swp`) and editor backups (`x.py~`) do not count.
"""

from __future__ import annotations

import functools
import hashlib
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


@functools.cache
def package_version() -> str:
    """The installed distribution's version ("0+unknown" when bordersim runs from a tree that was not installed),
    read once per process (as `code_sha256`: the code running is the code that was imported)."""
    try:
        return version("bordersim")
    except PackageNotFoundError:
        return "0+unknown"


def tree_sha256(root: Path) -> str:
    """sha256 of the modules and tables of the package tree `root`, as the module doc says (os.walk, pruning
    hidden and cache directories: 2 ms for bordersim's tree, against 15 ms for a glob of every file)."""
    files: dict[str, str] = {}
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if not d.startswith(".") and d != "__pycache__"]
        rel = Path(directory).relative_to(root).as_posix()
        for name in names:
            counted = name.endswith(".py") or (rel.split("/")[0] == "data" and name.endswith(".csv"))
            path = os.path.join(directory, name)
            if counted and not name.startswith(".") and os.path.isfile(path):  # not a dangling link
                files[name if rel == "." else f"{rel}/{name}"] = path
    digest = hashlib.sha256()
    for rel in sorted(files):
        with open(files[rel], "rb") as f:
            data = f.read()
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


@functools.cache
def code_sha256() -> str:
    """`tree_sha256` of this bordersim's package (read once per process)."""
    return tree_sha256(PACKAGE)


def stamp() -> dict[str, str]:
    """{"version", "code_sha256"} of this process's bordersim, for the provenance of an output file."""
    return {"version": package_version(), "code_sha256": code_sha256()}
