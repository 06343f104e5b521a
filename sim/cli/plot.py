"""`bordersim plot` and `bordersim report`: argument parsing and the two commands. Errors of input (a bad or damaged
directory, an --out bordersim may not write, a file that cannot be written) are InputErrors (exit 2), as for the other
commands."""

from __future__ import annotations

import argparse
import sys

from sim.cli.arguments import path_text
from sim.errors import UsageError

FIGURE_HELP = ("run: flows, yearly, route_map, outcome_shares; "
               "sweep: response, heatmap, route_shares, policy_bars, policy_years; "
               "sensitivity: indices, overview; calibration: posterior_predictive, posterior_pairs; effects: effects; "
               "discovery: peeling")
KINDS_HELP = ("a run (bordersim run), sweep (bordersim sweep), sensitivity (bordersim sensitivity), calibration "
              "(bordersim calibrate), effects (bordersim effects) or discovery (bordersim discover) directory")


def cmd_plot(args: argparse.Namespace) -> int:
    from sim.plots.api import make_figures

    if args.path is None:  # `--only NAME... PATH` takes PATH for one more name: argparse said PATH was missing
        from sim.plots.api import FIGURE_NAMES

        last = (args.only or [""])[-1]
        taken = last and last not in {name for names in FIGURE_NAMES.values() for name in names}
        hint = (f"; --only took {last!r} for a figure name, which it is not: give PATH first (bordersim plot {last} "
                "--only NAME ...)") if taken else ""
        raise UsageError(f"the following argument is required: PATH{hint} (see `bordersim plot --help`)")
    written, skipped = make_figures(args.path, args.out, fmt=args.format, only=args.only, baseline=args.baseline)
    for path in written:
        print(path)
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sim.plots.report import write_report

    print(write_report(args.path, args.out, baseline=args.baseline))
    return 0


def register(sub) -> None:
    """Register the `plot` and `report` subcommands on an argparse subparsers object."""
    p = sub.add_parser("plot", help="figures of a run, sweep, sensitivity, calibration, effects or discovery "
                                    "directory",
                       usage="bordersim plot [-h] PATH [--out DIR] [--format {png,svg,pdf}] [--only NAME [NAME ...]] "
                             "[--baseline PACKAGE] [--debug]",
                       description="Detect whether PATH is " + KINDS_HELP + ", make every figure that applies (or "
                                   "those named with --only), write them and print their paths. Figures: "
                                   + FIGURE_HELP + ".")
    p.add_argument("path", metavar="PATH", nargs="?",  # required: cmd_plot says so, and why when --only took it
                   help="run, sweep, sensitivity, calibration, effects or discovery directory")
    p.add_argument("--out", type=path_text, metavar="DIR",
                   help="directory for the figures (default: PATH/figures): a new or empty directory, or one "
                        "bordersim made for figures; any other is refused")
    p.add_argument("--format", choices=["png", "svg", "pdf"], default="png", help="file format (default: png)")
    p.add_argument("--only", nargs="+", action="extend", metavar="NAME",
                   help="make only these figures (" + FIGURE_HELP + ")")
    p.add_argument("--baseline", metavar="PACKAGE",
                   help="policy package the policy figures compare against (default: the first in the spec)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("report", help="one self-contained HTML report of a run, sweep, sensitivity, calibration, "
                                      "effects or discovery directory",
                       description="Write one HTML file with the provenance, the summary tables and every figure "
                                   "embedded (no external files or links), to open offline or attach to an "
                                   "email; prints its path. PATH is " + KINDS_HELP + ". The same directory gives "
                                   "the same file, byte for byte.")
    p.add_argument("path", metavar="PATH", help="run, sweep, sensitivity, calibration, effects or discovery directory")
    p.add_argument("--out", type=path_text, metavar="FILE",
                   help="HTML file to write (default: PATH/report.html); an existing file is replaced only if it "
                        "is a report bordersim wrote")
    p.add_argument("--baseline", metavar="PACKAGE",
                   help="policy package the comparisons are against (default: the first in the spec)")
    p.set_defaults(func=cmd_report)
