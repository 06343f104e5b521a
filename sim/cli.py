"""The `bordersim` command: parse arguments, call the library, report. Exit 0 ok, 1 our failure, 2 bad input."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.errors import InputError, ScenarioError, UsageError
from sim.outputs import claim_dir, default_dir

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


@contextmanager
def progress_bar(description: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal (stderr); yields a callback(done, total) or None when disabled."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:,.1f}/s" if task.speed else "", style="progress.data.speed")

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                  TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def default_run_dir(name: str) -> Path:
    """results/<scenario name>-<local time stamp> (the name is a safe path component: see sim.outputs)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return default_dir(f"{name}-{stamp}")


# ---------------------------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    from sim.checks import scenario_warnings
    from sim.ledger import write_run
    from sim.model import run
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, overrides=args.set, seed=args.seed)
    for message in scenario_warnings(scenario):  # valid, but probably not what was meant; exit code unchanged
        print(f"warning: {args.scenario}: {message}", file=sys.stderr)
    out = Path(args.out) if args.out else default_run_dir(scenario.name)
    claim_dir(out, "run", force=args.force)  # refuse before running, not after
    with progress_bar(f"run {scenario.name}", not args.quiet) as update:
        result = run(scenario, progress=update)
    write_run(result, out, force=args.force)
    if not args.quiet:
        totals = result.totals()
        print(f"wrote {out}/summary.json, timeseries.parquet, scenario.resolved.yaml")
        print("totals: " + ", ".join(f"{k}={v:,}" for k, v in totals.items()))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.checks import scenario_warnings
    from sim.scenario import load_scenario

    bad = 0
    for path in args.scenarios:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            print(f"error: {exc.format()}", file=sys.stderr)
            bad += 1
        else:
            for message in scenario_warnings(sc):  # valid, but probably not what was meant; exit code unchanged
                print(f"warning: {path}: {message}", file=sys.stderr)
            print(f"ok: {path} ({sc.name}: {len(sc.network.nodes)} nodes, {len(sc.network.edges)} edges, "
                  f"{len(sc.policies)} policies)")
    return EXIT_BAD_INPUT if bad else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.scenario import Scenario

    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "bordersim scenario"
    print(json.dumps(schema, indent=2))
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.experiments.design import CONFIRM_RUNS
    from sim.experiments.executors import default_workers
    from sim.experiments.sweep import SweepAborted, SweepInterrupted, check_points, estimate_seconds, plan, run_sweep

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, found {args.workers}")
    p = plan(args.spec, replicates=args.replicates)  # counted, not built; refused above the hard limit
    workers = args.workers or default_workers()
    size = f"{p.n_points:,} points x {p.spec.spec.replicates:,} replicates = {p.size:,} runs"
    if args.dry_run:
        print(f"spec {p.spec.path} ({p.spec.spec.design.type} design): {size} of scenario '{p.spec.base.name}'")
        if not p.size:
            print("nothing to run")
            return EXIT_OK
        table, left_out = p.design_rows(DRY_RUN_ROWS)
        lines = table.to_string(index=False).splitlines()
        if left_out:  # the first and the last half of the rows, with the gap between them said
            lines.insert(1 + DRY_RUN_ROWS // 2, f"... {left_out:,} more points ...")
        print("\n".join(lines))
        checked = check_points(p, limit=DRY_RUN_CHECKED)
        print(f"checked the scenario of {'every point' if checked == p.n_points else f'the first {checked:,} points'}"
              + ("" if checked == p.n_points else " (the sweep checks every point before it starts)"))
        one, total = estimate_seconds(p, workers)
        print(f"pilot run: {one:.2f} s; estimated sweep time with {workers} worker(s): {_duration(total)}")
        if total > LONG_SECONDS:
            print(f"warning: this sweep would take about {_duration(total)} (more than {LONG_SECONDS // 3600} h) "
                  f"with {workers} worker(s): consider fewer points or replicates, or more workers (--scheduler)",
                  file=sys.stderr)
        if p.size > CONFIRM_RUNS:
            print(f"warning: more than {CONFIRM_RUNS:,} runs: `bordersim sweep` runs it only with --yes",
                  file=sys.stderr)
        return EXIT_OK
    if p.size > CONFIRM_RUNS and not args.yes:
        raise UsageError(f"{args.spec}: this sweep has {size}, more than {CONFIRM_RUNS:,}; look at it with --dry-run "
                         "(design and time estimate) and pass --yes to run it")
    out = Path(args.out) if args.out else default_dir(p.spec.spec.name)
    with progress_bar(f"sweep {p.spec.spec.name}", not args.quiet) as update:
        try:
            df = run_sweep(p, out, workers=workers, scheduler=args.scheduler, force=args.force, progress=update)
        except SweepInterrupted as exc:
            print(f"{exc}; run the same command again to resume", file=sys.stderr)
            return 130
        except SweepAborted as exc:
            print(f"error: {exc}; run the same command again to resume", file=sys.stderr)
            return EXIT_FAILURE
    failed = df[df["status"] != "ok"] if not df.empty else df
    print(f"wrote {out}/runs.parquet: {len(df)} runs, {len(failed)} failed")
    if failed.empty:
        return EXIT_OK
    ours = failed["error_kind"].fillna("internal") != "input"
    print(f"error: {len(failed)} of {len(df)} runs failed ({int(ours.sum())} by a failure of bordersim or of a "
          f"worker, {int((~ours).sum())} by bad values); they are recorded in {out}/runs.parquet and are run again "
          "when the same command runs again:", file=sys.stderr)
    for _, row in failed.head(10).iterrows():
        print(f"  failed {row['run_id']}: {row['error']}", file=sys.stderr)
    if len(failed) > 10:
        print(f"  ... and {len(failed) - 10} more", file=sys.stderr)
    return EXIT_FAILURE if ours.any() else EXIT_BAD_INPUT


DRY_RUN_ROWS = 40  # design rows a dry run prints
DRY_RUN_CHECKED = 1_000  # points a dry run checks (the sweep itself checks all)
LONG_SECONDS = 24 * 3600  # a dry run warns when its estimate is longer


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def cmd_summarize(args: argparse.Namespace) -> int:
    from sim.experiments.store import load_sweep, read_manifest
    from sim.experiments.summarize import (MIN_CI_REPLICATES, outcome_columns, paired_differences, resolve_point,
                                           summarize)

    root = Path(args.dir)
    df = load_sweep(root)  # says what a directory is when it is not a sweep, and names a damaged file
    parameters = read_manifest(root).get("parameters", [])
    if df.empty:
        raise UsageError(f"{root}/runs.parquet has no runs yet; run the same `bordersim sweep` command again")
    outcomes = args.outcome or None
    if outcomes:
        unknown = [o for o in outcomes if o not in df.columns]
        if unknown:
            raise UsageError(f"unknown outcome(s) {', '.join(unknown)}; kept: "
                             f"{', '.join(outcome_columns(df, parameters)[:30])}")
    elif args.format == "table":
        from sim.ledger import TOTAL_KEYS

        outcomes = [c for c in TOTAL_KEYS if c in df.columns] or None
    if args.baseline is not None:
        table = paired_differences(df, parameters, resolve_point(df, parameters, args.baseline), outcomes)
    else:
        table = summarize(df, parameters, outcomes)
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False))
    elif args.format == "json":
        sys.stdout.write(table.to_json(orient="records", indent=2) + "\n")
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    if "n" in table.columns and (table["n"] < MIN_CI_REPLICATES).any():
        print(f"note: a 95% CI needs at least {MIN_CI_REPLICATES} replicates; points with fewer show none "
              "(add replicates with --replicates)", file=sys.stderr)
    return EXIT_OK


