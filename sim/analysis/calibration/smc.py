"""Sequential ABC (ABC-SMC, population Monte Carlo: Beaumont et al. 2009, Toni et al. 2009) in the priors' unit
coordinates, independent of how a distance is computed (docs/calibration.md, "Sequential ABC").

Every prior of a calibration is uniform in its own unit coordinate u in [0, 1]^d (`ParameterRange.to_unit`), so
the prior density there is 1 on the cube. With N = `particles`:

- generation 0: the prior sample and its distances; epsilon_0 is the `first_quantile` quantile of them, the
  points with D <= epsilon_0 are the particles, with equal weights;
- generation t >= 1: epsilon_t = the `quantile` quantile of generation t-1's accepted distances (so epsilon_t <=
  epsilon_{t-1}); batches of `batch` candidates are proposed, each by drawing a particle j of generation t-1 with
  probability w_j and moving it by the kernel K(. | theta_j): a product over the dimensions of normal densities
  centred on theta_j with sigma_k^2 = 2 x the weighted variance of dimension k among the particles, truncated to
  [0, 1] (each factor normalised by Phi((1 - theta_jk) / sigma_k) - Phi(-theta_jk / sigma_k)); candidates with
  D <= epsilon_t are accepted, with weight

      w_i = prior(theta_i) / sum_j w_j K(theta_i | theta_j)   (prior = 1 on the cube), normalised to sum 1;

  batches are proposed until at least N are accepted or N / `min_acceptance` candidates were proposed (at least
  one batch, at most MAX_BATCHES);
- stop after `generations` generations, or after a generation whose acceptance rate (accepted / proposed) is
  below `min_acceptance`. A generation that ended below N accepted is incomplete: its particles are reported in
  the generations table but the posterior is the last complete generation's.

Effective sample size of weights w (summing to 1): ESS = 1 / sum w_i^2.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import truncnorm

MAX_BATCHES = 999  # per generation, whatever the settings: the sweeps are named smc_<generation>_<batch>

# simulate(generation, batch, u) -> distances: u is (m, d) in unit coordinates, the result (m,), inf for failures.
Simulator = Callable[[int, int, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SmcSettings:
    """The `smc` keys of a calibration spec (docs/calibration.md)."""

    generations: int = 4
    particles: int | None = None  # default: the number accepted in generation 0
    quantile: float = 0.5
    min_acceptance: float = 0.02
    batch: int | None = None  # default: 2 x particles


@dataclass
class Generation:
    """One generation: its epsilon, its candidates (unit coordinates, distances, batch of each), which were
    accepted and their normalised weights, and whether it reached the wanted number of particles."""

    index: int
    epsilon: float
    u: np.ndarray
    distance: np.ndarray
    batch: np.ndarray
    accepted: np.ndarray
    weight: np.ndarray  # over the accepted candidates, in their order
    complete: bool = True

    @property
    def proposals(self) -> int:
        return len(self.distance)

    @property
    def acceptance_rate(self) -> float:
        return float(self.accepted.sum() / self.proposals) if self.proposals else math.nan

    @property
    def particles(self) -> np.ndarray:
        return self.u[self.accepted]

    @property
    def ess(self) -> float:
        return ess(self.weight)


@dataclass
class SmcResult:
    generations: list[Generation] = field(default_factory=list)
    stopped: str = ""

    @property
    def final(self) -> Generation:
        """The last complete generation: the posterior."""
        return [g for g in self.generations if g.complete][-1]


def ess(weights: np.ndarray) -> float:
    """1 / sum w_i^2 for weights normalised to sum 1."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    return float(1.0 / np.sum(w ** 2))


