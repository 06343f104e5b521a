"""`bordersim compare A B`: the difference B − A of two runs or sweep points, block by block (docs/compare.md)."""

from __future__ import annotations

import argparse
import math
import sys

from sim.cli.arguments import EXIT_OK, path_text
from sim.errors import UsageError

TITLES = {"totals": "Totals", "by_route": "By route", "by_group": "By group", "by_year": "By year"}
MAX_DIFFERENCES = 20  # scenario settings listed in the header; comparison.json has them all


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.analysis.compare import KIND, compare, write_comparison
    from sim.outputs import claim_dir

    if args.out:  # refused before any work, as every command does (docs/outputs.md)
        claim_dir(args.out, KIND, force=args.force, alone=True, replaced=True)
    c = compare(args.a, args.b, point_a=args.point_a, point_b=args.point_b)
    lines = [f"  {i.key}: A {i.a}; B {i.b} ({i.why})" for i in c.issues]
    if args.strict:
        unknown = [f"  {s.label}: {s.path}: its scenario is not known, so its horizon, population and network cannot "
                   "be checked" for s in (c.a, c.b) if s.scenario is None]
        if lines or unknown:
            raise UsageError("the two results are not comparable on equal terms (--strict):\n"
                             + "\n".join(lines + unknown))
    if args.out:
        write_comparison(c, args.out, force=args.force)
    _print(c, wide=not sys.stdout.isatty())
    if c.issues:
        print("warning: the comparison is unfair in these respects; what both sides hold is compared anyway "
              "(--strict makes this an error):\n" + "\n".join(lines), file=sys.stderr)
    for note in c.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.out:
        print(f"wrote {args.out}: {', '.join(f'{b}.csv' for b in c.tables)}, comparison.json")
    return EXIT_OK


def _number(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "missing"
    if float(v).is_integer() or abs(v) >= 1000:
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.0f}"
    return f"{v:.4g}"


def _print(c, *, wide: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    class PipedConsole(Console):
        def on_broken_pipe(self) -> None:  # rich exits 1 in silence; `main` ends a closed pipe as every command does
            self.quiet = True
            raise BrokenPipeError

    console = PipedConsole(width=160 if wide else None, soft_wrap=False, highlight=False, markup=False, emoji=False)
    console.print(f"A: {c.a.description}")
    console.print(f"B: {c.b.description}")
    if c.differences:
        items = list(c.differences.items())
        shown = ", ".join(f"{k}: {_setting(a)} -> {_setting(b)}" for k, (a, b) in items[:MAX_DIFFERENCES])
        more = f" and {len(items) - MAX_DIFFERENCES} more" if len(items) > MAX_DIFFERENCES else ""
        console.print(f"scenario settings that differ: {shown}{more}")
    console.print(f"interval: {c.method_note}")
    if c.issues:
        console.print(f"fairness: A and B differ in {', '.join(i.key for i in c.issues)} (see the warning on stderr)")
    else:
        seeds = ("seeds" if c.a.seeds == c.b.seeds
                 else f"the {len(c.a.seeds & c.b.seeds)} seeds both used (see the notes on stderr)")
        console.print(f"fairness: same horizon, population size, network and {seeds}"
                      + ("" if c.a.scenario is not None and c.b.scenario is not None
                         else " (as far as known: see the notes on stderr)"))
    for block, table in c.tables.items():
        if table.empty:
            continue
        t = Table(title=TITLES[block], title_justify="left")
        keys = [k for k in ("route", "group", "year") if k in table.columns]
        for k in (*keys, "outcome"):
            t.add_column(k)
        for name in ("A", "B", "B-A", "(B-A)/A", "95% CI", "n"):
            t.add_column(name, justify="right")
        for _, r in table.iterrows():
            ci = ("" if math.isnan(r["ci_low"]) else f"[{_number(r['ci_low'])}, {_number(r['ci_high'])}]")
            rel = "" if math.isnan(r["rel_diff"]) else f"{r['rel_diff']:+.1%}"
            n = str(r["n_pairs"]) if c.method == "paired" else f"{r['n_a']}/{r['n_b']}"
            diff = _number(r["diff"]) if r["present"] == "both" else f"({r['present']})"
            t.add_row(*(str(r[k]) for k in (*keys, "outcome")), _number(r["a"]), _number(r["b"]), diff, rel, ci, n)
        console.print(t)


def register(sub) -> None:
    """Add `compare` to the CLI's subparsers."""
    p = sub.add_parser(
        "compare", help="the difference of two runs or sweep points, side by side",
        description="B - A of two results (run directories, or points of sweep directories: DIR:POINT), as totals, "
                    "by route, by group and by year, with a 95% interval where replicates allow: paired by seed "
                    "when both used the same seeds, else Welch; none for single runs. Differences of horizon, "
                    "population, network or seeds are warned about (--strict: exit 2). See docs/compare.md.")
    p.add_argument("a", metavar="A", help="run or sweep directory (a sweep's point: DIR:POINT or --point-a)")
    p.add_argument("b", metavar="B", help="run or sweep directory (a sweep's point: DIR:POINT or --point-b)")
    for side in ("a", "b"):
        p.add_argument(f"--point-{side}", metavar="POINT",
                       help=f"the point of sweep {side.upper()}: a point index, a policy package name, or "
                            "name=value[,name=value] naming one point")
    p.add_argument("--strict", action="store_true",
                   help="exit 2 instead of warning when the two differ in horizon, population, network or seeds")
    p.add_argument("--out", type=path_text, metavar="DIR",
                   help="also write one CSV per block and comparison.json into DIR (a new directory)")
    p.add_argument("--force", action="store_true", help="replace DIR if it is a comparison directory bordersim made")
    p.set_defaults(func=cmd_compare)


INLINE_SETTINGS = 3  # an item or section only one side has: its settings are shown up to this many


def _setting(value: object) -> str:
    """A side's value of a scenario setting that differs: '(none)' where it is not there (absent, null or empty);
    an item or section only one side has by its settings, up to INLINE_SETTINGS of them, else by their number
    (all of them are in comparison.json)."""
    if value is None:
        return "(none)"
    if isinstance(value, dict):
        if len(value) <= INLINE_SETTINGS:
            return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
        return f"({len(value)} settings)"
    return str(value)
