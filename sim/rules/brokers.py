"""Brokers at transit nodes: passages per step, the price of a passage, who gets one. Pure functions on numpy arrays
(no Mesa), so that an array engine can reuse them; the rules are stated in docs/model.md §14.

A transit node with `brokers` sells passages onward. With a capacity of K passages per step (K per month times
the step length Δ), the passages on offer in step t are the whole ones accrued:

    credit(t) = credit(t - 1) + K,   S(t) = floor(credit(t)),   credit(t) -= S(t)

(passages not sold in the step are lost: credit counts time, not unsold stock). The price in step t is

    F(t) = min(fee_max, f(t) * max(1, Q(t - 1) / max(K(t - 1), 1)) ** eta)          F(0) = min(fee_max, f(0))

with f(t) the base fee after policies, eta >= 0 the fee elasticity, Q(t - 1) the number queued for an open edge
at the previous step's sale and K(t - 1) the capacity per month in force then (the queue in months of passages,
so the price does not depend on the step length; eta = 0: F = f).
The buyers are the first S(t) in order of joining the queue among those who can pay: m_i(t) >= F(t) + c_i,
where c_i is the cost of the legs the passage takes them along (to the next broker node or the destination).
Means grow while waiting: m_i(t) = m_i(t_i) + s_i * (t - t_i) from the step t_i of arrival at the node, with s_i
the person's savings per step.
"""

from __future__ import annotations

import math

import numpy as np


def passages_on_offer(credit: float, capacity: float) -> tuple[int, float]:
    """(S, credit left) for one step: credit + capacity accrued, S = its whole part, the fraction carried over."""
    credit += capacity
    slots = math.floor(credit)
    return slots, credit - slots


def scarcity_price(base_fee: float, queued: int, supply: float, elasticity: float,
                   fee_max: float | None) -> float:
    """F = min(fee_max, base_fee * max(1, queued / max(supply, 1)) ** elasticity), with `queued` people and
    `supply` passages per month (so the price does not depend on the step length); elasticity 0 gives base_fee
    (capped by fee_max). A price past the floating-point range is infinite (no one can pay it) before the cap."""
    fee = base_fee
    if elasticity > 0 and queued > 0:
        try:
            fee = base_fee * max(1.0, queued / max(supply, 1.0)) ** elasticity
        except OverflowError:  # float ** float raises where float * float gives inf
            fee = math.inf if base_fee > 0 else 0.0
    if fee_max is not None:
        fee = min(fee, fee_max)
    return fee


def means_now(base: np.ndarray, savings: np.ndarray, t: int) -> np.ndarray:
    """m_i(t) = base_i + s_i * t, where base_i = m_i(t_i) - s_i * t_i was fixed at the step t_i of arrival."""
    return base + savings * t


def buyers(means: np.ndarray, need: np.ndarray, eligible: np.ndarray, slots: int) -> np.ndarray:
    """Positions (in queue order) of the first `slots` entries that are eligible (alive, their next leg open) and
    can pay (means >= need): first come, first served among those who can afford the passage; the others keep
    their place."""
    if slots <= 0:
        return np.zeros(0, dtype=np.int64)
    ok = np.flatnonzero(eligible & (means >= need))
    return ok[:slots]
