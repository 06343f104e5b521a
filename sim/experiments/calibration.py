"""`bordersim calibrate SPEC`: calibration by approximate Bayesian computation (ABC) rejection on a Sobol/LHS
sample of the prior, run through the sweep engine (parallel, Dask, resumable). docs/calibration.md has the spec
format, the method (distance, acceptance, refinement, identifiability) and the Korea results.

The work is done in three modules, imported only when used (so that registering the command keeps `bordersim`
fast to start): `calibration_spec` (the YAML schema, validated against the base scenario and observed series),
`calibration_abc` (distance, rounds through the sweep engine, acceptance, posterior table, check, outputs;
`calibrate`), `calibration_scenario` (writing the calibrated scenario with its provenance). Their public names are
available from this module.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from sim.errors import UsageError

_EXPORTS = {
    "CalibrationSpec": "sim.experiments.calibration_spec",
    "LoadedCalibration": "sim.experiments.calibration_spec",
    "load_calibration": "sim.experiments.calibration_spec",
    "PROVENANCE_START": "sim.experiments.calibration_scenario",
    "PROVENANCE_END": "sim.experiments.calibration_scenario",
    "write_scenario": "sim.experiments.calibration_scenario",
    "CalibrationResult": "sim.experiments.calibration_abc",
    "Distance": "sim.experiments.calibration_abc",
    "Prediction": "sim.experiments.calibration_abc",
    "accept": "sim.experiments.calibration_abc",
    "box_points": "sim.experiments.calibration_abc",
    "calibrate": "sim.experiments.calibration_abc",
    "distance": "sim.experiments.calibration_abc",
    "in_box": "sim.experiments.calibration_abc",
    "posterior_table": "sim.experiments.calibration_abc",
    "refine_box": "sim.experiments.calibration_abc",
}

__all__ = sorted([*_EXPORTS, "add_calibrate_parser", "cmd_calibrate"])


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sim.experiments.calibration' has no attribute {name!r}")


def add_calibrate_parser(sub) -> argparse.ArgumentParser:
    """Register `bordersim calibrate SPEC` on the CLI's subparsers."""
    p = sub.add_parser("calibrate", help="calibrate free parameters against observed data (ABC rejection)",
                       description="Approximate Bayesian computation by rejection on a Sobol/LHS sample of the "
                                   "prior, run through the sweep engine (resumable: run the same command again "
                                   "after an interruption). Writes the posterior sample, the fit table, the "
                                   "posterior predictive and pairwise figures (docs/calibration.md).")
    p.add_argument("spec", help="calibration spec YAML file")
    p.add_argument("--out", metavar="DIR", help="output directory (default: results/<spec name>)")
    p.add_argument("--workers", type=int, metavar="N", help="worker processes (default: number of cores)")
    p.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address, or 'local' (needs "
                                                       "bordersim[cluster])")
    p.add_argument("--write-scenario", metavar="PATH",
                   help="write the base scenario with the calibrated values and a provenance block to PATH (a new "
                        "file in an existing directory, the base scenario itself, or a scenario an earlier "
                        "calibration wrote; checked before anything runs)")
    p.add_argument("--force", action="store_true",
                   help="discard the runs in DIR/sweep made by a different prior, sampling or base scenario (DIR "
                        "must be a calibration directory bordersim made; nothing else is ever deleted)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no report")
    p.set_defaults(func=cmd_calibrate)
    return p


def cmd_calibrate(args: argparse.Namespace) -> int:
    """The command: run (or resume) the calibration, draw the figures, print the fit table. Bad input raises
    InputError (ScenarioError for the spec, UsageError for arguments and directories: exit 2 in the CLI); Ctrl-C
    returns 130 with finished runs kept."""
    from sim.cli import progress_bar
    from sim.experiments.calibration_abc import calibrate
    from sim.experiments.calibration_spec import load_calibration
    from sim.experiments.sweep import SweepInterrupted
    from sim.plots.calibration import write_figures

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, found {args.workers}")
    lc = load_calibration(args.spec)
    with progress_bar(f"calibrate {lc.spec.name}", not args.quiet) as update:
        def progress(stage: str, done: int, total: int) -> None:
            if update:
                update(done, total)

        try:
            result = calibrate(lc, args.out, workers=args.workers, scheduler=args.scheduler, force=args.force,
                               progress=progress, write_scenario_path=args.write_scenario)
        except SweepInterrupted as exc:
            print(f"{exc}; run the same command again to resume", file=sys.stderr)
            return 130
    figures = write_figures(result.out)
    if not args.quiet:
        _report(result, [f.name for f in figures], args.write_scenario)
    return 0


def _report(result, figures: list[str], scenario_path: str | None) -> None:
    cols = ["parameter", "prior_low", "prior_high", "posterior_median", "posterior_q05", "posterior_q95",
            "width_ratio", "verdict"]
    print(f"{len(result.points)} points, {result.runs} runs ({result.failed} failed), {result.rounds} round(s); "
          f"accepted {len(result.posterior)} with distance <= {result.epsilon:.4f}")
    print(result.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for note in result.notes:
        print(f"note: {note}")
    c = result.check
    median = c.get("median_abs_log_error")
    print(f"calibrated values, {c['replicates']} runs at full size: distance {c['distance']:.4f}"
          + (f", median |log error| of arrivals {median:.3f}" if median is not None else ""))
    print(f"wrote {result.out}/posterior.csv, posterior_table.md, predictive.csv, calibration.json, "
          f"figures/{', figures/'.join(figures)}")
    if scenario_path:
        print(f"wrote calibrated scenario {scenario_path}")
