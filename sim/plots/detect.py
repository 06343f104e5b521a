"""Read what a run or a sweep wrote to disk, and tell which of the two a directory is.

A run directory holds summary.json, timeseries.parquet and scenario.resolved.yaml (`bordersim run`); a sweep
directory holds sweep.json and runs.parquet (`bordersim sweep`). Plots read only these files, never the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from sim.scenario import ScenarioError

RUN_FILES = ("summary.json", "timeseries.parquet", "scenario.resolved.yaml")


def kind_of(path: str | Path) -> str:
    """'run' or 'sweep'; a ScenarioError (bad input) naming what is missing otherwise."""
    root = Path(path)
    if not root.is_dir():
        raise ScenarioError(f"{root}: no such directory (give a run directory from `bordersim run` or a sweep "
                            "directory from `bordersim sweep`)")
    if (root / "sweep.json").exists():
        if not (root / "runs.parquet").exists():
            raise ScenarioError(f"{root} is a sweep directory without runs.parquet; run the same `bordersim "
                                "sweep` command again to finish it")
        return "sweep"
    if (root / "summary.json").exists():
        missing = [f for f in RUN_FILES if not (root / f).exists()]
        if missing:
            raise ScenarioError(f"{root} is a run directory missing {', '.join(missing)}")
        return "run"
    raise ScenarioError(f"{root} is neither a run directory (summary.json, timeseries.parquet, "
                        "scenario.resolved.yaml) nor a sweep directory (sweep.json, runs.parquet)")


@dataclass
class RunData:
    """One run directory, read: summary (dict as in summary.json), tidy time series, resolved scenario (dict)."""

    path: Path
    summary: dict
    timeseries: pd.DataFrame
    scenario: dict

    @property
    def routes(self) -> list[str]:
        return list(self.summary["by_route"])

    @property
    def groups(self) -> list[str]:
        return list(self.summary["by_group"])

    @property
    def name(self) -> str:
        return self.summary["provenance"]["scenario"]

    def enabled_policies(self) -> list[dict]:
        return [p for p in self.scenario.get("policies") or [] if p.get("enabled", True)]


@dataclass
class SweepData:
    """One sweep directory, read: manifest (sweep.json), one row per run (runs.parquet), parameter names."""

    path: Path
    manifest: dict
    runs: pd.DataFrame

    @property
    def parameters(self) -> list[str]:
        return list(self.manifest.get("parameters") or [])

    @property
    def design(self) -> str:
        return (self.manifest.get("spec") or {}).get("design", {}).get("type", "grid")

    @property
    def name(self) -> str:
        return (self.manifest.get("spec") or {}).get("name", self.path.name)

    @property
    def packages(self) -> list[str]:
        """Policy package names in spec order (policies design), else []."""
        return list((self.manifest.get("spec") or {}).get("design", {}).get("policies") or {})

    @property
    def ok(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] == "ok"] if not self.runs.empty else self.runs

    @property
    def routes(self) -> list[str]:
        """Route labels in column order, from `route.<route>.<outcome>` columns."""
        out = []
        for c in self.runs.columns:
            if c.startswith("route.") and c.count(".") >= 2:
                r = c[len("route."):c.rindex(".")]
                if r not in out:
                    out.append(r)
        return out

    @property
    def years(self) -> list[str]:
        return sorted({c.split(".")[1] for c in self.runs.columns if c.startswith("year.") and c.endswith(".arrived")})

    def varying(self) -> list[str]:
        """Parameters that take more than one value among the successful runs."""
        ok = self.ok
        return [p for p in self.parameters if p in ok.columns and ok[p].nunique(dropna=True) > 1]

    def numeric(self, name: str) -> bool:
        return name in self.runs.columns and pd.api.types.is_numeric_dtype(self.runs[name])


def load_run(path: str | Path) -> RunData:
    root = Path(path)
    summary = json.loads((root / "summary.json").read_text())
    ts = pd.read_parquet(root / "timeseries.parquet")
    ts["date"] = pd.to_datetime(ts["date"])
    scenario = yaml.safe_load((root / "scenario.resolved.yaml").read_text()) or {}
    return RunData(root, summary, ts, scenario)


def load_sweep_dir(path: str | Path) -> SweepData:
    root = Path(path)
    manifest = json.loads((root / "sweep.json").read_text())
    runs = pd.read_parquet(root / "runs.parquet")
    return SweepData(root, manifest, runs)


def load(path: str | Path) -> RunData | SweepData:
    return load_run(path) if kind_of(path) == "run" else load_sweep_dir(path)
