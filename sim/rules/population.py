"""People at home, as numpy arrays, and who among them sets out each step.

Each person is one row: group (uint8), female (bool), origin (uint16), risk tolerance (float32), means
(float32, USD) and away (bool, set once they leave): 13 bytes a person.

Attributes are drawn in chunks of 2^20 persons from keyed generators (`sim.rules.streams.home_generator`): one for the
assignment of group, origin and sex, and one per group for that group's risk tolerance and means, so changing one
group's distributions leaves every other group's people exactly as they were.

Who sets out is sampled exactly without touching every person each step (thinning). Person i sets out at step t
when their own keyed uniform u_i(t) < p_i(t) (`sim.rules.choice`). The home persons are partitioned into blocks
(origin, group, one of BINS bins of risk tolerance); with an upper bound p_bar_b >= p_i for everyone in block b
(`sim.engine.core.EngineCore.block_bounds`, docs/model.md §3), only the persons with u_i(t) < p_bar_b can set
out, and `sim.rules.streams.block_candidates` lists exactly those (with their u_i(t)) at a cost proportional to
their number, not to N. The law is one Bernoulli(p_i) draw per person and step; the draws do not depend on the
bounds, so a change that leaves p_i alone leaves person i's decision alone.

Persons of the initial stock (`sim.rules.stocks`) are appended after the N home persons (`add_away`), away from the
start, in blocks of their own (their draws keyed apart, so the N home persons' draws are as without them). With
repeat attempts on (`track_attempts`), a person back home after a failed attempt has `away` cleared and counts
their attempts.
"""

from __future__ import annotations

import copy

import numpy as np

from sim.errors import ScenarioError
from sim.scenario.schema import MAX_MEANS, AttributeDistribution, Group, Scenario
from sim.rules.streams import bit_length, block_candidates, home_generator

CHUNK = 1 << 20  # persons generated per chunk: bounds the temporary memory of generation
BINS = 16  # bins of risk tolerance per (origin, group) for the thinning blocks
ATTEMPTS_COUNTED = 65_535  # a person's attempts are counted up to this (uint16; docs/model.md §9)


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
    z = rng.standard_normal(n)  # median * exp(sigma * Z), in place (the same operations: a product commutes)
    # a sigma near the floating-point limit overflows to inf, which the callers refuse with a message (means past
    # the 32-bit limit, a time waited past 600 months): numpy's own warning would only precede it on stderr
    with np.errstate(over="ignore"):
        z *= dist.sigma
        np.exp(z, out=z)
        z *= dist.median
    return z


def draw_at_most(dist: AttributeDistribution, n: int, rng: np.random.Generator, top: float, *, key: str,
                 unit: str, limit: str) -> np.ndarray:
    """n draws (`draw`); a ScenarioError naming `key` if one is past `top` (described as `limit`). The schema
    bounds the distribution's parameters (`AttributeDistribution.bounded_top`); a lognormal's tail can still
    pass it."""
    values = draw(dist, n, rng)
    if values.size and values.max() > top:
        raise ScenarioError(f"a draw of {values.max():.4g} {unit} is past {limit}: lower the median or sigma",
                            key=key)
    return values


