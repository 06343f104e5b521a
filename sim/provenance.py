"""Which bordersim made a file: the package version and a fingerprint of its code.

The version alone does not tell two states of the code apart (it changes at releases, the code between them), so
every output that records a result also records `code_sha256`: the sha256 of the package's own files that can
change a result, its Python modules and the data it ships (`sim/**/*.py`, `sim/data/**`), taken in order of their
paths relative to the package, each as its path, a NUL byte, its length in bytes, a NUL byte and its bytes. The
same files give the same fingerprint wherever the package is installed (a wheel or a checkout); compiled caches
(`__pycache__`) do not count.
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


def _counted(path: Path) -> bool:
    rel = path.relative_to(PACKAGE).parts
    return path.is_file() and "__pycache__" not in rel and (path.suffix == ".py" or rel[0] == "data")


@functools.cache
def code_sha256() -> str:
    """sha256 of the package's modules and data, as the module doc says (read once per process)."""
    digest = hashlib.sha256()
    for path in sorted((p for p in PACKAGE.rglob("*") if _counted(p)), key=lambda p: p.relative_to(PACKAGE).as_posix()):
        data = path.read_bytes()
        digest.update(f"{path.relative_to(PACKAGE).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def stamp() -> dict[str, str]:
    """{"version", "code_sha256"} of this process's bordersim, for the provenance of an output file."""
    return {"version": package_version(), "code_sha256": code_sha256()}
