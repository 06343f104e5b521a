"""Sweep designs (points in parameter space) and per-replicate seeds.

- grid: full factorial of the listed values and ranges;
- lhs / sobol: `samples` points from scipy.stats.qmc (LatinHypercube / scrambled Sobol, seeded by the spec seed)
  mapped through each parameter's distribution: uniform low + u(high - low); loguniform
  exp(log low + u(log high - log low)); integer floor(low + u(high - low + 1)) capped at high;
- policies: every named package crossed with the grid of the other parameters;
- points: explicit points, point i taking the i-th value of every parameter's list (used by calibration and
  sensitivity analysis, whose samplers choose the points).

Seeds: replicate k of every point uses the k-th child of SeedSequence(spec.seed) (common random numbers), so
results depend neither on worker count, backend nor completion order, and adding replicates keeps the old ones.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from sim.experiments.spec import Distribution, LoadedSpec, Range


@dataclass(frozen=True)
class Point:
    """One parameter point: its index, the value of each parameter, and the policy package name (if any)."""

    index: int
    values: dict
    package: str | None = None

    def overrides(self, spec) -> list[tuple[str, object]]:
        """(dotted path, value) pairs that turn the base scenario into this point's scenario."""
        pairs = [(path.strip(), v) for name, v in self.values.items() for path in name.split(",")]
        if self.package is not None:
            pairs = list(spec.design.policies[self.package].items()) + pairs
        return pairs


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    point: Point
    replicate: int
    seed: int


def _values(param) -> list:
    if isinstance(param, list):
        return list(param)
    if isinstance(param, Range):
        vals = np.linspace(param.start, param.stop, param.num)
        if float(param.start).is_integer() and float(param.stop).is_integer() and np.all(vals == np.round(vals)):
            return [int(v) for v in vals]
        return [float(v) for v in vals]
    raise TypeError(param)


def _map(dist: Distribution, u: np.ndarray) -> list:
    if dist.dist == "uniform":
        return (dist.low + u * (dist.high - dist.low)).tolist()
    if dist.dist == "loguniform":
        lo, hi = math.log(dist.low), math.log(dist.high)
        return np.exp(lo + u * (hi - lo)).tolist()
    ints = np.minimum(np.floor(dist.low + u * (dist.high - dist.low + 1)), dist.high)
    return [int(v) for v in ints]


def build_points(ls: LoadedSpec) -> list[Point]:
    spec = ls.spec
    names = list(spec.parameters)
    if spec.design.type in ("lhs", "sobol"):
        d = len(names)
        if spec.design.type == "lhs":
            u = qmc.LatinHypercube(d=d, rng=np.random.default_rng(spec.seed)).random(spec.design.samples)
        else:
            u = qmc.Sobol(d=d, scramble=True, rng=np.random.default_rng(spec.seed)).random(spec.design.samples)
        cols = [_map(spec.parameters[n], u[:, i]) for i, n in enumerate(names)]
        return [Point(i, dict(zip(names, row))) for i, row in enumerate(zip(*cols))]
    if spec.design.type == "points":
        columns = [_values(spec.parameters[n]) for n in names]
        return [Point(i, dict(zip(names, row))) for i, row in enumerate(zip(*columns))]
    grid = [dict(zip(names, combo)) for combo in itertools.product(*(_values(spec.parameters[n]) for n in names))]
    if spec.design.type == "policies":
        combos = [(pkg, values) for pkg in spec.design.policies for values in grid]
        return [Point(i, values, pkg) for i, (pkg, values) in enumerate(combos)]
    return [Point(i, values) for i, values in enumerate(grid)]


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Seed of replicate k: the first 63 bits of the k-th child of SeedSequence(seed)."""
    children = np.random.SeedSequence(seed).spawn(replicates)
    return [int(c.generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> np.uint64(1)) for c in children]


def build_runs(ls: LoadedSpec) -> list[RunSpec]:
    points = build_points(ls)
    seeds = replicate_seeds(ls.spec.seed, ls.spec.replicates)
    return [RunSpec(f"p{p.index:05d}-r{k:04d}", p, k, seeds[k]) for p in points for k in range(len(seeds))]
