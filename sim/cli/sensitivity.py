"""`bordersim sensitivity SPEC --method morris|sobol`: the analysis (`sim.analysis.sensitivity`), its figures and
its ranking on the terminal."""

from __future__ import annotations

import argparse
import sys

from sim.analysis.sensitivity import METHODS
from sim.cli.arguments import EXIT_OK, at_least_one, path_text
from sim.cli.progress import progress_bar


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """The command: run (or resume) the analysis, print the ranking and a `warning: ...` line per outcome whose
    indices the design does not resolve. Bad input raises InputError (exit 2 in the CLI); Ctrl-C returns 130."""
    from sim.analysis.dirs import refuse_if_busy, runs_kept
    from sim.cli.notes import tell_report_removed
    from sim.analysis.sensitivity.indices import ranking_table
    from sim.analysis.sensitivity.run import design_size, run_sensitivity, sensitivity_dry_run
    from sim.analysis.sensitivity.spec import load_sensitivity
    from sim.experiments.executors import default_workers

    if not args.dry_run and args.out is not None:  # at once, not after the spec is read (seconds for Korea)
        refuse_if_busy(args.out, "sensitivity")
    ls = load_sensitivity(args.spec)
    points, runs = design_size(ls, args.method)
    if args.dry_run:
        print(f"spec {ls.path} ({args.method}, {len(ls.names)} parameters, {len(ls.outcomes)} outcomes): "
              f"{points} points x {ls.spec.replicates} replicates = {runs} runs of scenario '{ls.base.name}'")
        print(sensitivity_dry_run(ls, args.method, args.out, force=args.force, scheduler=args.scheduler))
        return EXIT_OK
    with progress_bar(f"sensitivity {ls.spec.name} ({args.method})", not args.quiet) as update:
        res = run_sensitivity(args.spec, args.method, args.out, workers=args.workers or default_workers(),
                              scheduler=args.scheduler, force=args.force, progress=update)
    with runs_kept(res.out):
        print(ranking_table(res.indices))
        print(f"\nwrote {res.out}/indices.csv, point_means.csv, ranking.txt ({res.runs} runs in {res.out}/sweep)")
        from sim.plots.sensitivity import write_figures

        for p in write_figures(res.indices, res.out / "figures", own=True):
            print(p)
        for w in res.warnings:
            print(f"warning: {w}", file=sys.stderr)
        tell_report_removed(res.out, res.report_removed)
    return EXIT_OK


def register(sub) -> None:
    """Register `bordersim sensitivity` on an argparse subparsers object (bad input raises ScenarioError)."""
    p = sub.add_parser("sensitivity", help="which parameters move the outcomes (Morris or Sobol, SALib)",
                       description="Sample the spec's parameters (SALib Morris trajectories or Sobol/Saltelli), "
                                   "run every point x replicate through the sweep engine (parallel, resumable) "
                                   "into OUT/sweep, and write OUT/indices.csv, a ranking and figures. Format: "
                                   "docs/sensitivity.md.")
    p.add_argument("spec", help="sensitivity spec YAML file")
    p.add_argument("--method", choices=METHODS, required=True, help="morris (screening) or sobol (variance shares)")
    p.add_argument("--out", type=path_text, metavar="DIR", help="output directory (default: results/<name>-<method>)")
    p.add_argument("--workers", type=at_least_one, metavar="N", help="worker processes (default: number of cores)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="run on a Dask cluster at ADDR, or 'local' for a LocalCluster (extra bordersim[cluster])")
    p.add_argument("--dry-run", action="store_true",
                   help="print the number of runs the design needs and what the run would do with --out "
                        "(checked as the run checks it); run nothing")
    p.add_argument("--force", action="store_true",
                   help="discard the runs in OUT/sweep made by a different design (OUT must be a sensitivity "
                        "directory bordersim made; nothing else is ever deleted)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sensitivity)
