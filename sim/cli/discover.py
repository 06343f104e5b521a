"""`bordersim discover SPEC`: scenario discovery (`sim.analysis.discovery`): the box of inputs where an outcome
meets a condition, its summary on the terminal and the peeling-trajectory figure."""

from __future__ import annotations

import argparse

from sim.cli.arguments import EXIT_OK, at_least_one, path_text
from sim.cli.progress import progress_bar


def cmd_discover(args: argparse.Namespace) -> int:
    """Run (or resume) the design, run PRIM, print the summary and draw OUT/figures/peeling.png. Bad input and a
    missing bordersim[discovery] extra raise InputError (exit 2 in the CLI); Ctrl-C returns 130."""
    from sim.analysis.dirs import refuse_if_busy
    from sim.analysis.discovery.boxes import require_prim
    from sim.analysis.discovery.spec import load_discovery

    if not args.dry_run and args.out is not None:  # at once, not after the spec is read (seconds for Korea)
        refuse_if_busy(args.out, "discovery")
    ld = load_discovery(args.spec)
    n, r = ld.spec.design.samples, ld.spec.replicates
    if args.dry_run:
        print(f"spec {ld.path} ({ld.spec.design.type}, {len(ld.names)} parameters, outcome {ld.spec.outcome} "
              f"{ld.spec.condition.describe()}): {n} points x {r} replicates = {n * r} runs of scenario "
              f"'{ld.base.name}'")
        from sim.analysis.discovery.run import discovery_dry_run

        print(discovery_dry_run(ld, args.out, force=args.force, scheduler=args.scheduler))
        return EXIT_OK
    require_prim()  # a missing extra: exit 2 before any run
    from sim.analysis.discovery.run import run_discovery
    from sim.experiments.executors import default_workers

    with progress_bar(f"discover {ld.spec.name}", not args.quiet) as update:
        res = run_discovery(args.spec, args.out, workers=args.workers or default_workers(), scheduler=args.scheduler,
                            force=args.force, progress=update)
    from sim.analysis.dirs import runs_kept
    from sim.cli.notes import tell_report_removed

    with runs_kept(res.out):
        print(res.summary(), end="")
        print(f"\nwrote {res.out}/points.csv, trajectory.csv, box.csv, summary.txt ({res.runs} runs in "
              f"{res.out}/sweep)")
        from sim.plots.discovery import write_figures

        for p in write_figures(res.out):
            print(p)
        tell_report_removed(res.out, res.report_removed)
    return EXIT_OK


def register(sub) -> None:
    """Register `bordersim discover` on an argparse subparsers object."""
    p = sub.add_parser("discover", help="scenario discovery: where in the inputs an outcome meets a condition (PRIM)",
                       description="Run the spec's LHS or Sobol design over uncertain parameters and policy levers "
                                   "through the sweep engine (parallel, resumable) into OUT/sweep, flag the points "
                                   "whose outcome meets the condition, and find with PRIM (EMA Workbench, extra "
                                   "bordersim[discovery]) the box of inputs where they concentrate: OUT/box.csv "
                                   "(limits and quasi-p-values), trajectory.csv (coverage, density, mass per "
                                   "peeling step), points.csv, summary.txt and figures/peeling.png. Format: "
                                   "docs/discovery.md.")
    p.add_argument("spec", help="discovery spec YAML file")
    p.add_argument("--out", type=path_text, metavar="DIR", help="output directory (default: results/<name>)")
    p.add_argument("--workers", type=at_least_one, metavar="N", help="worker processes (default: number of cores)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="run on a Dask cluster at ADDR, or 'local' for a LocalCluster (extra bordersim[cluster])")
    p.add_argument("--dry-run", action="store_true",
                   help="print the number of runs the design needs and what the run would do with --out "
                        "(checked as the run checks it); run nothing")
    p.add_argument("--force", action="store_true",
                   help="discard the runs in OUT/sweep made by a different design (OUT must be a discovery "
                        "directory bordersim made; nothing else is ever deleted)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_discover)