def draw_means(group: Group, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws of `group`'s means, at most MAX_MEANS, the largest that the 32-bit storage holds (cast there it
    became inf: a passage at an infinite price was then sold, and inf - inf made the buyer's means NaN)."""
    return draw_at_most(group.means, n, rng, MAX_MEANS, key=f"population.groups[{group.name}].means", unit="USD",
                        limit=f"{MAX_MEANS:.4g}, the largest means stored (32-bit floats)")


def bin_index(edges: np.ndarray, u: np.ndarray) -> np.ndarray:
    """np.searchsorted(edges, u, side="right") for non-decreasing `edges`: the number of edges <= u, as uint8 when
    there are few edges (counted by comparisons, several times faster than a binary search per element)."""
    if len(edges) > 32:
        return np.searchsorted(edges, u, side="right")
    out = np.zeros(u.shape, dtype=np.uint8)
    tmp = np.empty(u.shape, dtype=bool)
    for e in np.asarray(edges, dtype=np.float64).tolist():
        np.greater_equal(u, e, out=tmp)
        out += tmp
    return out


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
            grp = bin_index(shares, rng.random(k)).astype(np.uint8, copy=False)
            np.minimum(grp, len(pop.groups) - 1, out=grp)
            self.group[lo:hi] = grp
            u_origin = rng.random(k)
            u_sex = rng.random(k)
            # each group's persons in increasing index, by boolean masks on the chunk's views (cheaper than indices)
            origin, female = self.origin[lo:hi], self.female[lo:hi]
            risk, means = self.risk_tolerance[lo:hi], self.means[lo:hi]
            for gi, g in enumerate(pop.groups):
                sel = grp == gi
                count = int(np.count_nonzero(sel))
                if count == 0:
                    continue
                nodes, cdf = origin_tables[gi]
                pick = np.minimum(bin_index(cdf, u_origin[sel]), len(nodes) - 1)
                origin[sel] = nodes[pick]
                female[sel] = u_sex[sel] < g.female_share
                g_rng = home_generator(key, chunk, gi + 1)
                risk[sel] = draw(g.risk_tolerance, count, g_rng)
                means[sel] = draw_means(g, count, g_rng)
        self._groups = pop.groups
        self._added = 0  # calls of add_away
        i64 = np.int64
        self.block_key = np.empty(0, dtype=i64)  # blocks for thinning (see _make_blocks)
        self.block_origin, self.block_group = np.empty(0, dtype=i64), np.empty(0, dtype=i64)
        self.block_size, self.block_start = np.empty(0, dtype=i64), np.empty(0, dtype=i64)
        self.block_bits = np.empty(0, dtype=i64)
        self.block_r_max = np.empty(0)
        self.block_home = np.empty(0, dtype=bool)
        self.block_members = np.empty(0, dtype=np.int32 if n < 2**31 else i64)
        self._make_blocks(0, n, 0)

    def _make_blocks(self, first: int, end: int, offset: int) -> None:
        """Partition persons [first, end) into blocks for thinning (see module doc) and append them to the block
        arrays: by (origin, group, bin of risk tolerance), BINS equal bins over the group's range [lo, hi]
        (computed in float32; any partition would do, since each block's bound uses the largest risk tolerance in
        it). Each block lists its persons in increasing index (`block_members[block_start[b]:][:block_size[b]]`)
        and knows that largest risk tolerance (`block_r_max`, the float32 value as a float); its draws are keyed
        by `block_key` = offset + (origin * 256 + group) * BINS + bin (offset 0 for the home population, a
        multiple of 2^40 for appended persons, so their draws are apart)."""
        groups = self._groups
        lo = np.zeros(len(groups), dtype=np.float32)
        scale = np.zeros(len(groups), dtype=np.float32)
        for gi, g in enumerate(groups):
            a, b = g.risk_tolerance.bounds()
            a, b = float(a), float(b)
            if b > a and BINS / (b - a) < float(np.finfo(np.float32).max):  # else one bin (also for a tiny range)
                lo[gi], scale[gi] = a, BINS / (b - a)
        group = self.group[first:end].astype(np.intp)  # one index conversion, used three times
        risk = self.risk_tolerance[first:end]
        x = risk - lo[group]
        x *= scale[group]
        np.clip(x, 0, BINS - 1, out=x)
        n_groups = len(groups)
        key = self.origin[first:end].astype(np.intp)
        key *= n_groups
        key += group
        key *= BINS
        key += x.astype(np.intp)
        counts = np.bincount(key)
        uniq = np.flatnonzero(counts)
        lookup: np.ndarray = np.zeros(counts.size, dtype=np.uint16 if uniq.size < 65536 else np.intp)  # radix sort
        lookup[uniq] = np.arange(uniq.size)
        dense: np.ndarray = lookup[key]
        order = np.argsort(dense, kind="stable")
        counts = counts[uniq].astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        b_origin = uniq // BINS // n_groups
        b_group = uniq // BINS % n_groups
        r_max32 = np.full(uniq.size, -np.inf, dtype=np.float32)  # the largest risk tolerance of each block (exact)
        np.maximum.at(r_max32, dense, risk)
        r_max = r_max32.astype(np.float64)
        cat = np.concatenate
        self.block_origin = cat([self.block_origin, b_origin])
        self.block_group = cat([self.block_group, b_group])
        self.block_key = cat([self.block_key, offset + (b_origin * 256 + b_group) * BINS + uniq % BINS])
        self.block_size = cat([self.block_size, counts])
        self.block_bits = bit_length(self.block_size)  # log2 of each block's rank space (block_candidates)
        self.block_r_max = cat([self.block_r_max, r_max])
        self.block_home = cat([self.block_home, np.full(uniq.size, offset == 0)])
        self.block_start = cat([self.block_start, starts + self.block_members.size])
        members = order.astype(np.int64 if end >= 2**31 else self.block_members.dtype)
        if first:
            members += first
        self.block_members = cat([self.block_members, members])

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
        self._added += 1
        self._make_blocks(first, first + k, self._added << 40)
        return np.arange(first, first + k, dtype=np.int64)

    def freeze(self) -> None:
        """Make the drawn arrays (attributes and blocks) read-only, so that they can be shared by runs (`fresh`)."""
        for a in self._drawn():
            a.flags.writeable = False

    def _drawn(self) -> list[np.ndarray]:
        return [self.group, self.female, self.origin, self.risk_tolerance, self.means, self.block_key,
                self.block_origin, self.block_group, self.block_size, self.block_bits, self.block_start,
                self.block_r_max, self.block_home, self.block_members]

    def __deepcopy__(self, memo: dict) -> Population:
        """A copy with a run state of its own; read-only arrays (the drawn ones, after `freeze`) are shared."""
        new = copy.copy(self)
        memo[id(self)] = new
        for name, value in vars(self).items():
            if not (isinstance(value, np.ndarray) and not value.flags.writeable):
                setattr(new, name, copy.deepcopy(value, memo))
        return new

    def fresh(self) -> Population:
        """A Population with the same persons (the drawn arrays shared) and a run state of its own: nobody away,
        no appended persons, no attempts counted. Only for a population without appended persons."""
        assert self.extra == 0, "fresh() copies a home population without appended persons"
        new = copy.copy(self)
        new.away = np.zeros(self.size, dtype=bool)
        new.attempts = new.last_route = None
        return new

    def track_attempts(self) -> None:
        """Count attempts per person and the route of each one's last failed attempt (repeat attempts)."""
        n = self.size + self.extra
        self.attempts = np.zeros(n, dtype=np.uint16)  # counted up to ATTEMPTS_COUNTED
        self.last_route = np.zeros(n, dtype=np.int32)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.group, self.female, self.origin, self.risk_tolerance, self.means,
                                      self.away))

    def extra_at_home(self) -> bool:
        """Whether any appended person (initial stock) is at home: only with repeat attempts."""
        return bool(self.extra and self.attempts is not None and not self.away[self.size:].all())

    def candidates(self, key: int, step: int, bounds: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(persons at home with u_i(step) below their block's bound, block by block; their u_i(step)): see the
        module doc. `bounds[b]` is the bound of block b (a number: the same for every block)."""
        bounds = np.broadcast_to(np.asarray(bounds, dtype=np.float64), self.block_key.shape)
        # appended persons can be home again only with repeats; while none is, their blocks draw nothing that
        # matters (keyed draws: skipping them changes no other draw)
        if self.extra and not self.extra_at_home():
            bounds = np.where(self.block_home, bounds, 0.0)
        b, x, u = block_candidates(key, step, self.block_key, self.block_size, bounds, self.block_bits)
        idx = self.block_members[self.block_start[b] + x].astype(np.int64)
        home = ~self.away[idx]
        return idx[home], u[home]
