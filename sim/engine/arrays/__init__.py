"""The array engine: the model of the Mesa engine with people on the way as rows of arrays, events handled in
vectorised batches, docked exactly to the Mesa engine (tests/test_docking.py, docs/performance.md). It imports no
Mesa.

- `table`: the migrant table (structure of arrays, rows reused);
- `waits`: the arithmetic of waiting, equal to the Mesa agent's to the last bit;
- `model`: `ArrayModel` (an `sim.engine.core.EngineCore` with the journey on batches of rows) and `run`.
"""

from sim.engine.arrays.model import ArrayModel, run

__all__ = ["ArrayModel", "run"]