def kernel_scale(particles: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per dimension sigma_k = sqrt(2 x weighted variance of the particles), at least 1e-6 (a collapsed dimension
    still moves)."""
    var = np.atleast_1d(np.cov(particles, rowvar=False, aweights=weights, ddof=0))
    var = np.diag(var) if var.ndim == 2 else var
    return np.maximum(np.sqrt(2.0 * var), 1e-6)


def _bounds(centre: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """truncnorm's standardised bounds of [0, 1] for a normal centred on `centre` with scale `sigma`."""
    return (0.0 - centre) / sigma, (1.0 - centre) / sigma


def kernel_density(theta: np.ndarray, centres: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """K(theta_i | centre_j) for every i, j: the product over dimensions of truncated normal densities on [0, 1]
    (scipy.stats.truncnorm); shape (len(theta), len(centres))."""
    theta = np.atleast_2d(theta)
    centres = np.atleast_2d(centres)
    t = theta[:, None, :]
    c = centres[None, :, :]
    a, b = _bounds(c, sigma)
    return np.prod(truncnorm.pdf(t, a, b, loc=c, scale=sigma), axis=2)


def propose(rng: np.random.Generator, particles: np.ndarray, weights: np.ndarray, sigma: np.ndarray,
            m: int) -> np.ndarray:
    """m candidates: an ancestor drawn by weight, moved by the truncated normal kernel; shape (m, d)."""
    ancestors = particles[rng.choice(len(particles), size=m, p=weights)]
    a, b = _bounds(ancestors, sigma)
    return truncnorm.rvs(a, b, loc=ancestors, scale=sigma, random_state=rng)


def importance_weights(theta: np.ndarray, previous: np.ndarray, previous_weights: np.ndarray,
                       sigma: np.ndarray) -> np.ndarray:
    """w_i = 1 / sum_j w_j K(theta_i | theta_j) (the prior is 1 on the unit cube), normalised to sum 1."""
    mix = kernel_density(theta, previous, sigma) @ previous_weights
    w = 1.0 / mix
    return w / w.sum()


def quantile_epsilon(distances: np.ndarray, q: float) -> float:
    """The q quantile of the finite distances, lower interpolation (an attained distance, as rejection's)."""
    d = np.asarray(distances, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        raise ValueError("no finite distance")
    return float(np.quantile(d, q, method="lower"))


def proposal_rng(seed: int, generation: int, batch: int) -> np.random.Generator:
    """The generator of one batch's proposals: from (seed, generation, batch) only, so a resumed calibration
    proposes the same candidates."""
    return np.random.default_rng(np.random.SeedSequence([seed, generation, batch]))


def run_smc(simulate: Simulator, prior_u: np.ndarray, first_quantile: float, settings: SmcSettings,
            seed: int, on_generation: Callable[[Generation], None] | None = None) -> SmcResult:
    """The ABC-SMC loop of the module docstring. `simulate` is called once for the prior sample (generation 0,
    batch 0) and once per batch after; the result holds every generation."""
    d0 = np.asarray(simulate(0, 0, prior_u), dtype=float)
    eps = quantile_epsilon(d0, first_quantile)
    acc = d0 <= eps
    gen = Generation(0, eps, prior_u, d0, np.zeros(len(d0), dtype=int), acc, np.full(acc.sum(), 1.0 / acc.sum()))
    result = SmcResult([gen])
    if on_generation:
        on_generation(gen)
    n = settings.particles or int(acc.sum())
    m = settings.batch or 2 * n
    limit = max(m, math.ceil(n / settings.min_acceptance))
    for t in range(1, settings.generations + 1):
        prev = result.final
        eps = quantile_epsilon(prev.distance[prev.accepted], settings.quantile)
        sigma = kernel_scale(prev.particles, prev.weight)
        us: list[np.ndarray] = []
        ds: list[np.ndarray] = []
        bs: list[np.ndarray] = []
        b, accepted, proposed = 0, 0, 0
        while accepted < n and proposed < limit and b < MAX_BATCHES:
            u = propose(proposal_rng(seed, t, b), prev.particles, prev.weight, sigma, m)
            us.append(u)
            ds.append(np.asarray(simulate(t, b, u), dtype=float))
            bs.append(np.full(m, b))
            accepted += int((ds[-1] <= eps).sum())
            proposed += m
            b += 1
        u, d = np.vstack(us), np.concatenate(ds)
        acc = d <= eps
        w = importance_weights(u[acc], prev.particles, prev.weight, sigma) if acc.any() else np.zeros(0)
        gen = Generation(t, eps, u, d, np.concatenate(bs), acc, w, complete=bool(acc.sum() >= n))
        result.generations.append(gen)
        if on_generation:
            on_generation(gen)
        if gen.acceptance_rate < settings.min_acceptance:
            result.stopped = (f"generation {t}: acceptance rate {gen.acceptance_rate:.3g} below min_acceptance "
                              f"{settings.min_acceptance:g}")
            break
    else:
        result.stopped = f"after {settings.generations} generation(s)"
    return result


def weighted_quantile(x: np.ndarray, q: float | np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """numpy's weighted quantile (inverted CDF) when weights are given, else the ordinary linear quantile."""
    if weights is None:
        return np.quantile(x, q)
    return np.quantile(x, q, weights=weights, method="inverted_cdf")
