"""bordersim: agent-based simulation of departures along a route network under border policies."""

from sim.model import BorderModel, run
from sim.scenario import Scenario, ScenarioError, load_scenario


def sweep(spec, out=None, **kwargs):
    """Run (or resume) a sweep from an experiment spec; one row per run (see sim.experiments.sweep.sweep)."""
    from sim.experiments.sweep import sweep as _sweep

    return _sweep(spec, out, **kwargs)


def load_sweep(path):
    """runs.parquet of a sweep directory as a DataFrame."""
    from sim.experiments.store import load_sweep as _load

    return _load(path)

__all__ = ["BorderModel", "Scenario", "ScenarioError", "load_scenario", "load_sweep", "run", "sweep"]
