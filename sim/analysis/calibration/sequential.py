"""`method: smc`: the ABC-SMC loop of sim/analysis/calibration/smc.py run through the sweep engine. Generation 0
is the prior sample (OUT/sweep, as rejection's first round); every later batch of candidates is one `points` sweep,
OUT/smc_<generation>_<batch>, derived from the earlier generations (so replaced when they change, resumed when
they do not: the candidates come from a generator seeded by the spec seed, the generation and the batch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.calibration.distance import score_points
from sim.analysis.calibration.rounds import make_round, run_round
from sim.analysis.calibration.smc import Generation, SmcSettings, run_smc
from sim.analysis.calibration.spec import LoadedCalibration

Progress = Callable[[str, int, int], None]
PREFIX = "smc_"


def sweep_name(generation: int, batch: int) -> str:
    """OUT/smc_<generation>_<batch>: the sweep of one batch of candidates."""
    return f"{PREFIX}{generation}_{batch}"


def settings(lc: LoadedCalibration) -> SmcSettings:
    s = lc.spec.smc
    if s is None:
        return SmcSettings()
    return SmcSettings(s.generations, s.particles, s.quantile, s.min_acceptance, s.batch)


def to_unit(lc: LoadedCalibration, table: pd.DataFrame) -> np.ndarray:
    """The points' unit coordinates, one column per free parameter."""
    return np.column_stack([p.to_unit(table[n].to_numpy(dtype=float)) for n, p in lc.spec.parameters.items()])


@dataclass
class SequentialResult:
    points: pd.DataFrame  # every point of every generation, with generation, batch, accepted and weight
    per_run: pd.DataFrame
    posterior: pd.DataFrame  # the last complete generation's accepted points, with their weights
    epsilon: float
    generations: pd.DataFrame  # one row per generation
    failed: int
    notes: list[str] = field(default_factory=list)


def run_sequential(lc: LoadedCalibration, out: Path, points0: pd.DataFrame, per_run0: pd.DataFrame, *,
                   workers, scheduler, progress: Progress | None,
                   starting: Callable[[bool], object] | None = None) -> SequentialResult:
    """ABC-SMC from the scored prior sample `points0` (with its runs `per_run0`): every batch a sweep in OUT."""
    s = lc.spec
    parts: dict[tuple[int, int], pd.DataFrame] = {(0, 0): points0.sort_values("point").reset_index(drop=True)}
    runs = [per_run0]
    state = {"offset": int(points0["point"].max()) + 1, "failed": 0}

    def simulate(generation: int, batch: int, u: np.ndarray) -> np.ndarray:
        if generation == 0:
            return parts[(0, 0)]["distance"].to_numpy(dtype=float)
        cols = {n: [float(v) for v in p.from_unit(u[:, k])] for k, (n, p) in enumerate(s.parameters.items())}
        rnd = make_round(lc, out, sweep_name(generation, batch), "base.yaml", s.population_size, {"type": "points"},
                         cols, s.sampling.replicates, s.sampling.seed)
        design, per_run, failed = run_round(lc, out, rnd, replace=True, scale=lc.count_scale, workers=workers,
                                            scheduler=scheduler, progress=progress, starting=starting)
        state["failed"] += failed
        design["point"] += state["offset"]
        per_run["point"] += state["offset"]
        state["offset"] += len(design)
        scored = score_points(design, per_run, lc).sort_values("point").reset_index(drop=True)
        parts[(generation, batch)] = scored.assign(round=generation + 1)
        runs.append(per_run)
        return scored["distance"].to_numpy(dtype=float)

    result = run_smc(simulate, to_unit(lc, parts[(0, 0)]), s.accept.quantile, settings(lc), s.sampling.seed)
    tables = []
    for g in result.generations:
        table = pd.concat([parts[(g.index, b)] for b in sorted({int(b) for b in g.batch})], ignore_index=True)
        weight = np.zeros(len(table))
        weight[g.accepted] = g.weight
        tables.append(table.assign(generation=g.index, batch=g.batch, in_generation_accepted=g.accepted,
                                   weight=weight))
    points = pd.concat(tables, ignore_index=True)
    final = result.final
    posterior = (points[(points["generation"] == final.index) & points["in_generation_accepted"]]
                 .drop(columns=["in_generation_accepted"]).sort_values("distance").reset_index(drop=True))
    points = points.drop(columns=["in_generation_accepted"])
    notes = [f"sequential ABC stopped {result.stopped}; posterior: generation {final.index}, "
             f"{len(posterior)} particles, ESS {final.ess:.1f}"]
    if not result.generations[-1].complete:
        notes.append(f"generation {result.generations[-1].index} ended with fewer than the particles wanted "
                     f"({int(result.generations[-1].accepted.sum())}): the posterior is generation {final.index}")
    return SequentialResult(points, pd.concat(runs, ignore_index=True), posterior, final.epsilon,
                            generations_table(result.generations), state["failed"], notes)


def generations_table(generations: list[Generation]) -> pd.DataFrame:
    """Per generation: epsilon, batches, proposals, accepted, acceptance rate, ESS, complete."""
    return pd.DataFrame([{"generation": g.index, "epsilon": g.epsilon, "batches": len(set(g.batch.tolist())),
                          "proposals": g.proposals, "accepted": int(g.accepted.sum()),
                          "acceptance_rate": g.acceptance_rate, "ess": g.ess if g.accepted.any() else 0.0,
                          "complete": g.complete} for g in generations])
