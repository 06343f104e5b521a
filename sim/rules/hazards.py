"""Controls -> probabilities. Pure, vectorized functions; each formula is stated in docs/model.md.

Crossing an edge is resolved once, when the crossing ends, as three successive independent trials:

    P(blocked)  = 1 - exp(-sum_k b_k c_k)   -> turns back (outcome `returned`)
    P(killed)   = 1 - exp(-sum_k m_k c_k)   -> killed undetected (mines)
    P(detected) = 1 - exp(-sum_k a_k c_k)   -> shot dead w.p. `shot_kill_probability` under a
                                               shoot-on-sight order, otherwise caught

with c_k the edge's control densities (guards, fence, mines, surveillance, patrol) in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np

from sim.scenario.schema import CONTROLS, HazardCoefficients, Hazards

# Order of edge outcomes in `edge_outcome_table` columns.
EDGE_OUTCOMES = ("returned", "killed_undetected", "shot", "caught", "passed")


def coefficient_vector(coefs: HazardCoefficients) -> np.ndarray:
    """Coefficients as a vector in the order of `CONTROLS`."""
    return np.array([getattr(coefs, c) for c in CONTROLS], dtype=float)


def exposure_probability(controls: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """P = 1 - exp(-controls @ coefs): controls (E, 5) densities, coefs (5,) -> (E,) probabilities."""
    return -np.expm1(-(controls @ coefs))


def edge_outcome_table(controls: np.ndarray, shoot_on_sight: np.ndarray, hazards: Hazards) -> np.ndarray:
    """(E, 5) probabilities of each outcome in `EDGE_OUTCOMES` for one crossing of each edge; rows sum to 1."""
    pb = exposure_probability(controls, coefficient_vector(hazards.block))
    pk = exposure_probability(controls, coefficient_vector(hazards.kill))
    pd = exposure_probability(controls, coefficient_vector(hazards.detect))
    through = (1 - pb) * (1 - pk)
    detected = through * pd
    shot = detected * np.where(shoot_on_sight, hazards.shot_kill_probability, 0.0)
    table = np.column_stack([pb, (1 - pb) * pk, shot, detected - shot, through * (1 - pd)])
    return table


def transit_survival(arrest_hazard: np.ndarray, dwell: np.ndarray, geometric: np.ndarray) -> np.ndarray:
    """P(leaving a transit node without arrest).

    fixed dwell w (steps):      (1 - h)^round(w)
    geometric dwell, mean D:    q(1 - h) / (1 - (1 - q)(1 - h)),  q = 1/D   (arrest is tried before leaving
                                                                             in each step)
    """
    h = np.asarray(arrest_hazard, dtype=float)
    w = np.asarray(dwell, dtype=float)
    geo = np.asarray(geometric, dtype=bool)
    fixed = (1 - h) ** np.round(w)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(w >= 1, 1.0 / np.maximum(w, 1.0), 1.0)
        geom = np.where(w >= 1, q * (1 - h) / (1 - (1 - q) * (1 - h)), 1.0)
    geom = np.where(np.isfinite(geom), geom, 0.0)
    return np.where(geo, geom, fixed)


def expected_dwell(dwell: np.ndarray, geometric: np.ndarray) -> np.ndarray:
    """Expected planned wait in steps: round(w) for fixed, D for geometric (ignoring arrest)."""
    return np.where(geometric, dwell, np.round(dwell))


def geometric_time(u: float, p: float) -> float:
    """Inverse-CDF draw of a Geometric(p) waiting time on {1, 2, ...} from a uniform u in [0, 1); inf if p = 0."""
    return geometric_time_log(u, log_survival(p))


def leave_probability(dwell: float) -> float:
    """Per-step probability of leaving a node with a geometric dwell of mean `dwell` steps: 1 / dwell (1 below
    one step)."""
    return 1.0 / dwell if dwell >= 1 else 1.0


def log_survival(p: float) -> float:
    """log(1 - p), the per-step log survival used by `geometric_time_log` (0 for p = 0, -inf for p = 1)."""
    return -math.inf if p >= 1.0 else math.log1p(-p)


def scaled_log_survival(log_free: float, scale: float) -> float:
    """log(1 - h) x a: the per-step log survival of a hazard h whose cumulative hazard is scaled by a >= 0 (an
    arrest scale, docs/model.md §14: 1 - (1 - h)^a); 0 for a = 0 even where h = 1 (log(1 - h) = -inf), never
    arrested rather than -inf x 0 = NaN."""
    return 0.0 if scale == 0.0 else log_free * scale


def threshold_time(e: float, rate: float) -> float:
    """Steps until a cumulative hazard of `rate` per step reaches the threshold e >= 0: floor(e / rate) + 1
    (1 for rate = inf; inf for rate = 0 or when the time overflows). With e = -log(1 - u) and
    rate = -log(1 - p) this is the Geometric(p) time of `geometric_time_log`."""
    if rate == 0.0:
        return math.inf
    t = e / rate
    return math.floor(t) + 1.0 if t < 1e300 else math.inf


def geometric_time_log(u: float, log_q: float) -> float:
    """Geometric waiting time T = floor(log(1 - u) / log(1 - p)) + 1 given log_q = log(1 - p); inf when p = 0
    (log_q = 0) or when p is so small that T overflows."""
    if log_q == 0.0:
        return math.inf
    t = math.log1p(-u) / log_q
    return math.floor(t) + 1.0 if t < 1e300 else math.inf
