"""`bordersim run`, `validate` and `schema`: one scenario at a time."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sim.cli.arguments import EXIT_BAD_INPUT, EXIT_OK, path_text, seed_text
from sim.cli.progress import progress_bar
from sim.engine.engines import MODULES, RUN_DEFAULT
from sim.errors import ScenarioError, UsageError
from sim.outputs import claim_dir, default_dir


def default_run_dir(name: str) -> Path:
    """results/<scenario name>-<local time stamp> (the name is a safe path component: see sim.outputs), with -2,
    -3, ... added when that exists, created empty at once (os.mkdir, which fails for a name that exists) so that
    runs started within one second each get their own, whether one after the other (a loop over seeds) or side by
    side (two runs that both found a name free, and the second to end silently replaced the first's run). A place
    bordersim may not write is a UsageError before anything is created (`claim_dir`)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    n = 1
    while True:
        path = default_dir(f"{name}-{stamp}" if n == 1 else f"{name}-{stamp}-{n}")
        if not os.path.lexists(path):
            claim_dir(path, "run", alone=True, replaced=True)
            where = path.parent  # results/: a dangling link or a file there is named, not the run directory
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                where = path
                path.mkdir()
                return path
            except FileExistsError:
                if where != path:
                    raise UsageError(f"{where}: exists and is not a directory; give --out") from None
                # taken since the look: the next number
            except OSError as exc:
                raise UsageError(f"{where}: cannot create the directory ({exc.strerror or exc}); give --out") from None
        n += 1


@contextmanager
def run_directory(out: str | None, name: str) -> Iterator[Path]:
    """`out`, or the directory `default_run_dir` made, which is removed again if the run ends before writing it (an
    error, Ctrl-C), when it is still empty, with results/ if this made it."""
    if out:
        yield Path(out)
        return
    parent_was_there = os.path.lexists(default_dir())
    path = default_run_dir(name)
    try:
        yield path
    except BaseException:
        with suppress(OSError):
            path.rmdir()  # only an empty directory: never the run, once written
            if not parent_was_there:
                path.parent.rmdir()  # results/, made for this run, if nothing else was put there since
        raise


def cmd_run(args: argparse.Namespace) -> int:
    from sim.engine.engines import run
    from sim.engine.ledger import write_run
    from sim.loading import load_scenario

    scenario = load_scenario(args.scenario, overrides=args.set, seed=args.seed)  # warnings: `warning: ...` lines
    with run_directory(args.out, scenario.name) as out:
        claim_dir(out, "run", force=args.force, alone=True, replaced=True)  # refuse before running, not after
        with progress_bar(f"run {scenario.name}", not args.quiet) as update:
            try:
                result = run(scenario, engine=args.engine, progress=update)
            except ScenarioError as exc:  # found while running (a draw of means past what is stored): name the file
                exc.path = exc.path or str(args.scenario)
                raise
        write_run(result, out, force=args.force)
    if not args.quiet:
        totals = result.totals()
        print(f"wrote {out}/summary.json, timeseries.parquet, scenario.resolved.yaml")
        print("totals: " + ", ".join(f"{k}={v:,}" for k, v in totals.items()))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.loading import load_scenario

    bad = 0
    for path in args.scenarios:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            print(f"error: {exc.format()}", file=sys.stderr)
            bad += 1
        else:  # what is valid but probably not meant was told by load_scenario's warnings (exit code unchanged)
            print(f"ok: {path} ({sc.name}: {len(sc.network.nodes)} nodes, {len(sc.network.edges)} edges, "
                  f"{len(sc.policies)} policies)")
    return EXIT_BAD_INPUT if bad else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.scenario.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def register(sub) -> None:
    """Add `run` and `validate` to the CLI's subparsers."""
    p = sub.add_parser("run", help="run one scenario and write a run directory",
                       description="Run a scenario over its whole horizon and write DIR/summary.json, "
                                   "DIR/timeseries.parquet and DIR/scenario.resolved.yaml.")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--out", type=path_text, metavar="DIR", help="run directory (default: results/<name>-<timestamp>)")
    p.add_argument("--seed", type=seed_text, help="override the scenario's seed (a whole number, 0 to 2^63 - 1)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override one scalar, e.g. population.size=2000000 or "
                        "network.edges.dmz.controls.mines=0.9 (list items by id/name); repeatable")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.add_argument("--engine", choices=sorted(MODULES), default=RUN_DEFAULT,
                   help="agents (default): the Mesa engine, one agent per person on the way; arrays: the array "
                        "engine, the same rules and draws (the same files) in vectorized batches, for speed")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar, and not the closing 'wrote ...' and totals lines "
                        "(warnings and errors are still printed)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check scenario files (schema and graph sanity)",
                       description="Check each scenario: schema, known nodes, a usable route from every "
                                   "origin, policies that select something inside the time horizon.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario file(s) to check (exit 2 if any is bad)")
    p.set_defaults(func=cmd_validate)


def register_schema(sub) -> None:
    """Add `schema` to the CLI's subparsers."""
    p = sub.add_parser("schema", help="print the scenario JSON Schema (for editors)",
                       description="Print the JSON Schema of a scenario file on standard output, for an editor's "
                                   "completion and checks (e.g. yaml-language-server). It checks types and bounds "
                                   "only: `bordersim validate` checks the rest (nodes, routes, policies).")
    p.set_defaults(func=cmd_schema)
