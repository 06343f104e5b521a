"""Rank correlation of a weighted sample (the particles of sequential ABC carry importance weights).

Each value's rank is its weighted mid-rank, the weight of the values below it plus half the weight of the values
equal to it, over the total weight:

    r_i = (sum_{j: x_j < x_i} w_j + 1/2 sum_{j: x_j = x_i} w_j) / sum_j w_j,

and the correlation is the weighted Pearson correlation of the ranks,

    rho_w = sum_i w_i (r_i - rbar)(s_i - sbar) / sqrt(sum_i w_i (r_i - rbar)^2 sum_i w_i (s_i - sbar)^2),

with rbar = sum_i w_i r_i / sum_i w_i. With equal weights r_i is (average rank - 1/2) / n, a linear function of the
ordinary average rank, so rho_w is Spearman's rho; a weight of k counts as k copies of the point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["weighted_ranks", "weighted_spearman", "weighted_spearman_matrix"]


def weighted_ranks(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted mid-ranks of x in (0, 1) (module docstring); ties share one rank."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    values, inverse = np.unique(x, return_inverse=True)
    mass = np.bincount(inverse, weights=w, minlength=len(values))
    below = np.concatenate([[0.0], np.cumsum(mass)[:-1]])
    return (below + mass / 2.0)[inverse] / w.sum()


def weighted_spearman(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
    """rho_w of the module docstring (Spearman's rho when w is None or constant); NaN when a column is constant."""
    x = np.asarray(x, dtype=float)
    w = np.ones(len(x)) if w is None else np.asarray(w, dtype=float)
    r, s = weighted_ranks(x, w), weighted_ranks(np.asarray(y, dtype=float), w)
    r, s = r - np.average(r, weights=w), s - np.average(s, weights=w)
    den = np.sqrt(np.sum(w * r * r) * np.sum(w * s * s))
    return float(np.sum(w * r * s) / den) if den > 0 else float("nan")


def weighted_spearman_matrix(table: pd.DataFrame, names: list[str], w: np.ndarray | None = None) -> pd.DataFrame:
    """rho_w for every pair of the columns `names` (1 on the diagonal), as a names x names frame."""
    out = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            out.loc[a, b] = out.loc[b, a] = weighted_spearman(table[a].to_numpy(), table[b].to_numpy(), w)
    return out
