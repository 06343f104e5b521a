"""`bordersim effects SPEC`: policy effects with parameter and seed uncertainty (`sim.analysis.effects`), their
table on the terminal and their figure."""

from __future__ import annotations

import argparse
import sys

from sim.cli.arguments import EXIT_OK, at_least_one, path_text
from sim.cli.progress import progress_bar
from sim.numbers import readable


def cmd_effects(args: argparse.Namespace) -> int:
    """Run (or resume) the analysis, print the effects table and draw the figure. Bad input raises InputError
    (exit 2 in the CLI); Ctrl-C returns 130 with the finished runs kept."""
    from sim.analysis.dirs import refuse_if_busy
    from sim.analysis.effects.run import design_size, effects_dry_run, run_effects
    from sim.analysis.effects.statistics import missing_warnings
    from sim.analysis.effects.spec import load_effects
    from sim.experiments.executors import default_workers

    if not args.dry_run and args.out is not None:  # at once, not after the spec is read (seconds for Korea)
        refuse_if_busy(args.out, "effects")
    le = load_effects(args.spec)
    packages, draws, replicates, runs = design_size(le)
    if args.dry_run:
        posterior = "none" if le.posterior.file is None else str(le.posterior.file)
        print(f"spec {le.path}: {packages} packages x {draws} draws x {replicates} replicates = {runs} runs of "
              f"scenario '{le.base.name}' to {le.base.time.end} (posterior: {posterior}; baseline: "
              f"{le.spec.baseline_name}; {len(le.outcomes)} outcomes)")
        print(effects_dry_run(le, args.out, force=args.force, scheduler=args.scheduler))
        return EXIT_OK
    with progress_bar(f"effects {le.spec.name}", not args.quiet) as update:
        res = run_effects(args.spec, args.out, workers=args.workers or default_workers(), scheduler=args.scheduler,
                          force=args.force, progress=update)
    from sim.analysis.dirs import runs_kept
    from sim.cli.notes import tell_report_removed

    with runs_kept(res.out):
        print(effects_text(res.effects))
        for w in missing_warnings(res.effects):
            print(f"warning: {w}", file=sys.stderr)
        print(f"\nwrote {res.out}/effects.csv, effects.parquet, values.parquet ({res.runs} runs in {res.out}/sweep)")
        from sim.plots.effects import write_figures

        for p in write_figures(res.out / "effects.csv", res.out / "figures", own=True):
            print(p)
        tell_report_removed(res.out, res.report_removed)
    return EXIT_OK


def effects_text(effects) -> str:
    """Per outcome and package: median effect, 90% total interval, 90% parameter interval, P(sign)."""
    import pandas as pd

    t = pd.DataFrame({"outcome": effects["outcome"], "package": effects["package"],
                      "baseline": effects["baseline_mean"], "effect": effects["effect_median"],
                      "90% low": effects["total_q05"], "90% high": effects["total_q95"],
                      "param 90% low": effects["param_q05"], "param 90% high": effects["param_q95"],
                      "P(sign)": effects["p_sign"], "sign": effects["sign"]})
    return t.to_string(index=False, na_rep="-", float_format=readable)


def register(sub) -> None:
    """Register `bordersim effects` on an argparse subparsers object."""
    p = sub.add_parser("effects", help="policy effects with parameter and seed uncertainty",
                       description="Run every policy package of the spec at every posterior draw x replicate "
                                   "(common random numbers) through the sweep engine (parallel, resumable) into "
                                   "OUT/sweep, and write the effect of each package against the baseline per "
                                   "outcome: median, 50% and 90% intervals split into parameter and seed parts, "
                                   "P(sign), to OUT/effects.csv and .parquet, and a figure. Format: "
                                   "docs/effects.md.")
    p.add_argument("spec", help="effects spec YAML file")
    p.add_argument("--out", type=path_text, metavar="DIR", help="output directory (default: results/<name>)")
    p.add_argument("--workers", type=at_least_one, metavar="N", help="worker processes (default: number of cores)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="run on a Dask cluster at ADDR, or 'local' for a LocalCluster (extra bordersim[cluster])")
    p.add_argument("--dry-run", action="store_true",
                   help="print the number of runs and what the run would do with --out "
                        "(checked as the run checks it); run nothing")
    p.add_argument("--force", action="store_true",
                   help="discard the runs in OUT/sweep made by a different design (OUT must be an effects "
                        "directory bordersim made; nothing else is ever deleted)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_effects)
