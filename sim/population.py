"""People at home, as numpy arrays, and who among them sets out each step.

Each person is one row: group (uint8), female (bool), origin (uint16), risk tolerance (float32), means
(float32, USD) and away (bool, set once they leave): 13 bytes a person.

Who sets out is sampled exactly without touching every person each step (thinning). With p_i the person's
probability of setting out this step (`sim.choice`), and an upper bound p_bar >= p_i for everyone:

1. candidates: each of the N persons independently with probability p_bar, drawn as geometric gaps between
   successive candidates (cost proportional to the number of candidates, not to N);
2. a candidate who is at home sets out with probability p_i / p_bar (others are skipped).

Each person at home then sets out with probability p_bar * p_i / p_bar = p_i, independently: the same law as
one Bernoulli(p_i) draw per person, at a cost of O(N * p_bar) per step instead of O(N).
"""

from __future__ import annotations

import numpy as np

from sim.scenario import Distribution, Scenario

CHUNK = 1 << 20  # persons generated per chunk: bounds the temporary memory of generation


def draw(dist: Distribution, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws: fixed -> value; uniform(low, high); low + (high - low) * Beta(a, b); median * exp(sigma * Z)."""
    if dist.dist == "fixed":
        return np.full(n, dist.value, dtype=np.float64)
    if dist.dist == "uniform":
        return rng.uniform(dist.low, dist.high, n)
    if dist.dist == "beta":
        lo, hi = dist.bounds()
        return lo + (hi - lo) * rng.beta(dist.a, dist.b, n)
    return dist.median * np.exp(dist.sigma * rng.standard_normal(n))


class Population:
    """People at home as arrays; `candidates` samples who considers leaving this step (see module doc)."""

    def __init__(self, scenario: Scenario, origin_index: dict[str, int], rng: np.random.Generator):
        pop = scenario.population
        n = pop.size
        self.size = n
        self.group = np.empty(n, dtype=np.uint8)
        self.female = np.empty(n, dtype=bool)
        self.origin = np.empty(n, dtype=np.uint16)
        self.risk_tolerance = np.empty(n, dtype=np.float32)
        self.means = np.empty(n, dtype=np.float32)
        self.away = np.zeros(n, dtype=bool)
        shares = np.cumsum([g.share for g in pop.groups])
        shares[-1] = 1.0
        origin_tables = []
        for g in pop.groups:
            weights = g.origins if g.origins is not None else pop.origins
            ids = [o for o, w in weights.items() if w > 0]
            w = np.array([weights[o] for o in ids], dtype=float)
            origin_tables.append((np.array([origin_index[o] for o in ids], dtype=np.uint16), np.cumsum(w / w.sum())))
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            k = hi - lo
            grp = np.searchsorted(shares, rng.random(k), side="right").astype(np.uint8)
            np.minimum(grp, len(pop.groups) - 1, out=grp)
            self.group[lo:hi] = grp
            u_origin = rng.random(k)
            u_sex = rng.random(k)
            for gi, g in enumerate(pop.groups):
                sel = np.flatnonzero(grp == gi)
                if sel.size == 0:
                    continue
                nodes, cdf = origin_tables[gi]
                pick = np.minimum(np.searchsorted(cdf, u_origin[sel], side="right"), len(nodes) - 1)
                self.origin[lo + sel] = nodes[pick]
                self.female[lo + sel] = u_sex[sel] < g.female_share
                self.risk_tolerance[lo + sel] = draw(g.risk_tolerance, sel.size, rng)
                self.means[lo + sel] = draw(g.means, sel.size, rng)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.group, self.female, self.origin, self.risk_tolerance, self.means,
                                      self.away))

    def candidates(self, p_bar: float, rng: np.random.Generator) -> np.ndarray:
        """Indices of persons at home picked independently with probability p_bar (sorted, via geometric gaps)."""
        if p_bar <= 0.0:
            return np.empty(0, dtype=np.int64)
        if p_bar >= 1.0:
            idx = np.arange(self.size)
        else:
            expected = self.size * p_bar
            chunk = int(expected + 6 * np.sqrt(expected) + 16)
            parts, pos = [], -1
            while True:
                gaps = rng.geometric(p_bar, chunk)
                np.minimum(gaps, self.size + 1, out=gaps)  # a gap past the end ends the scan; no overflow
                steps = pos + np.cumsum(gaps)
                if steps[-1] >= self.size:
                    parts.append(steps[steps < self.size])
                    break
                parts.append(steps)
                pos = int(steps[-1])
            idx = np.concatenate(parts)
        return idx[~self.away[idx]]
