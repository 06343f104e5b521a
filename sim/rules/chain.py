"""Chain migration: the propensity to set out from an origin grows with those who arrived from it before.

With A_o(t) the arrivals from origin o in the steps before t (family in the destination who pay brokers and send
news), the departure rate of everyone at home in o is multiplied by (docs/model.md §11)

    linear:  m_o(t) = 1 + beta * A_o(t) / N0
    log:     m_o(t) = 1 + beta * log(1 + A_o(t) / N0)

with beta = `population.chain.weight`, N0 = `population.chain.scale`. Both are 1 with no arrivals and grow without
bound, the log form ever more slowly. Pure numpy: an array engine can reuse it.
"""

from __future__ import annotations

import numpy as np


def chain_multiplier(arrivals: np.ndarray, weight: float, scale: float, form: str) -> np.ndarray:
    """m_o = 1 + weight * A_o / scale (form 'linear') or 1 + weight * log1p(A_o / scale) (form 'log'); inf past the
    floating-point range (every departure rate it multiplies, but 0, becomes certain: `scaled_rates`)."""
    with np.errstate(over="ignore"):
        a = np.asarray(arrivals, dtype=float) / scale
        return 1.0 + weight * (a if form == "linear" else np.log1p(a))


def scaled_rates(rates: np.ndarray, multipliers: np.ndarray | float) -> np.ndarray:
    """rates * multipliers, with a rate of 0 staying 0 whatever multiplies it (0 * inf is NaN in floating point: a
    group that never sets out does not start to under an infinite chain or repeat multiplier)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(rates > 0.0, rates * multipliers, 0.0)
