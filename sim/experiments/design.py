"""Sweep designs (points in parameter space) and per-replicate seeds.

- grid: full factorial of the listed values and ranges;
- lhs / sobol: `samples` points from scipy.stats.qmc (LatinHypercube / scrambled Sobol, seeded by the spec seed)
  mapped through each parameter's distribution: uniform low + u(high - low); loguniform
  exp(log low + u(log high - log low)); integer floor(low + u(high - low + 1)) capped at high;
- policies: every named package crossed with the grid of the other parameters;
- points: explicit points, point i taking the i-th value of every parameter's list (used by calibration and
  sensitivity analysis, whose samplers choose the points);
- policies_points: every named package crossed with the explicit points (package-major: point index =
  package number x points + point number; one point without parameters when there are none); the package's
  settings are applied on top of the point's values (used by policy effects: posterior draws x packages).

Seeds: replicate k of every point uses the k-th child of SeedSequence(spec.seed) (common random numbers), so
results depend neither on worker count, backend nor completion order, and adding replicates keeps the old ones.

Size: `count_points` counts the points from the spec alone (product of list lengths and range nums, times the
packages; samples; list length) without building any, so that a sweep too large to hold is refused before anything
is built (`MAX_RUNS`), and `point_at` / `iter_points` give any point, or all of them one by one, without a list.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sim.errors import ScenarioError
from sim.experiments.parameters import ParameterRange
from sim.experiments.spec import ExperimentSpec, LoadedSpec, Range


MAX_RUNS = 1_000_000  # points x replicates above this are refused (docs/experiments.md)
CONFIRM_RUNS = 100_000  # `bordersim sweep` asks for --yes above this


def check_run_count(points: int, replicates: int, path: str | None) -> int:
    """points x replicates, counted before any point is drawn or built; ScenarioError naming the spec `path` when
    it is more than MAX_RUNS (a sweep, and the sweep of a sensitivity analysis or a discovery)."""
    size = points * replicates
    if size > MAX_RUNS:
        raise ScenarioError(f"this sweep has {size:,} runs ({points:,} points x {replicates:,} replicates), more "
                            f"than the limit of {MAX_RUNS:,} runs per sweep: use fewer values, samples or "
                            "replicates, or split it into several sweeps", path=path)
    return size


@dataclass(frozen=True, slots=True)
class Point:
    """One parameter point: its index, the value of each parameter, and the policy package name (if any)."""

    index: int
    values: dict
    package: str | None = None

    def overrides(self, spec) -> list[tuple[str, object]]:
        """(dotted path, value) pairs that turn the base scenario into this point's scenario."""
        pairs = [(path.strip(), v) for name, v in self.values.items() for path in name.split(",")]
        if self.package is not None:
            package = list(spec.design.policies[self.package].items())
            # policies: the grid's values win over the package's; policies_points: the package acts on top
            pairs = pairs + package if spec.design.type == "policies_points" else package + pairs
        return pairs


@dataclass(frozen=True, slots=True)
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



def _sampled(param) -> ParameterRange:
    """The distribution of a parameter of an lhs/sobol design (ExperimentSpec._check allows only those)."""
    assert isinstance(param, ParameterRange)
    return param


def _length(param) -> int:
    return len(param) if isinstance(param, list) else param.num


def count_points(spec: ExperimentSpec) -> int:
    """Number of points of the design, from the spec alone (nothing is built)."""
    kind = spec.design.type
    if kind in ("lhs", "sobol"):
        assert spec.design.samples is not None  # required for these designs by Design._check
        return spec.design.samples
    lengths = [_length(p) for p in spec.parameters.values()]
    if kind == "points":
        return lengths[0]  # a points design has parameters (ExperimentSpec._check)
    if kind == "policies_points":
        return (lengths[0] if lengths else 1) * len(spec.design.policies)
    grid = math.prod(lengths)
    return grid * len(spec.design.policies) if kind == "policies" else grid


def count_runs(spec: ExperimentSpec) -> int:
    """Points x replicates, from the spec alone."""
    return count_points(spec) * spec.replicates


class _Design:
    """The points of a spec, by index: columns of values (grid axes, sampled or listed columns)."""

    def __init__(self, ls: LoadedSpec):
        spec = ls.spec
        self.names = list(spec.parameters)
        self.kind = spec.design.type
        self.packages = list(spec.design.policies) if self.kind in ("policies", "policies_points") else [None]
        self.size = count_points(ls.spec)
        if self.kind in ("lhs", "sobol"):
            from scipy.stats import qmc  # here, not at the top: scipy.stats takes a second to import, which
            # every `bordersim sweep` paid at start (a grid design does not need it)

            d = len(self.names)
            rng = np.random.default_rng(spec.seed)
            sampler = qmc.LatinHypercube(d=d, rng=rng) if self.kind == "lhs" else qmc.Sobol(d=d, scramble=True, rng=rng)
            u = sampler.random(spec.design.samples)
            self.columns = [_sampled(spec.parameters[n]).from_unit(u[:, i]) for i, n in enumerate(self.names)]
        else:
            self.columns = [_values(spec.parameters[n]) for n in self.names]

    def at(self, index: int) -> Point:
        if not 0 <= index < self.size:
            raise IndexError(index)
        if self.kind in ("lhs", "sobol", "points"):
            return Point(index, {n: col[index] for n, col in zip(self.names, self.columns)})
        grid = self.size // len(self.packages)
        if self.kind == "policies_points":
            package, row = divmod(index, grid)
            return Point(index, {n: col[row] for n, col in zip(self.names, self.columns)}, self.packages[package])
        package, rest = divmod(index, grid)
        values = {}
        for name, col in reversed(list(zip(self.names, self.columns))):  # the last parameter varies fastest
            rest, k = divmod(rest, len(col))
            values[name] = col[k]
        return Point(index, {n: values[n] for n in self.names}, self.packages[package])

    def __iter__(self) -> Iterator[Point]:
        if self.kind in ("lhs", "sobol", "points"):
            for i, row in enumerate(zip(*self.columns)):
                yield Point(i, dict(zip(self.names, row)))
            return
        if self.kind == "policies_points":
            for i in range(self.size):
                yield self.at(i)
            return
        i = 0
        for package in self.packages:
            for combo in itertools.product(*self.columns):
                yield Point(i, dict(zip(self.names, combo)), package)
                i += 1


def iter_points(ls: LoadedSpec) -> Iterator[Point]:
    """Every point in index order, one at a time."""
    return iter(_Design(ls))


def points_at(ls: LoadedSpec, indices: list[int]) -> list[Point]:
    """The points with these indices (for showing part of a large design without building it)."""
    design = _Design(ls)
    return [design.at(i) for i in indices]


def build_points(ls: LoadedSpec) -> list[Point]:
    return list(iter_points(ls))


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Seed of replicate k: the first 63 bits of the k-th child of SeedSequence(seed)."""
    children = np.random.SeedSequence(seed).spawn(replicates)
    return [int(c.generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> np.uint64(1)) for c in children]


def iter_runs(ls: LoadedSpec) -> Iterator[RunSpec]:
    """Every run (point x replicate) in design order, one at a time."""
    seeds = replicate_seeds(ls.spec.seed, ls.spec.replicates)
    for p in iter_points(ls):
        for k, seed in enumerate(seeds):
            yield RunSpec(f"p{p.index:05d}-r{k:04d}", p, k, seed)


def build_runs(ls: LoadedSpec) -> list[RunSpec]:
    return list(iter_runs(ls))
