"""Crash-safe, resumable results store of a sweep directory. Written only by the parent process.

Layout:
    DIR/sweep.json                         manifest: spec fingerprint, spec, base scenario name
    DIR/runs/<run_id>.json                 one record per finished run (status, outcomes, error, wall time)
    DIR/timeseries/run_id=<run_id>/part-0.parquet   the run's time series (a Parquet dataset keyed by run_id)
    DIR/runs.parquet                       one row per run, rebuilt from the records at the end and on resume

Every file is written to a temporary name in the same directory and renamed into place (atomic on POSIX), the
time series before the record, so a record on disk always means a complete run. A kill at any moment leaves at
worst a stray temporary file, removed when the store is opened again.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from sim.experiments.design import RunSpec
from sim.experiments.spec import LoadedSpec
from sim.experiments.task import TaskOutput
from sim.scenario import ScenarioError


class SweepStore:
    def __init__(self, root: Path):
        self.root = root
        self.runs_dir = root / "runs"
        self.ts_dir = root / "timeseries"

    # ------------------------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, root: str | Path, ls: LoadedSpec, *, force: bool = False) -> SweepStore:
        """Create the store, or reopen it to resume; refuse a directory made by a different spec unless force."""
        root = Path(root)
        store = cls(root)
        manifest = root / "sweep.json"
        fingerprint = ls.fingerprint()
        if root.exists() and any(root.iterdir()):
            if not manifest.exists():
                if not force:
                    raise ScenarioError(f"{root} exists and is not a sweep directory; choose another --out "
                                        "or pass --force to replace it")
                shutil.rmtree(root)
            else:
                old = json.loads(manifest.read_text())
                if old.get("fingerprint") != fingerprint:
                    if not force:
                        raise ScenarioError(
                            f"{root} holds results of a different spec ({old.get('spec_path')}, spec or base "
                            f"scenario changed); choose another --out, or pass --force to discard them")
                    shutil.rmtree(root)
        store.runs_dir.mkdir(parents=True, exist_ok=True)
        store.ts_dir.mkdir(parents=True, exist_ok=True)
        store._clean_temporaries()
        if not manifest.exists():
            _atomic_write_text(manifest, json.dumps({
                "fingerprint": fingerprint,
                "spec_path": str(ls.path),
                "spec": ls.spec.model_dump(mode="json"),
                "scenario": ls.base.name,
                "parameters": ls.parameter_names,
            }, indent=2) + "\n")
        return store

    def _clean_temporaries(self) -> None:
        for p in list(self.root.rglob(".*.tmp")):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------------ records
    def finished(self) -> set[str]:
        """run_ids with a successful record."""
        done = set()
        for p in self.runs_dir.glob("*.json"):
            try:
                if json.loads(p.read_text()).get("status") == "ok":
                    done.add(p.stem)
            except (OSError, json.JSONDecodeError):
                continue
        return done

    def record(self, run: RunSpec, out: TaskOutput) -> None:
        if out.timeseries is not None:
            part = self.ts_dir / f"run_id={run.run_id}"
            part.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".part-0.", suffix=".tmp", dir=part)
            os.close(fd)
            out.timeseries.drop(columns=["run_id"]).to_parquet(tmp, index=False)
            os.replace(tmp, part / "part-0.parquet")
        record = {
            "run_id": run.run_id,
            "point": run.point.index,
            "package": run.point.package,
            "replicate": run.replicate,
            "seed": run.seed,
            "parameters": run.point.values,
            "status": out.status,
            "error": out.error,
            "outcomes": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.outcomes.items()},
            "wall_time": out.wall_time,
        }
        _atomic_write_text(self.runs_dir / f"{run.run_id}.json", json.dumps(record) + "\n")

    # ------------------------------------------------------------------------------------------ table
    def compile(self, runs: list[RunSpec], parameter_names: list[str]) -> pd.DataFrame:
        """runs.parquet: one row per run of the design that has a record, in run_id order."""
        rows = []
        for run in sorted(runs, key=lambda r: r.run_id):
            p = self.runs_dir / f"{run.run_id}.json"
            if not p.exists():
                continue
            rec = json.loads(p.read_text())
            row = {"run_id": rec["run_id"], "point": rec["point"]}
            if any(r.point.package is not None for r in runs):
                row["policy"] = rec["package"]
            row.update({"replicate": rec["replicate"], "seed": rec["seed"]})
            row.update({name: rec["parameters"].get(name) for name in parameter_names})
            row.update({"status": rec["status"], "error": rec["error"]})
            row.update({k: (math.nan if v is None else v) for k, v in rec["outcomes"].items()})
            row["wall_time"] = rec["wall_time"]
            rows.append(row)
        df = pd.DataFrame(rows)
        if not df.empty:
            df["seed"] = df["seed"].astype("uint64")
            wall = df.pop("wall_time")
            df["wall_time"] = wall
        fd, tmp = tempfile.mkstemp(prefix=".runs.", suffix=".tmp", dir=self.root)
        os.close(fd)
        df.to_parquet(tmp, index=False)
        os.replace(tmp, self.root / "runs.parquet")
        return df


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def load_sweep(root: str | Path) -> pd.DataFrame:
    """runs.parquet of a sweep directory (one row per run)."""
    path = Path(root) / "runs.parquet"
    if not path.exists():
        raise ScenarioError(f"{root} has no runs.parquet; is it a sweep directory? (run `bordersim sweep` first)")
    return pd.read_parquet(path)
