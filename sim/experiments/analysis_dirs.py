"""The output rule of sim/outputs.py applied to analyses that run sweeps (calibration, sensitivity).

An analysis directory OUT carries the marker of its kind (`calibration`, `sensitivity`), written when bordersim
creates it, and is resumed in place: `claim_analysis_dir` refuses anything else before a file is written. Inside
it, each sweep directory (OUT/sweep, OUT/check, ...) must be absent, empty or a bordersim `sweep` directory;
anything else is refused, with or without --force, and nothing is deleted. A sweep directory holding the runs of
another spec (its sweep.json fingerprint differs) is replaced only through `remove_owned(path, "sweep")`: when the
user passes --force, or when the analysis derived that sweep itself from earlier results (a calibration's second
round and check). Files such as OUT/base.yaml are the analysis's own, written atomically, and only inside its own
directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import UsageError
from sim.outputs import MARKER, claim_dir, marker_kind, remove_owned, write_marker

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiments.spec import LoadedSpec
    from sim.experiments.sweep import Plan


def claim_analysis_dir(out: Path, kind: str, *, force: bool, sweeps: list[str], files: list[str]) -> bool:
    """Check, before anything is written, that `kind` may run in `out`: `out` itself by `claim_dir` (absent,
    empty, or a `kind` directory, which is resumed), every sweep directory in `sweeps` by `check_sweep_dir`, and
    every name in `files` is not a directory. True when `out` exists as a `kind` directory. Raises UsageError."""
    existed = claim_dir(out, kind, force=force, resume=True)
    if existed:
        for name in sweeps:
            check_sweep_dir(out / name)
        for name in files:
            p = out / name
            if p.is_symlink() or (p.exists() and not p.is_file()):
                raise UsageError(f"{p}: exists and is not a file bordersim wrote; move it away")
    return existed


def make_analysis_dir(out: Path, kind: str, existed: bool) -> None:
    """Create `out` with its `kind` marker (when `claim_analysis_dir` found it absent or empty)."""
    if not existed:
        out.mkdir(parents=True, exist_ok=True)
        write_marker(out, kind)


def check_sweep_dir(path: Path) -> None:
    """`path` must be absent, an empty directory or a bordersim sweep directory; else UsageError."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_dir():
        raise UsageError(f"{path}: exists and is not a sweep directory; bordersim does not delete or overwrite it: "
                         "move it away")
    if any(path.iterdir()) and marker_kind(path) != "sweep":
        raise UsageError(f"{path}: exists and was not made by bordersim as a sweep directory (no {MARKER} marker "
                         "of kind sweep); bordersim never deletes or writes into such a directory, even with "
                         "--force: move it away")


def is_stale(path: Path, ls: LoadedSpec) -> bool:
    """True when the sweep directory `path` (checked by `check_sweep_dir`) has a sweep.json that is unreadable or
    names another design (fingerprint) than `ls`. Without a sweep.json there is nothing to compare (a new
    directory, or one the store has just created): not stale."""
    manifest = path / "sweep.json"
    if not manifest.exists():
        return False
    try:
        recorded = json.loads(manifest.read_text()).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return True
    return recorded != ls.fingerprint()


def refuse_stale(path: Path) -> None:
    raise UsageError(f"{path}: holds the runs of a different design (the spec, its sampling or the base scenario "
                     "changed since they were made, or its sweep.json is unreadable); choose another --out, or "
                     "pass --force to discard them")


def run_owned_sweep(p: Plan, path: Path, *, replace: bool, workers: int | None, scheduler: str | None,
                    progress: Callable[[int, int], None] | None) -> pd.DataFrame:
    """Run (or resume) the sweep plan `p` in `path`, a sweep directory inside an analysis directory. If `path`
    holds another design's runs: removed (`remove_owned`, only a bordersim sweep directory) when `replace`, else
    refused. The sweep directory gets the sweep marker."""
    from sim.experiments.sweep import run_sweep

    check_sweep_dir(path)
    if is_stale(path, p.spec):
        if not replace:
            refuse_stale(path)
        remove_owned(path, "sweep")
    try:
        return run_sweep(p, path, workers=workers, scheduler=scheduler, force=False, progress=progress)
    finally:
        mark_sweep(path)


def mark_sweep(path: Path) -> None:
    """Give a sweep directory the store made (it holds sweep.json) the sweep marker if it has none."""
    if (path / "sweep.json").is_file() and marker_kind(path) is None:
        write_marker(path, "sweep")
