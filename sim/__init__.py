"""bordersim: agent-based simulation of departures along a route network under border policies.

The names below are imported lazily (on first use), so that `bordersim --help`, `validate` and `summarize` start
fast; `dir(sim)` and tab completion list them.
"""

from importlib import import_module
from importlib.util import find_spec

__all__ = [
    "BorderModel",
    "InputError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SweepInterrupted",
    "UsageError",
    "WriteFailed",
    "calibrate",
    "compare",
    "effects",
    "load_observed",
    "load_scenario",
    "load_sweep",
    "run",
    "sensitivity",
    "sweep",
    "write_run",
]

# name -> (module, attribute in it)
_EXPORTS = {
    "BorderModel": ("sim.engine.mesa.model", "BorderModel"),
    "InputError": ("sim.errors", "InputError"),
    "RunResult": ("sim.engine.ledger", "RunResult"),
    "Scenario": ("sim.scenario.schema", "Scenario"),
    "ScenarioError": ("sim.errors", "ScenarioError"),
    "SweepInterrupted": ("sim.experiments.sweep", "SweepInterrupted"),
    "UsageError": ("sim.errors", "UsageError"),
    "WriteFailed": ("sim.errors", "WriteFailed"),
    "calibrate": ("sim.analysis.calibration.abc", "calibrate"),
    "compare": ("sim.analysis.compare", "compare"),
    "effects": ("sim.analysis.effects.run", "run_effects"),
    "load_observed": ("sim.observed", "load_observed"),
    "load_scenario": ("sim.loading", "load_scenario"),
    "load_sweep": ("sim.experiments.store", "load_sweep"),
    "run": ("sim.engine.engines", "run"),
    "sensitivity": ("sim.analysis.sensitivity.run", "run_sensitivity"),
    "run_sensitivity": ("sim.analysis.sensitivity.run", "run_sensitivity"),  # the earlier name of `sensitivity`
    "sweep": ("sim.experiments.sweep", "sweep"),
    "write_run": ("sim.engine.ledger", "write_run"),
}


def __getattr__(name: str):
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        return getattr(import_module(module), attribute)
    if not name.startswith("_") and find_spec(f"sim.{name}") is not None:  # a submodule the docs name, such as
        return import_module(f"sim.{name}")  # sim.errors.ScenarioWarning or sim.plots.make_figures
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
