"""People at home, as numpy arrays, and who among them sets out each step.

Each person is one row: group (uint8), female (bool), origin (uint16), risk tolerance (float32), means
(float32, USD) and away (bool, set once they leave): 13 bytes a person.

Attributes are drawn in chunks of 2^20 persons from keyed generators (`sim.rules.streams.home_generator`): one for the
assignment of group, origin and sex, and one per group for that group's risk tolerance and means, so changing one
group's distributions leaves every other group's people exactly as they were.

Who sets out is sampled exactly without touching every person each step (thinning). Person i sets out at step t
when their own keyed uniform u_i(t) < p_i(t) (`sim.rules.choice`). With an upper bound p_bar >= p_i for everyone, only
the persons with u_i(t) < p_bar can set out, and `sim.rules.streams.departure_candidates` lists exactly those (with
their u_i(t)) at a cost proportional to their number, not to N. The law is one Bernoulli(p_i) draw per person and step;
the draws do not depend on p_bar, so a change that leaves p_i alone leaves person i's decision alone.

Persons of the initial stock (`sim.rules.stocks`) are appended after the N home persons (`add_away`), away from the
start. With repeat attempts on (`track_attempts`), a person back home after a failed attempt has `away` cleared and
counts their attempts; the appended persons then draw their departure uniforms from a second block of
`departure_candidates` under the key h(k, STOCK_DEPART), so the N home persons' draws are as without them.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import AttributeDistribution, Scenario
from sim.rules.streams import STOCK_DEPART, departure_candidates, hash_int, home_generator

CHUNK = 1 << 20  # persons generated per chunk: bounds the temporary memory of generation


def draw(dist: AttributeDistribution, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws: fixed -> value; uniform(low, high); low + (high - low) * Beta(a, b); median * exp(sigma * Z)."""
    # The schema's validator (Distribution._params) requires each family's parameters, so none is None here.
    if dist.dist == "fixed":
        return np.full(n, dist.value, dtype=np.float64)
    if dist.dist == "uniform":
        assert dist.low is not None and dist.high is not None
        return rng.uniform(dist.low, dist.high, n)
    if dist.dist == "beta":
        assert dist.a is not None and dist.b is not None
        lo, hi = dist.bounds()
        return lo + (hi - lo) * rng.beta(dist.a, dist.b, n)
    assert dist.median is not None and dist.sigma is not None
    return dist.median * np.exp(dist.sigma * rng.standard_normal(n))


class Population:
    """People at home as arrays; `candidates` samples who considers leaving this step (see module doc)."""

    def __init__(self, scenario: Scenario, origin_index: dict[str, int], key: int):
        pop = scenario.population
        n = pop.size
        self.size = n
        self.group = np.empty(n, dtype=np.uint8)
        self.female = np.empty(n, dtype=bool)
        self.origin = np.empty(n, dtype=np.uint16)
        self.risk_tolerance = np.empty(n, dtype=np.float32)
        self.means = np.empty(n, dtype=np.float32)
        self.away = np.zeros(n, dtype=bool)
        self.extra = 0  # persons appended after the home population (initial stock)
        self.attempts: np.ndarray | None = None  # attempts made per person (repeat attempts only)
        self.last_route: np.ndarray | None = None  # route of the last failed attempt (repeat attempts only)
        shares = np.cumsum([g.share for g in pop.groups])
        shares[-1] = 1.0
        origin_tables = []
        for g in pop.groups:
            weights = g.origins if g.origins is not None else pop.origins
            ids = [o for o, w in weights.items() if w > 0]
            w = np.array([weights[o] for o in ids], dtype=float)
            origin_tables.append((np.array([origin_index[o] for o in ids], dtype=np.uint16), np.cumsum(w / w.sum())))
        for chunk, lo in enumerate(range(0, n, CHUNK)):
            hi = min(n, lo + CHUNK)
            k = hi - lo
            rng = home_generator(key, chunk, 0)
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
                g_rng = home_generator(key, chunk, gi + 1)
                self.risk_tolerance[lo + sel] = draw(g.risk_tolerance, sel.size, g_rng)
                self.means[lo + sel] = draw(g.means, sel.size, g_rng)

    def add_away(self, group: np.ndarray, female: np.ndarray, origin: np.ndarray, risk_tolerance: np.ndarray,
                 means: np.ndarray) -> np.ndarray:
        """Append persons who are away at the start (the initial stock); returns their indices."""
        first = self.size + self.extra
        k = int(np.asarray(group).size)
        self.group = np.concatenate([self.group, np.asarray(group, dtype=np.uint8)])
        self.female = np.concatenate([self.female, np.asarray(female, dtype=bool)])
        self.origin = np.concatenate([self.origin, np.asarray(origin, dtype=np.uint16)])
        self.risk_tolerance = np.concatenate([self.risk_tolerance, np.asarray(risk_tolerance, dtype=np.float32)])
        self.means = np.concatenate([self.means, np.asarray(means, dtype=np.float32)])
        self.away = np.concatenate([self.away, np.ones(k, dtype=bool)])
        for name in ("attempts", "last_route"):
            arr = getattr(self, name)
            if arr is not None:
                setattr(self, name, np.concatenate([arr, np.zeros(k, dtype=arr.dtype)]))
        self.extra += k
        return np.arange(first, first + k, dtype=np.int64)

    def track_attempts(self) -> None:
        """Count attempts per person and the route of each one's last failed attempt (repeat attempts)."""
        n = self.size + self.extra
        self.attempts = np.zeros(n, dtype=np.uint16)
        self.last_route = np.zeros(n, dtype=np.int32)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.group, self.female, self.origin, self.risk_tolerance, self.means,
                                      self.away))

    def candidates(self, key: int, step: int, p_bar: float) -> tuple[np.ndarray, np.ndarray]:
        """(persons at home with u_i(step) < p_bar, in increasing order of u_i(step); their u_i(step)): see the
        module doc."""
        idx, u = departure_candidates(key, step, self.size, p_bar)
        # appended persons can be home again only with repeats; while none is, their block draws nothing that
        # matters (keyed draws: skipping it changes no other draw)
        if self.extra and self.attempts is not None and not self.away[self.size:].all():
            idx2, u2 = departure_candidates(hash_int(key, STOCK_DEPART), step, self.extra, p_bar)
            idx, u = np.concatenate([idx, idx2 + self.size]), np.concatenate([u, u2])
        home = ~self.away[idx]
        return idx[home], u[home]
