"""The `bordersim` command: parse arguments, call the library, report. Exit 0 ok, 1 our failure, 2 bad input."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.scenario import ScenarioError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad command-line use that argparse cannot see (exit 2)."""


@contextmanager
def progress_bar(description: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a terminal (stderr); yields a callback(done, total) or None when disabled."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def default_run_dir(name: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"{name}-{stamp}"


# ---------------------------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    from sim.ledger import write_run
    from sim.model import run
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, overrides=args.set, seed=args.seed)
    out = Path(args.out) if args.out else default_run_dir(scenario.name)
    if out.exists() and not args.force:
        raise UsageError(f"{out}: output directory exists; choose another --out or pass --force to replace it")
    with progress_bar(f"run {scenario.name}", not args.quiet) as update:
        result = run(scenario, progress=update)
    write_run(result, out, force=args.force)
    if not args.quiet:
        totals = result.totals()
        print(f"wrote {out}/summary.json, timeseries.parquet, scenario.resolved.yaml")
        print("totals: " + ", ".join(f"{k}={v:,}" for k, v in totals.items()))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario

    bad = 0
    for path in args.scenarios:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            print(f"error: {exc.format()}", file=sys.stderr)
            bad += 1
        else:
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


# ------------------------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bordersim",
        description="Simulate departures from North Korea along a route network under border policies.",
        epilog="Exit codes: 0 success, 1 internal failure, 2 bad input. Docs: docs/model.md, docs/scenario.md.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
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
    p.add_argument("--quiet", action="store_true", help="no progress bar and no report")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check scenario files (schema and graph sanity)",
                       description="Check each scenario: schema, known nodes, a usable route from every "
                                   "origin, policies that select something inside the time horizon.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the scenario JSON Schema (for editors)")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ScenarioError, UsageError) as exc:
        if args.debug:
            raise
        text = exc.format() if isinstance(exc, ScenarioError) else str(exc)
        print(f"error: {text}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        if args.debug:
            raise
        print(f"error: internal failure: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)",
              file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
