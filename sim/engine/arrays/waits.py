"""The arithmetic of waiting at a transit node, on arrays (docs/model.md §5, §14): the same operations, in the
same order, as the Mesa agent's scalar code (`sim.engine.mesa.agents.Migrant`), so the results are equal to the
last bit.

- `unit_exponential(u)` = -log(1 - u), the threshold of a wait, computed with Python's `math.log1p` element by
  element: numpy's `log1p` may use a vectorised approximation (SVML on AVX-512) that differs from the C library's
  in the last bit, and a threshold a bit off could move an arrest by a step.
- `threshold_time(e, rate)` = floor(e / rate) + 1 (inf for rate 0, or when the time overflows), as
  `sim.rules.hazards.threshold_time`.
- `python_max0(x)` = Python's max(0.0, x) (0.0 for NaN, unlike np.maximum).
- `due_step(x)`: the step of an event at float step x (NEVER for inf or beyond int32).
"""

from __future__ import annotations

import math

import numpy as np

from sim.engine.arrays.table import NEVER


def unit_exponential(u: np.ndarray) -> np.ndarray:
    """E = -log1p(-u) element-wise, with the C library's log1p (as `math.log1p`)."""
    return -np.fromiter(map(math.log1p, (-u).tolist()), dtype=np.float64, count=u.size)


def threshold_time(e: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Steps until a cumulative hazard of `rate` per step reaches e: floor(e / rate) + 1; inf where rate is 0
    or e / rate is not below 1e300 (NaN included)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = e / rate
        out = np.where(x < 1e300, np.floor(x) + 1.0, np.inf)
    return np.where(rate == 0.0, np.inf, out)


def scaled_log_survival(log_free: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """`sim.rules.hazards.scaled_log_survival` elementwise: log_free x scale, 0 where scale is 0 (never -inf x 0)."""
    return np.multiply(log_free, scale, out=np.zeros(np.broadcast(log_free, scale).shape), where=scale != 0.0)


def python_max0(x: np.ndarray) -> np.ndarray:
    """max(0.0, x) as Python computes it: x where x > 0.0, else 0.0."""
    return np.where(x > 0.0, x, 0.0)


def due_step(x: np.ndarray) -> np.ndarray:
    """int(x) for the finite steps of events that may still run, NEVER for the others."""
    return np.where(x < NEVER, np.minimum(x, NEVER - 1), NEVER).astype(np.int32)
