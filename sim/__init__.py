"""bordersim: agent-based simulation of departures along a route network under border policies.

The names below are imported lazily, so that `bordersim --help`, `validate` and `summarize` start fast.
"""

from importlib import import_module

_EXPORTS = {
    "BorderModel": "sim.model",
    "run": "sim.model",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "load_scenario": "sim.scenario",
    "sweep": "sim.experiments.sweep",
    "load_sweep": "sim.experiments.store",
    "run_sensitivity": "sim.experiments.sensitivity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
