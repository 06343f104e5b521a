"""`bordersim calibrate SPEC`: ABC calibration, by rejection or sequential (`sim.analysis.calibration`,
docs/calibration.md), its figures and its report on the terminal."""

from __future__ import annotations

import argparse
from sim.cli.arguments import EXIT_OK, at_least_one, path_text
from sim.cli.progress import progress_bar


def register(sub) -> argparse.ArgumentParser:
    """Register `bordersim calibrate SPEC` on the CLI's subparsers."""
    p = sub.add_parser("calibrate", help="calibrate free parameters against observed data (ABC rejection or "
                                         "sequential ABC)",
                       description="Approximate Bayesian computation on a Sobol/LHS sample of the prior: by "
                                   "rejection (method: rejection, the default), or by sequential ABC (method: smc: "
                                   "generations of weighted particles, each moved by a kernel and accepted at a "
                                   "shrinking epsilon; the per-generation table is printed and written to "
                                   "generations.csv). Every run goes through the sweep engine (resumable: run the "
                                   "same command again after an interruption; on a finished directory it runs nothing "
                                   "and rewrites every output). Writes the posterior sample, the fit table, the "
                                   "posterior predictive and pairwise figures (docs/calibration.md), and, for method: "
                                   "rejection, a hold-out validation: each target kind predicted from a fit to the "
                                   "others on the first round's runs (holdout.csv, holdout_summary.csv; "
                                   "docs/validation.md).")
    p.add_argument("spec", help="calibration spec YAML file")
    p.add_argument("--out", type=path_text, metavar="DIR", help="output directory (default: results/<spec name>)")
    p.add_argument("--workers", type=at_least_one, metavar="N", help="worker processes (default: number of cores)")
    p.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address, or 'local' (needs "
                                                       "bordersim[cluster])")
    p.add_argument("--write-scenario", type=path_text, metavar="PATH",
                   help="write the base scenario with the calibrated values and a provenance block to PATH (a new "
                        "file in an existing directory, the base scenario itself, or a scenario an earlier "
                        "calibration wrote; checked before anything runs)")
    p.add_argument("--force", action="store_true",
                   help="discard the runs in DIR/sweep made by a different prior, sampling or base scenario (DIR "
                        "must be a calibration directory bordersim made; nothing else is ever deleted)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar, and not the closing summary (points, runs, the fit table, the files written)")
    p.set_defaults(func=cmd_calibrate)
    return p


def cmd_calibrate(args: argparse.Namespace) -> int:
    """The command: run (or resume) the calibration, draw the figures, print the fit table. Bad input raises
    InputError (ScenarioError for the spec, UsageError for arguments and directories: exit 2 in the CLI); Ctrl-C
    returns 130 with finished runs kept."""
    from sim.analysis.dirs import refuse_if_busy, runs_kept
    from sim.analysis.calibration.abc import calibrate
    from sim.analysis.calibration.spec import load_calibration
    from sim.cli.notes import tell_report_removed
    from sim.plots.calibration import write_figures

    if args.out is not None:  # at once, not after the spec is read (seconds for Korea)
        refuse_if_busy(args.out, "calibration")
    lc = load_calibration(args.spec)
    with progress_bar(f"calibrate {lc.spec.name}", not args.quiet) as update:
        def progress(stage: str, done: int, total: int) -> None:
            if update:
                update(done, total)

        result = calibrate(lc, args.out, workers=args.workers, scheduler=args.scheduler, force=args.force,
                           progress=progress, write_scenario_path=args.write_scenario)
    with runs_kept(result.out):
        figures = write_figures(result.out)
        tell_report_removed(result.out, result.report_removed)
        if not args.quiet:
            _report(result, [f.name for f in figures], args.write_scenario)
    return EXIT_OK


def _report(result, figures: list[str], scenario_path: str | None) -> None:
    from sim.numbers import readable

    cols = ["parameter", "prior_low", "prior_high", "posterior_median", "posterior_q05", "posterior_q95",
            "width_ratio", "verdict"]
    stages = (f"{result.rounds} round(s)" if result.generations is None else
              f"the prior sample and {result.rounds - 1} generation(s)")
    print(f"{len(result.points)} points, {result.runs} runs ({result.failed} failed), {stages}; "
          f"accepted {len(result.posterior)} with distance <= {result.epsilon:.4f}")
    if result.generations is not None:
        print("sequential ABC, per generation:")
        print(result.generations.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(result.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}",
                                       formatters={c: readable for c in cols[1:6]}))
    for note in result.notes:
        print(f"note: {note}")
    if result.holdout is not None and not result.holdout.summary.empty:
        _report_holdout(result.holdout.summary)
    c = result.check
    median = c.get("median_abs_log_error")
    print(f"calibrated values, {c['replicates']} runs at full size: distance {c['distance']:.4f}"
          + (f", median |log error| of arrivals {median:.3f}" if median is not None else ""))
    print(f"wrote {result.out}/posterior.csv, posterior_table.md, "
          + ("predictive.csv, " if (result.out / "predictive.csv").exists() else "") + "calibration.json, "
          + ("generations.csv, " if result.generations is not None else "")
          + ("holdout.csv, holdout_summary.csv, " if result.holdout is not None and not result.holdout.summary.empty
             else "")
          + f"figures/{', figures/'.join(figures)}")
    if scenario_path:
        print(f"wrote calibrated scenario {scenario_path}")


def _report_holdout(summary) -> None:
    """The hold-out table (docs/validation.md): per target kind fitted from the others, how many of its periods
    lie in the 50% and 90% predictive bands of the held-out fit, the full fit and the prior, its distance term
    under each, and the held-out 90% band's width over the prior's."""
    print("hold-out validation (round 1; each target kind predicted from a fit to the others; docs/validation.md):")
    table = summary.assign(**{f"in 50/90 {fit}": [f"{a}/{b} of {n}" for a, b, n in zip(
        summary[f"in_50_{fit}"], summary[f"in_90_{fit}"], summary["periods"])] for fit in ("holdout", "full", "prior")})
    cols = ["kind", "holdout_points", "in 50/90 holdout", "in 50/90 full", "in 50/90 prior", "d_holdout", "d_full",
            "d_prior", "width_90_holdout_over_prior"]
    print(table[cols].rename(columns={"width_90_holdout_over_prior": "width90 vs prior"})
          .to_string(index=False, float_format=lambda v: f"{v:.3g}"))
