"""Check scenarios/korea.yaml against the calibration targets of issue 14, as a mean of 5 seeds.

    python experiments/check_korea.py [--scenario scenarios/korea.yaml] [--seeds 5] [--workers 2]
                                      [--engine arrays] [--posterior scenarios/korea_posterior.csv]

Seeds: replicate k uses the k-th child of SeedSequence(scenario seed), the sweep engine's rule. Every run is at the
scenario's own population size, with the array engine unless told otherwise (the engines give the same files for
the same seed, tests/test_docking.py). Each run's summary (RunResult.summary(), what summary.json holds) gives
the numbers; simulated values are means over the seeds and shares pool the seeds. Targets (observed figures in
sim/data/mou_arrivals.csv and sim/data/targets.csv):

- median over 2002-2024 of |ln(1 + simulated) - ln(1 + observed)| <= 0.15, and that of 2012 <= 0.25;
- female share of arrivals: mean over 2002-2024 of |simulated - observed| <= 0.07; below 0.6 in 2021 and in 2022,
  above 0.8 in 2023 and in 2024;
- direct crossings (arrivals by routes dmz, west_sea, east_sea) between 0.6% and 1.3% of 2010-2019 arrivals;
- repatriations 2020-2024 (the model's `repatriated`, summed over the years) at least 670;
- mean time abroad of the 2002-2009 arrivals (arrival minus leaving home, years) between 2.5 and 5;
- with --posterior (a posterior sample written by `bordersim calibrate`, posterior_table.csv next to it): at least
  half of the calibrated parameters have a posterior 90% interval under half the prior's width.

Prints the yearly table and each target with its value; exit code 0 when all are met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from bench_output import positive, run_script

ROOT = Path(__file__).resolve().parents[1]
DIRECT = ("dmz", "west_sea", "east_sea")


def one_run(scenario_path: str, seed: int, engine: str) -> dict:
    """The summary of one run (the dict summary.json holds)."""
    from sim.engine.engines import run
    from sim.loading import load_scenario

    return run(load_scenario(scenario_path), seed=seed, engine=engine).summary()


def yearly(runs: list[dict], key: str, year: int) -> np.ndarray:
    """summary[key][year] of each run (NaN where the run has none)."""
    return np.array([np.nan if r[key].get(str(year)) is None else r[key][str(year)] for r in runs], dtype=float)


def pooled_share(runs: list[dict], first: int, last: int) -> float:
    """Female arrivals / arrivals over the years first..last, pooled over the runs."""
    num = den = 0.0
    for r in runs:
        for y in range(first, last + 1):
            a = r["arrivals_by_year"][str(y)]
            num += a * (r["female_share_by_year"][str(y)] or 0.0)
            den += a
    return num / den if den else math.nan


def direct_share(runs: list[dict], first: int, last: int) -> float:
    """Arrivals by the direct routes / all arrivals over first..last, pooled over the runs."""
    years = [str(y) for y in range(first, last + 1)]
    direct = sum(r["arrivals_by_route_year"][d][y] for r in runs for d in DIRECT if d in r["arrivals_by_route_year"]
                 for y in years)
    total = sum(r["arrivals_by_year"][y] for r in runs for y in years)
    return direct / total if total else math.nan


def mean_abroad(runs: list[dict], first: int, last: int) -> float:
    """Mean time abroad (years) of the arrivals of first..last, pooled over the runs (weighted by arrivals)."""
    num = den = 0.0
    for r in runs:
        for y in range(first, last + 1):
            a = r["arrivals_by_year"][str(y)]
            if a:
                num += a * r["years_abroad_by_year"][str(y)]
                den += a
    return num / den if den else math.nan


def identified(posterior: Path) -> tuple[str, bool]:
    """From posterior_table.csv beside the posterior sample: how many parameters have width ratio < 0.5."""
    import pandas as pd

    table = pd.read_csv(posterior.with_name("posterior_table.csv"))
    narrow = int((table["width_ratio"] < 0.5).sum())
    return f"{narrow} of {len(table)}", narrow * 2 >= len(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "korea.yaml"),
                        help="the scenario checked (default scenarios/korea.yaml)")
    parser.add_argument("--seeds", type=positive(int), default=5, help="runs, one per replicate seed (default 5)")
    parser.add_argument("--workers", type=positive(int), default=2, help="worker processes (default 2)")
    parser.add_argument("--engine", default="arrays", choices=("arrays", "agents"), help="default arrays")
    parser.add_argument("--posterior", type=Path, default=None,
                        help="posterior sample (posterior.csv of a calibration) for the identifiability target")
    args = parser.parse_args(argv)

    from sim.experiments.design import replicate_seeds
    from sim.loading import load_scenario
    from sim.observed import load_observed, single_years

    scenario = load_scenario(args.scenario)
    seeds = replicate_seeds(scenario.seed, args.seeds)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        runs = list(pool.map(one_run, [args.scenario] * len(seeds), seeds, [args.engine] * len(seeds)))
    years = sorted(int(y) for y in runs[0]["arrivals_by_year"])
    single = single_years(load_observed("mou_arrivals"), years)
    obs = {int(r.period_start): (int(r.arrivals), float(r.female_share)) for r in single.itertuples()}
    print(f"{args.scenario}: {len(seeds)} seeds {seeds}, population.size {scenario.population.size:,}, "
          f"engine {args.engine}")
    print(f"{'year':>6} {'observed':>9} {'simulated':>10} {'sd':>7} {'log error':>10} {'female obs':>10} "
          f"{'female sim':>10} {'repatriated':>11} {'years abroad':>12}")
    log_errors, female_errors = {}, {}
    for y in years:
        arrived = yearly(runs, "arrivals_by_year", y)
        female = pooled_share(runs, y, y)
        rep = yearly(runs, "repatriated_by_year", y).mean()
        abroad = mean_abroad(runs, y, y)
        if y not in obs:
            print(f"{y:>6} {'':>9} {arrived.mean():>10,.0f} {arrived.std(ddof=1):>7,.0f} {'':>10} {'':>10} "
                  f"{female:>10.3f} {rep:>11,.0f} {abroad:>12.2f}")
            continue
        err = math.log1p(arrived.mean()) - math.log1p(obs[y][0])
        log_errors[y] = err
        female_errors[y] = female - obs[y][1]
        print(f"{y:>6} {obs[y][0]:>9,} {arrived.mean():>10,.0f} {arrived.std(ddof=1):>7,.0f} {err:>+10.3f} "
              f"{obs[y][1]:>10.3f} {female:>10.3f} {rep:>11,.0f} {abroad:>12.2f}")

    span = range(2002, 2025)
    median = float(np.median([abs(log_errors[y]) for y in span]))
    female_mae = float(np.mean([abs(female_errors[y]) for y in span]))
    shares = {y: pooled_share(runs, y, y) for y in (2021, 2022, 2023, 2024)}
    direct = direct_share(runs, 2010, 2019)
    repatriated = float(sum(yearly(runs, "repatriated_by_year", y).mean() for y in range(2020, 2025)))
    abroad = mean_abroad(runs, 2002, 2009)
    checks = [
        ("median |log error| of yearly arrivals 2002-2024", f"{median:.3f}", "<= 0.15", median <= 0.15),
        ("|log error| of 2012", f"{abs(log_errors[2012]):.3f}", "<= 0.25", abs(log_errors[2012]) <= 0.25),
        ("female share, mean |error| 2002-2024", f"{female_mae:.3f}", "<= 0.07", female_mae <= 0.07),
        ("female share 2021, 2022", f"{shares[2021]:.3f}, {shares[2022]:.3f}", "each < 0.6",
         shares[2021] < 0.6 and shares[2022] < 0.6),
        ("female share 2023, 2024", f"{shares[2023]:.3f}, {shares[2024]:.3f}", "each > 0.8",
         shares[2023] > 0.8 and shares[2024] > 0.8),
        ("direct crossings, share of 2010-2019 arrivals", f"{100 * direct:.2f}%", "0.6%-1.3%",
         0.006 <= direct <= 0.013),
        ("repatriations 2020-2024", f"{repatriated:,.0f}", ">= 670", repatriated >= 670),
        ("mean years abroad of 2002-2009 arrivals", f"{abroad:.2f}", "2.5-5", 2.5 <= abroad <= 5),
    ]
    if args.posterior is not None:
        value, ok = identified(args.posterior)
        checks.append(("parameters with posterior 90% interval < half the prior's", value, "at least half", ok))
    print()
    for name, value, target, ok in checks:
        print(f"{'ok  ' if ok else 'MISS'} {name}: {value} (target {target})")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(run_script(main))
