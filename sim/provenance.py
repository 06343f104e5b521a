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
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def package_version() -> str:
    """The installed distribution's version ("0+unknown" when bordersim runs from a tree that was not installed)."""
    try:
        return version("bordersim")
    except PackageNotFoundError:
        return "0+unknown"


def _counted(rel: tuple[str, ...]) -> bool:
    if any(part.startswith(".") or part == "__pycache__" for part in rel):
        return False
    return rel[-1].endswith(".py") or (rel[0] == "data" and rel[-1].endswith(".csv"))


def tree_sha256(root: Path) -> str:
    """sha256 of the modules and tables of the package tree `root`, as the module doc says."""
    digest = hashlib.sha256()
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*")
             if p.is_file() and _counted(p.relative_to(root).parts)}
    for rel in sorted(files):
        data = files[rel].read_bytes()
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
