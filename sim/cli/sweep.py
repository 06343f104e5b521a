"""`bordersim sweep` and `summarize`: batches of runs from an experiment spec, and their summary tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.arguments import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, at_least_one, path_text
from sim.cli.progress import progress_bar
from sim.errors import UsageError
from sim.outputs import default_dir
from sim.numbers import readable


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.experiments.design import CONFIRM_RUNS
    from sim.experiments.executors import default_workers
    from sim.experiments.store import SweepStore
    from sim.experiments.sweep import (check_points, estimate_seconds, finished_before, plan, refuse_enclosed_place,
                                       run_sweep)

    p = plan(args.spec, replicates=args.replicates)  # counted, not built; refused above the hard limit
    workers = args.workers or default_workers()
    size = f"{p.n_points:,} points x {p.spec.spec.replicates:,} replicates = {p.size:,} runs"
    out = Path(args.out) if args.out else default_dir(p.spec.spec.name)
    refuse_enclosed_place(out)
    if args.dry_run:
        print(f"spec {p.spec.path} ({p.spec.spec.design.type} design): {size} of scenario '{p.spec.base.name}'")
        action = SweepStore.check(out, p.spec, force=args.force)  # the sweep's own check (reads only): refused now
        if args.scheduler is not None:
            from sim.experiments.dask_cluster import check_scheduler

            check_scheduler(args.scheduler)  # its form, as the sweep checks it (nothing is connected to)
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
        cores = default_workers()
        if args.scheduler in (None, "local") and workers > cores:  # local processes: more than the cores share them
            print(f"warning: {workers} workers on the {cores} core(s) of this machine share them: the estimate counts "
                  f"{cores}", file=sys.stderr)
            workers = cores
        done = len(finished_before(out, p.spec) & {r.run_id for r in p.runs}) if action == "resume" else 0
        if done == p.size:
            print(f"output: {out} (all {p.size:,} runs finished there: nothing to run)")
            return EXIT_OK
        one, total = estimate_seconds(p, workers, p.size - done)
        left = f" for the {p.size - done:,} runs not yet finished in {out}" if done else ""
        print(f"pilot run: {one:.2f} s; estimated sweep time{left} with {workers} worker(s): {_duration(total)}"
              + (" at most: the runs of a point's packages share their steps before the packages differ"
                 if p.spec.spec.design.type in ("policies", "policies_points") else ""))
        if total > LONG_SECONDS:
            print(f"warning: this sweep would take about {_duration(total)} (more than {LONG_SECONDS // 3600} h) "
                  f"with {workers} worker(s): consider fewer points or replicates, or more workers (--scheduler)",
                  file=sys.stderr)
        if p.size > CONFIRM_RUNS:
            print(f"warning: more than {CONFIRM_RUNS:,} runs: `bordersim sweep` runs it only with --yes",
                  file=sys.stderr)
        print(f"output: {out} ({DRY_RUN_ACTIONS[action]})")
        return EXIT_OK
    if p.size > CONFIRM_RUNS and not args.yes:
        raise UsageError(f"{args.spec}: this sweep has {size}, more than {CONFIRM_RUNS:,}; look at it with --dry-run "
                         "(design and time estimate) and pass --yes to run it")
    before: list[int] = []  # the runs finished before this command: run_sweep's first progress report

    with progress_bar(f"sweep {p.spec.spec.name}", not args.quiet) as update:
        def report(done: int, total: int) -> None:
            if not before:
                before.append(done)
            if update:
                update(done, total)

        df = run_sweep(p, out, workers=workers, scheduler=args.scheduler, force=args.force, progress=report)
    failed = df[df["status"] != "ok"] if not df.empty else df
    if before and before[0] == p.size:
        print(f"nothing to run: all {p.size:,} runs had finished in {out} ({out}/runs.parquet: {len(df)} runs, "
              f"{len(failed)} failed)")
    else:
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
DRY_RUN_ACTIONS = {"new": "new", "resume": "resumed: its finished runs are kept",
                   "replace": "replaced (--force): the runs of another spec there are discarded"}


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _planned_runs(manifest: dict) -> int | None:
    """The number of runs the spec recorded in sweep.json asks for (points x replicates, from the spec alone), or
    None when that spec cannot be read (a manifest of an earlier bordersim)."""
    from sim.experiments.design import count_runs
    from sim.experiments.spec import ExperimentSpec

    try:
        return count_runs(ExperimentSpec.model_validate(manifest.get("spec") or {}))
    except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
        return None


def cmd_summarize(args: argparse.Namespace) -> int:
    from sim.experiments.store import load_sweep, read_manifest
    from sim.experiments.sweep import analysis_of
    from sim.experiments.summarize import (MIN_CI_REPLICATES, outcome_columns, paired_differences, resolve_point,
                                           summarize)

    root = Path(args.dir)
    df = load_sweep(root)  # says what a directory is when it is not a sweep, and names a damaged file
    manifest = read_manifest(root)
    parameters = manifest.get("parameters") or []
    command = analysis_of(root)  # an analysis's sweep is resumed by the analysis's command
    again = f"the same `bordersim {command or 'sweep'}` command again"
    if df.empty:
        raise UsageError(f"{root}/runs.parquet has no runs yet; run {again}")
    planned = _planned_runs(manifest)
    unfinished = planned is not None and len(df) < planned
    outcomes = args.outcome or None
    if outcomes:
        kept = outcome_columns(df, parameters)
        unknown = [o for o in outcomes if o not in kept]  # a column that is no outcome too (status, code_sha256)
        if unknown:
            raise UsageError(f"unknown outcome(s) {', '.join(unknown)}; kept: {_listed(kept)}")
    elif args.format == "table":
        from sim.outcomes import TOTAL_KEYS

        outcomes = [c for c in TOTAL_KEYS if c in df.columns] or None
    if args.baseline is not None:
        base = resolve_point(df, parameters, args.baseline)
        table = paired_differences(df, parameters, base, outcomes)
        if not ((df["point"] == base) & (df["status"] == "ok")).any():  # every difference is then missing
            print(f"note: the baseline point {base} has no successful run, so no point has a difference to it; run "
                  f"{again} to retry its runs", file=sys.stderr)
    else:
        table = summarize(df, parameters, outcomes)
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False))
    elif args.format == "json":
        sys.stdout.write(table.to_json(orient="records", indent=2) + "\n")
    else:
        print(table.to_string(index=False, float_format=readable))
    failed = df[df["status"] != "ok"]
    codes = df.loc[df["status"] == "ok", "code_sha256"] if "code_sha256" in df.columns else None
    if codes is not None and codes.nunique(dropna=False) > 1:  # a sweep resumed by other code, or older records
        print(f"note: the runs were made by {codes.nunique(dropna=False)} different bordersim codes (the code_sha256 "
              f"column of {root}/runs.parquet; empty: not recorded): the statistics mix what they compute",
              file=sys.stderr)
    if len(failed):  # their points' rows count fewer runs (a point with none: n = 0)
        points = sorted(set(failed["point"].tolist()))
        shown = ", ".join(map(str, points[:10])) + (" ..." if len(points) > 10 else "")
        print(f"note: {len(failed)} of {len(df)} runs failed (point(s) {shown}); the rows count only successful "
              f"runs (n); run {again} to retry them", file=sys.stderr)
    if unfinished:  # then points lack runs the spec asks for: this says how to make them, not to add replicates
        print(f"note: the sweep is not finished: {len(df):,} of its {planned:,} runs are in {root}/runs.parquet (it "
              f"was stopped), and the rows count only these; run {again} to finish it", file=sys.stderr)
    elif "n" in table.columns and (table["n"] < MIN_CI_REPLICATES).any():
        if df.groupby("point").size().min() < MIN_CI_REPLICATES:
            print(f"note: a 95% CI needs at least {MIN_CI_REPLICATES} replicates; points with fewer show none "
                  + (f"(the replicates of the {command} spec)" if command else
                     "(add replicates: `bordersim sweep SPEC --replicates R`, which resumes the sweep)"),
                  file=sys.stderr)
        elif failed.empty:  # every point has the replicates and they all ran: some outcome is undefined in some runs
            short = table.loc[table["n"] < MIN_CI_REPLICATES, "outcome"].unique()
            print(f"note: {', '.join(map(str, short[:3]))}{' ...' if len(short) > 3 else ''} is undefined in some "
                  f"runs (e.g. a female share in a year nobody arrived); a row with fewer than {MIN_CI_REPLICATES} "
                  "values shows no CI", file=sys.stderr)
    return EXIT_OK


def _listed(outcomes: list[str]) -> str:
    """The kept outcomes for a message: the totals by name, the per-route and yearly ones as their patterns with
    the routes, years and outcomes they take (the list was cut at 30 names, leaving out every year: a probe)."""
    named: list[str] = []
    families: dict[str, tuple[dict[str, None], dict[str, None]]] = {}  # prefix -> (middles, lasts), in order
    for o in outcomes:
        parts = o.split(".")
        if len(parts) == 3 and parts[0] in ("route", "year"):
            middles, lasts = families.setdefault(parts[0], ({}, {}))
            middles[parts[1]] = lasts[parts[2]] = None
        else:
            named.append(o)
    groups = [", ".join(named)] if named else []
    for prefix, (middles, lasts) in families.items():
        m = "YYYY" if prefix == "year" else prefix
        years = sorted(middles)
        shown = f"{years[0]}..{years[-1]}" if prefix == "year" else ", ".join(middles)
        groups.append(f"{prefix}.<{m}>.<outcome> for {m} {shown} and outcome {', '.join(lasts)}")
    return "; ".join(groups)


def register(sub) -> None:
    """Add `sweep` and `summarize` to the CLI's subparsers."""
    p = sub.add_parser("sweep", help="run a batch of runs from an experiment spec (resumable)",
                       description="Run every point x replicate of an experiment spec (docs/experiments.md). "
                                   "Results stream into DIR; running the same command again resumes, skipping "
                                   "finished runs. Ctrl-C stops cleanly, keeping finished runs.")
    p.add_argument("spec", help="experiment spec YAML file")
    p.add_argument("--out", type=path_text, metavar="DIR", help="sweep directory (default: results/<spec name>)")
    p.add_argument("--workers", type=at_least_one, metavar="N", help="worker processes (default: number of cores)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="run on a Dask cluster at ADDR (e.g. tcp://host:8786), or 'local' for a LocalCluster "
                        "(needs the extra bordersim[cluster])")
    p.add_argument("--replicates", type=int, metavar="R",
                   help="override the spec's replicate count (at least 1; points x replicates at most 1,000,000 "
                        "runs); more replicates than an existing sweep directory holds resume it")
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
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="table (default: the totals, aligned for reading), csv or json (every kept outcome, for "
                        "other tools)")
    p.add_argument("--outcome", action="append", metavar="NAME",
                   help="outcome column to report (repeatable; default: totals for table, all otherwise)")
    p.set_defaults(func=cmd_summarize)
