"""Nested route choice: a family of routes first, by the log-sum of its paths, then a path within it.

For person i with path utilities U_ij (-inf where unaffordable) and families F (route labels, or groups of them),
with the nest scale mu in (0, 1] (docs/model.md §13):

    P(j | F) = exp(U_ij / mu) / sum_{k in F} exp(U_ik / mu)
    I_F      = mu * log sum_{k in F} exp(U_ik / mu)              (the family's log-sum, -inf if none affordable)
    P(F)     = exp(I_F) / sum_G exp(I_G)
    P(j)     = P(F(j)) * P(j | F(j))

mu = 1 gives P(j) = exp(U_ij) / sum_k exp(U_ik), the flat logit; as mu -> 0 a family's paths become perfect
substitutes (only its best path counts for the family's share). A path is drawn with one uniform by the inverse
CDF of P(j) over the paths in their given order. Pure numpy: an array engine can reuse it.
"""

from __future__ import annotations

import numpy as np


def nested_probabilities(u: np.ndarray, family: np.ndarray, mu: float) -> np.ndarray:
    """(k, P) nested-logit probabilities of the P paths for k persons; `family` (P,) labels each path's family.
    Every row must have at least one finite utility."""
    fams = np.unique(family)
    with np.errstate(over="ignore"):  # a utility near -1e308 over mu < 1 is -inf: the path infinitely bad, as in U
        v = u / mu
    within = np.zeros_like(v)
    logsum = np.empty((u.shape[0], fams.size))
    for f_i, f in enumerate(fams):
        cols = np.flatnonzero(family == f)
        vf = v[:, cols]
        top = vf.max(axis=1)
        finite = np.isfinite(top)
        safe_top = np.where(finite, top, 0.0)
        e = np.exp(vf - safe_top[:, None])
        s = e.sum(axis=1)
        within[:, cols] = np.where(finite[:, None], e / np.where(finite, s, 1.0)[:, None], 0.0)
        logsum[:, f_i] = np.where(finite, mu * (safe_top + np.log(np.where(finite, s, 1.0))), -np.inf)
    top = logsum.max(axis=1, keepdims=True)
    pf = np.exp(logsum - top)
    pf /= pf.sum(axis=1, keepdims=True)
    fam_index = np.searchsorted(fams, family)
    return pf[:, fam_index] * within


def nested_choice(u: np.ndarray, family: np.ndarray, mu: float, uniforms: np.ndarray) -> np.ndarray:
    """Row-wise path index drawn with the nested-logit probabilities by inverse CDF on the given uniforms."""
    cdf = np.cumsum(nested_probabilities(u, family, mu), axis=1)
    cdf /= cdf[:, -1:]
    idx = (cdf < uniforms[:, None]).sum(axis=1)
    return np.minimum(idx, u.shape[1] - 1)
