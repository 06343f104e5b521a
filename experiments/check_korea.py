"""Check scenarios/korea.yaml against the calibration targets of issue 5 (point 4), as a mean of 5 seeds.

    python experiments/check_korea.py [--scenario scenarios/korea.yaml] [--seeds 5] [--workers 2]

Seeds: replicate k uses the k-th child of SeedSequence(scenario seed), the sweep engine's rule. Every run is at the
scenario's own population size. Targets (simulated values are means over the seeds; shares pool the seeds):
- median over 2002-2024 of |ln(1 + simulated) - ln(1 + observed)| <= 0.3;
- 2020-2022 mean below a quarter of the 2017-2019 mean;
- 2023-2024 mean above the 2021-2022 mean;
- female share of 2005-2019 arrivals within 10 percentage points of the observed share;
- direct crossings (routes dmz, west_sea, east_sea) "about 1%" of 2010-2019 arrivals: taken as 0.5%-2%.
Prints the yearly table and each target with its value; exit code 0 when all are met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DIRECT = ("dmz", "west_sea", "east_sea")


def one_run(scenario_path: str, seed: int) -> dict:
    """Arrivals per year, female arrivals per year, and direct-route arrivals per year of one run."""
    from sim.outcomes import ARRIVED
    from sim.engine.mesa.model import run
    from sim.loading import load_scenario

    result = run(load_scenario(scenario_path), seed=seed)
    years = result.years()
    arrived = result.flows[..., ARRIVED]  # (T, R, G)
    direct = [result.routes.index(r) for r in DIRECT if r in result.routes]
    out = {}
    for y in sorted(set(years.tolist())):
        t = years == y
        out[y] = (int(arrived[t].sum()), int(result.arrived_female[t].sum()), int(arrived[t][:, direct].sum()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "korea.yaml"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    from sim.experiments.design import replicate_seeds
    from sim.observed import load_observed
    from sim.loading import load_scenario

    scenario = load_scenario(args.scenario)
    seeds = replicate_seeds(scenario.seed, args.seeds)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        runs = list(pool.map(one_run, [args.scenario] * len(seeds), seeds))
    years = sorted(runs[0])
    total = {y: np.array([r[y][0] for r in runs], dtype=float) for y in years}
    mean = {y: float(total[y].mean()) for y in years}

    def pooled(index: int, first: int, last: int) -> float:
        num = sum(r[y][index] for r in runs for y in years if first <= y <= last)
        den = sum(r[y][0] for r in runs for y in years if first <= y <= last)
        return num / den if den else math.nan

    observed = load_observed("mou_arrivals")
    single = observed[(observed["period_start"] == observed["period_end"]) & ~observed["cumulative"]]
    obs = dict(zip(single["period_start"].astype(int), single["arrivals"].astype(int)))
    print(f"{args.scenario}: {len(seeds)} seeds {seeds}, population.size {scenario.population.size:,}")
    print(f"{'year':>6} {'observed':>9} {'simulated':>10} {'sd':>7} {'log error':>10}")
    errors = []
    for y in years:
        if y not in obs:
            continue
        err = math.log1p(mean[y]) - math.log1p(obs[y])
        if 2002 <= y <= 2024:
            errors.append(abs(err))
        print(f"{y:>6} {obs[y]:>9,} {mean[y]:>10,.0f} {total[y].std(ddof=1):>7,.0f} {err:>+10.3f}")

    def span(first: int, last: int) -> float:
        return float(np.mean([mean[y] for y in range(first, last + 1)]))

    obs_female = (single.loc[single["period_start"].between(2005, 2019), "female"].sum()
                  / single.loc[single["period_start"].between(2005, 2019), "arrivals"].sum())
    female = pooled(1, 2005, 2019)
    direct = pooled(2, 2010, 2019)
    mae = float(np.median(errors))
    collapse = span(2020, 2022) / span(2017, 2019)
    checks = [
        ("median |log error| of yearly arrivals 2002-2024", f"{mae:.3f}", "<= 0.3", mae <= 0.3),
        ("2020-22 mean / 2017-19 mean", f"{collapse:.3f} ({span(2020, 2022):,.0f} / {span(2017, 2019):,.0f})",
         "< 0.25", collapse < 0.25),
        ("2023-24 mean vs 2021-22 mean", f"{span(2023, 2024):,.0f} vs {span(2021, 2022):,.0f}", "above",
         span(2023, 2024) > span(2021, 2022)),
        ("female share of 2005-2019 arrivals", f"{female:.3f} (observed {obs_female:.3f})", "within 0.10",
         abs(female - obs_female) <= 0.10),
        ("direct crossings, share of 2010-2019 arrivals", f"{100 * direct:.2f}%", "about 1% (0.5%-2%)",
         0.005 <= direct <= 0.02),
    ]
    print()
    for name, value, target, ok in checks:
        print(f"{'ok  ' if ok else 'MISS'} {name}: {value} (target {target})")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