# ------------------------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bordersim",
        description="Simulate departures from North Korea along a route network under border policies.",
        epilog="Exit codes: 0 success, 1 internal failure, 2 bad input. Docs: docs/model.md, docs/scenario.md.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"bordersim {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", help="run one scenario and write a run directory",
                       description="Run a scenario over its whole horizon and write DIR/summary.json, "
                                   "DIR/timeseries.parquet and DIR/scenario.resolved.yaml.")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--out", metavar="DIR", help="run directory (default: results/<name>-<timestamp>)")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override one scalar, e.g. population.size=2000000 or "
                        "network.edges.dmz.controls.mines=0.9 (list items by id/name); repeatable")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar, and not the closing 'wrote ...' and totals lines "
                        "(warnings and errors are still printed)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check scenario files (schema and graph sanity)",
                       description="Check each scenario: schema, known nodes, a usable route from every "
                                   "origin, policies that select something inside the time horizon.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("sweep", help="run a batch of runs from an experiment spec (resumable)",
                       description="Run every point x replicate of an experiment spec (docs/experiments.md). "
                                   "Results stream into DIR; running the same command again resumes, skipping "
                                   "finished runs. Ctrl-C stops cleanly, keeping finished runs.")
    p.add_argument("spec", help="experiment spec YAML file")
    p.add_argument("--out", metavar="DIR", help="sweep directory (default: results/<spec name>)")
    p.add_argument("--workers", type=int, metavar="N", help="worker processes (default: number of cores)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="run on a Dask cluster at ADDR (e.g. tcp://host:8786), or 'local' for a LocalCluster "
                        "(needs the extra bordersim[cluster])")
    p.add_argument("--replicates", type=int, metavar="R", help="override the spec's replicate count")
    p.add_argument("--dry-run", action="store_true",
                   help="print the design and a time estimate from one pilot run; run nothing")
    p.add_argument("--force", action="store_true",
                   help="discard results in DIR made by a different spec (only a sweep directory bordersim made)")
    p.add_argument("--yes", action="store_true",
                   help="run a sweep of more than 100,000 runs (the limit is 1,000,000; see --dry-run)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("summarize", help="mean and 95%% CI per parameter point of a sweep",
                       description="Per parameter point, the mean and 95% CI over replicates of each kept "
                                   "outcome; with --baseline, the paired difference to that point and its CI.")
    p.add_argument("dir", metavar="DIR", help="sweep directory")
    p.add_argument("--baseline", metavar="POINT",
                   help="point index, policy package name, or name=value[,name=value] naming one point")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--outcome", action="append", metavar="NAME",
                   help="outcome column to report (repeatable; default: totals for table, all otherwise)")
    p.set_defaults(func=cmd_summarize)

    from sim.experiments.calibration import add_calibrate_parser
    from sim.experiments.sensitivity import add_sensitivity_parser

    add_calibrate_parser(sub)
    add_sensitivity_parser(sub)

    p = sub.add_parser("schema", help="print the scenario JSON Schema (for editors)")
    p.set_defaults(func=cmd_schema)

    from sim.plots.cli_commands import add_plot_parsers

    add_plot_parsers(sub)
    for command in sub.choices.values():  # `bordersim run ... --debug` as well as `bordersim --debug run ...`
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks on errors")
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bordersim")
    except PackageNotFoundError:
        return "0+unknown"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        if args.debug:
            raise
        print(f"error: {exc.format()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        if args.debug:
            raise
        print(f"error: internal failure: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)",
              file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
