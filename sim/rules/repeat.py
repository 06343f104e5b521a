"""Repeat attempts: who tries again after a failed attempt, when, and how much more (or less) eager.

A person whose attempt ends in an outcome o in {caught, repatriated, returned} with a delay d_o set
(`repeat.after.<o>`, months) is detained (punished) for K_o = max(1, round(d_o / Δ)) steps and is then back in the
home population, with the attributes they had (group, origin, sex, risk tolerance, means). With d_o null, outcome o
is final: that person never tries again (`retired`). At home, a person who has made a attempts sets out with the
departure rate multiplied by

    m(a) = rho^a          (rho = `repeat.propensity`; a = 0 for someone who never set out: m = 1)

so p_i = 1 - exp(-lambda_g(t) * m(a_i) * exp(U*_i)). The departure bound p_bar uses the largest multiplier anyone
at home can have: 1 if rho <= 1, else rho^A with A the most attempts anyone has made so far.
"""

from __future__ import annotations

import numpy as np

from sim.outcomes import CAUGHT, FLOWS, REPATRIATED, RETURNED
from sim.scenario.schema import Repeat


def repeat_steps(repeat: Repeat, step_months: float) -> list[int | None]:
    """Per outcome (indices of FLOWS): the steps K_o = max(1, round(d_o / step_months)) a failed person is detained
    before being back home, or None where that outcome is final (and for set_out, arrived, killed)."""
    out: list[int | None] = [None] * len(FLOWS)
    for o, d in ((CAUGHT, repeat.after.caught), (REPATRIATED, repeat.after.repatriated),
                 (RETURNED, repeat.after.returned)):
        if d is not None:
            out[o] = max(1, round(d / step_months))
    return out


def rate_multiplier(propensity: float, attempts: np.ndarray) -> np.ndarray:
    """m(a) = propensity^a for each person's number of attempts a (float64); inf where it exceeds the largest
    float (a large propensity or many attempts): such a person sets out with probability 1 at any positive rate
    (a rate of 0 stays 0: `sim.rules.chain.scaled_rates`)."""
    with np.errstate(over="ignore"):
        return np.power(float(propensity), np.asarray(attempts, dtype=np.float64))


def multiplier_bound(propensity: float, max_attempts: int) -> float:
    """An upper bound of m(a) over everyone at home: 1 if propensity <= 1, else propensity^max_attempts."""
    if propensity <= 1.0:
        return 1.0
    return float(rate_multiplier(propensity, np.array([max_attempts]))[0])
