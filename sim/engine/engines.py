"""The two engines of the one model, by name, and the rule for choosing one.

- `agents`: the Mesa engine (`sim.engine.mesa`), one Mesa agent per person on the way: the canonical,
  inspectable one, to step in a notebook or a dashboard and to subclass.
- `arrays`: the array engine (`sim.engine.arrays`), people on the way as rows of arrays, events handled in
  batches: the same rules and the same random draws, so the same scenario and seed give the same files
  (tests/test_docking.py); built for ensembles.

`bordersim run` uses `agents` unless told otherwise; sweeps, calibration and sensitivity use `arrays`. An engine
is imported only when it is used (the Mesa import alone takes about 1.5 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable, Literal

from sim.api_checks import callback_argument, seed_argument
from sim.errors import UsageError

if TYPE_CHECKING:  # this module stays light: executors and specs import it
    from sim.engine.ledger import RunResult
    from sim.scenario.schema import Scenario

EngineName = Literal["agents", "arrays"]
MODULES: dict[str, str] = {"agents": "sim.engine.mesa.model", "arrays": "sim.engine.arrays"}
RUN_DEFAULT: EngineName = "agents"
ENSEMBLE_DEFAULT: EngineName = "arrays"


def engine_module(engine: str) -> str:
    """The module that holds `engine`'s `run`; ValueError naming the engines for any other name."""
    try:
        return MODULES[engine]
    except KeyError:
        raise ValueError(f"unknown engine '{engine}'; choose one of {', '.join(MODULES)}") from None


def run(scenario: Scenario, seed: int | None = None, *, engine: str = RUN_DEFAULT,
        progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Run a scenario once over its whole horizon (`sim.run`): `scenario` a Scenario (`sim.load_scenario(PATH)`),
    `seed` None (the scenario's) or an integer >= 0, `engine` 'agents' (the Mesa engine, the default) or 'arrays'
    (the same files for the same seed, faster), `progress` None or a callback(done, total) called after each step;
    anything else is a UsageError naming the argument."""
    if not isinstance(engine, str) or engine not in MODULES:
        raise UsageError(f"engine: give one of {', '.join(map(repr, MODULES))}, not {engine!r}")
    module = importlib.import_module(MODULES[engine])
    return module.run(scenario, seed=seed_argument(seed), progress=callback_argument(progress))
