"""Weighted rank correlation (sim.weighted): Spearman's rho with equal weights, a weight of k as k copies of a
point, a weight of 0 as the point left out; the SMC particles' correlations in calibration.json use it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import seed
from scipy.stats import spearmanr

from sim.weighted import weighted_ranks, weighted_spearman, weighted_spearman_matrix


def sample(k: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """n correlated pairs with ties (y rounded to one decimal)."""
    rng = np.random.default_rng(seed(k))
    x = rng.normal(size=n)
    return x, np.round(0.6 * x + rng.normal(size=n), 1)


def test_equal_weights_give_spearmans_rho_ties_included():
    x, y = sample(1)
    assert len(np.unique(y)) < len(y)  # the sample has ties
    expected = spearmanr(x, y).statistic
    assert weighted_spearman(x, y) == pytest.approx(expected, abs=1e-12)
    assert weighted_spearman(x, y, np.full(len(x), 0.37)) == pytest.approx(expected, abs=1e-12)


def test_a_weight_of_k_counts_as_k_copies_and_a_weight_of_zero_leaves_the_point_out():
    x, y = sample(2)
    k = np.random.default_rng(seed(3)).integers(0, 4, size=len(x))
    copies = spearmanr(np.repeat(x, k), np.repeat(y, k)).statistic
    assert weighted_spearman(x, y, k.astype(float)) == pytest.approx(copies, abs=1e-12)
    assert weighted_spearman(x, y, k / k.sum()) == pytest.approx(copies, abs=1e-12)


def test_weights_can_reverse_the_sign():
    # first half rising, second half falling: the weights decide
    x = np.arange(10.0)
    y = np.r_[np.arange(5.0), 10 - np.arange(5.0)]
    w = np.r_[np.ones(5), np.full(5, 1e-9)]
    assert weighted_spearman(x, y, w) == pytest.approx(1.0, abs=1e-6)
    assert weighted_spearman(x, y, w[::-1]) == pytest.approx(-1.0, abs=1e-6)


def test_ranks_are_weighted_mid_ranks_and_the_matrix_is_symmetric():
    r = weighted_ranks(np.array([3.0, 1.0, 3.0, 2.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    # below 3: weights 2 + 4 = 6; tie mass 1 + 3 = 4 -> (6 + 2) / 10; 1 -> 1 / 10; 2 -> (2 + 2) / 10
    assert r == pytest.approx([0.8, 0.1, 0.8, 0.4])
    x, y = sample(4)
    table = pd.DataFrame({"a": x, "b": y, "c": -x})
    m = weighted_spearman_matrix(table, ["a", "b", "c"], np.linspace(1, 2, len(x)))
    assert np.allclose(m.to_numpy(), m.to_numpy().T) and np.allclose(np.diag(m), 1.0)
    assert m.loc["a", "c"] == pytest.approx(-1.0)
    assert np.isnan(weighted_spearman(np.ones(5), np.arange(5.0)))  # a constant column has no rank correlation
